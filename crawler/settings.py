"""Scrapy settings shared by every spider.

Per-source politeness (request rate) is set by each spider from the service
settings (``HILMA_RATE_LIMIT``, ``TED_RATE_LIMIT``); what is here holds for all.
"""

BOT_NAME = "hankintavahti"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# TED's web front answers clients without a descriptive User-Agent with a WAF challenge.
USER_AGENT = "Mozilla/5.0 (compatible; Hankintavahti/0.1; +https://github.com/hankintavahti)"

# These are APIs, not web pages: no robots.txt, no cookies, one request at a time per host.
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_TIMEOUT = 60
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

# Retries: our middleware replaces Scrapy's so that waits grow and Retry-After is honoured.
RETRY_TIMES = 5  # initial request + 5 retries; with backoff 2, 4, 8, 16, 32 s about a minute in all
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 120.0
RETRY_AFTER_MAX_SECONDS = 600.0  # a longer wait than 10 minutes is better left to the next scheduled crawl
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}

# Order: store last; the classification issue adds its step before storing.
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 900,
}

EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
}
