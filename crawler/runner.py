"""Running spiders from the service (command line, scheduler, demo) rather than ``scrapy crawl``.

The spiders read their service settings from the Scrapy settings
(``HANKINTAVAHTI_SETTINGS``) and get their database as a spider argument, so that
the caller decides which database and which API addresses a crawl uses (the demo points them at the
local stand-ins). Sources are crawled one after another, HILMA first: TED's copy of
a notice HILMA already has is then recognised before its XML is fetched. The company
register (``prh``) comes after them when asked for: it looks up the winners of the
award notices the crawls stored.

A Twisted reactor cannot be restarted, so :func:`run_crawls` can run once per
process; the scheduler runs each crawl in a child process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet import defer

from config.settings import Settings
from crawler.spiders.base import BaseSpider
from crawler.spiders.hilma import HilmaSpider
from crawler.spiders.prh import PrhSpider
from crawler.spiders.ted import TedSpider

#: Every notice source, in the order ``crawl all`` takes them.
SPIDERS: dict[str, type[BaseSpider]] = {"hilma": HilmaSpider, "ted": TedSpider}
#: Lookups about what the notice sources stored (the company register), run after them.
LOOKUPS: dict[str, type[BaseSpider]] = {"prh": PrhSpider}
CRAWLS: dict[str, type[BaseSpider]] = {**SPIDERS, **LOOKUPS}


def scrapy_settings(app: Settings, *, progress: bool, log_level: str = "WARNING") -> ScrapySettings:
    """The project's Scrapy settings with the service's settings attached."""
    settings = ScrapySettings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("HANKINTAVAHTI_SETTINGS", app, priority="cmdline")
    settings.set("HANKINTAVAHTI_PROGRESS", progress, priority="cmdline")
    settings.set("RETRY_TIMES", app.crawl_retries, priority="cmdline")
    settings.set("BACKOFF_BASE_SECONDS", app.crawl_backoff_seconds, priority="cmdline")
    settings.set("DOWNLOAD_TIMEOUT", app.crawl_timeout_seconds, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    settings.set("LOG_FORMAT", "%(levelname)s %(name)s: %(message)s", priority="cmdline")
    return settings


def run_crawls(
    sources: Sequence[str],
    *,
    app: Settings,
    sessions: sessionmaker[Session],
    since: date | None = None,
    progress: bool = True,
    log_level: str = "WARNING",
) -> list[int]:
    """Crawl the given sources in order; returns the ids of their ``CrawlRun`` rows."""
    settings = scrapy_settings(app, progress=progress, log_level=log_level)
    process = CrawlerProcess(settings)
    logging.getLogger("scrapy").setLevel(log_level)
    run_ids: list[int] = []

    @defer.inlineCallbacks
    def crawl_in_order():  # type: ignore[no-untyped-def]
        for source in sources:
            crawler = process.create_crawler(CRAWLS[source])
            yield process.crawl(crawler, since=since, sessions=sessions)
            run_id = getattr(crawler.spider, "run_id", None)
            if run_id is not None:
                run_ids.append(run_id)

    crawl_in_order()
    process.start()
    return run_ids
