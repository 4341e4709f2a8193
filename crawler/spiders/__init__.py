"""The spiders, one declaration per source; the mechanisms live in :mod:`crawler.spiders.base`."""
