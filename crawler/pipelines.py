"""Item pipeline: the line a collected notice goes down, one small step each.

The step stores the notices and classifies their tenders (:func:`crawler.store.store_items`:
classification needs the tender, which exists only once the notice is stored). It
stores a batch at a time, in one transaction: a transaction per notice cost more than
parsing, classifying and storing it together (``bench/ingest.py``). A notice that
the database refuses for its content (a value too long for its column, say) is
quarantined with the error and its payloads, like one that cannot be parsed, and the
crawl goes on; any other failure to store stops the crawl: the watermark must not
pass a notice that is not in the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import scrapy
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet import task

from crawler.items import NoticeItem
from crawler.store import store_items
from models.db import session_scope
from models.ingest import store_failure

#: Items stored together in one transaction, unless a crawl sets ``HANKINTAVAHTI_STORE_BATCH``.
STORE_BATCH = 200
#: The longest an item waits in the buffer (``HANKINTAVAHTI_STORE_SECONDS``): at HILMA's
#: six requests a minute a page's items come in bursts, and alerts should not wait for the next.
STORE_SECONDS = 2.0


@dataclass
class QuarantinedNotice:
    """A listed notice that could not be read: kept with its payload and error, not lost."""

    source: str
    source_id: str
    payloads: dict[str, bytes] = field(repr=False)
    error: str
    published_at: datetime | None = None


class StorePipeline:
    """Buffers items and stores each batch in one unit of work; counts the outcomes once they are committed.

    A batch is stored when it is full, when its oldest item has waited
    ``STORE_SECONDS``, and when the spider closes, before the spider records the
    crawl (Scrapy closes the pipelines first), so the watermark is decided only once
    everything collected is stored or known to have failed. When a batch's
    transaction fails, its items are stored again one by one, so a bad item costs only
    itself; each one that still fails is recorded and stops the crawl.
    """

    def __init__(self, crawler: scrapy.crawler.Crawler) -> None:
        self.crawler = crawler
        self.batch_size = max(1, crawler.settings.getint("HANKINTAVAHTI_STORE_BATCH", STORE_BATCH))
        self.max_wait = crawler.settings.getfloat("HANKINTAVAHTI_STORE_SECONDS", STORE_SECONDS)
        self.buffer: list[Any] = []
        self.oldest = 0.0
        self.timer: task.LoopingCall | None = None
        self.stopping = False  # the crawl was asked to stop (a failed store, or the spider is closing)

    @classmethod
    def from_crawler(cls, crawler: scrapy.crawler.Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.max_wait > 0:
            self.timer = task.LoopingCall(self.flush_if_due)
            self.timer.start(self.max_wait / 2, now=False)

    def close_spider(self) -> None:
        self.stopping = True
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.flush()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, NoticeItem | QuarantinedNotice):
            raise TypeError(f"unexpected item {type(item).__name__}")
        if not self.buffer:
            self.oldest = time.monotonic()
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush_if_due(self) -> None:
        if self.buffer and time.monotonic() - self.oldest >= self.max_wait:
            self.flush()

    def flush(self) -> None:
        """Store the buffered items: together, or one by one when together failed."""
        items, self.buffer = self.buffer, []
        if not items:
            return
        try:
            with session_scope(self.crawler.spider.sessions) as session:
                outcomes = store_in_order(session, items)
        except SQLAlchemyError:
            outcomes = [outcome for item in items if (outcome := self.store_alone(item)) is not None]
        stats = self.crawler.stats
        for outcome in outcomes:
            stats.inc_value(f"hankintavahti/{outcome}")

    def store_alone(self, item: Any) -> str | None:
        """Store one item in its own unit of work; on failure record it, stop the crawl and return None.

        A notice the database refuses for what it contains is quarantined instead: the
        same notice would stop every later crawl at the same place.
        """
        spider = self.crawler.spider
        try:
            with session_scope(spider.sessions) as session:
                return store_in_order(session, [item])[0]
        except (DataError, IntegrityError) as error:
            if isinstance(item, NoticeItem) and self.quarantine(item, error):
                return "failed"
            return self.give_up(item, error)
        except SQLAlchemyError as error:
            return self.give_up(item, error)

    def quarantine(self, item: NoticeItem, error: SQLAlchemyError) -> bool:
        """Keep a notice the database refused as quarantined, with the database's reason; False if that fails too."""
        reason = f"tietokanta ei hyväksynyt ilmoitusta: {str(getattr(error, 'orig', error)).splitlines()[0][:300]}"
        try:
            with session_scope(self.crawler.spider.sessions) as session:
                store_failure(
                    session,
                    source=item.source,
                    source_id=item.source_id,
                    payloads=item.payloads,
                    error=reason,
                    published_at=item.published_at,
                )
        except SQLAlchemyError:
            return False
        return True

    def give_up(self, item: Any, error: SQLAlchemyError) -> None:
        """Record a notice that could not be stored and stop the crawl, so that the watermark stays before it."""
        spider = self.crawler.spider
        reason = f"{spider.label}: storing {getattr(item, 'source_id', '?')} failed: {error.__class__.__name__}"
        spider.fail(f"{reason}: {str(error).splitlines()[0][:200]}")
        self.crawler.stats.inc_value("hankintavahti/failed")
        if not self.stopping:
            # Stop rather than go on: the watermark must not pass a notice that is not stored.
            self.stopping = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_failed"))


def store_in_order(session: Session, items: list[Any]) -> list[str]:
    """Store items in the order they came (runs of notices as one batch each); their outcomes."""
    outcomes: list[str] = []
    run: list[NoticeItem] = []
    for item in [*items, None]:
        if isinstance(item, NoticeItem):
            run.append(item)
            continue
        if run:
            outcomes += [outcome.status for outcome in store_items(session, run)]
            run = []
        if isinstance(item, QuarantinedNotice):
            store_failure(
                session,
                source=item.source,
                source_id=item.source_id,
                payloads=item.payloads,
                error=item.error,
                published_at=item.published_at,
            )
            outcomes.append("failed")
    return outcomes
