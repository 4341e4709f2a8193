"""Collection: Scrapy spiders for HILMA and TED, the eForms parser and the JSON mappers."""
