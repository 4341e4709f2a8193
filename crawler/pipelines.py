"""Item pipeline: the line a collected notice goes down, one small step each.

The step stores each notice and classifies its tender (:func:`crawler.store.store_item`:
classification needs the tender, which exists only once the notice is stored). A
notice that cannot be stored stops the crawl: the watermark must not pass a notice
that is not in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import scrapy
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError

from crawler.items import NoticeItem
from crawler.store import store_item
from models.db import session_scope
from models.ingest import store_failure


@dataclass
class QuarantinedNotice:
    """A listed notice that could not be read: kept with its payload and error, not lost."""

    source: str
    source_id: str
    payloads: dict[str, bytes] = field(repr=False)
    error: str
    published_at: datetime | None = None


class StorePipeline:
    """Stores each notice in its own unit of work and counts the outcome."""

    def __init__(self, crawler: scrapy.crawler.Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: scrapy.crawler.Crawler) -> StorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        stats = self.crawler.stats
        try:
            with session_scope(spider.sessions) as session:
                if isinstance(item, QuarantinedNotice):
                    store_failure(
                        session,
                        source=item.source,
                        source_id=item.source_id,
                        payloads=item.payloads,
                        error=item.error,
                        published_at=item.published_at,
                    )
                    outcome = "failed"
                elif isinstance(item, NoticeItem):
                    outcome = store_item(session, item).status
                else:
                    raise TypeError(f"unexpected item {type(item).__name__}")
        except SQLAlchemyError as error:
            reason = f"{spider.label}: storing {getattr(item, 'source_id', '?')} failed: {error.__class__.__name__}"
            spider.fail(f"{reason}: {str(error).splitlines()[0][:200]}")
            stats.inc_value("hankintavahti/failed")
            # Stop rather than go on: the watermark must not pass a notice that is not stored.
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_failed"))
            raise DropItem(reason) from error
        stats.inc_value(f"hankintavahti/{outcome}")
        return item
