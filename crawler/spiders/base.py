"""The mechanisms every spider shares; a source is a short declaration on top of one.

Which base to use:

* :class:`OffsetPagingSpider` — the source pages a search with ``top``/``skip``
  (Azure AI Search, as HILMA's index). Pages are fetched one after another in
  ascending publication order so that notices published during the crawl do not
  shift the pages already read.
* :class:`TokenPagingSpider` — the source pages with an opaque next-page token
  (TED's ``iterationNextToken``).

Both inherit :class:`BaseSpider`, which keeps the crawl's record (a ``CrawlRun``
row), works out where an incremental crawl starts, and moves the watermark only
when the crawl finished cleanly: a failed or interrupted crawl leaves it where it
was, so the next run collects everything again and the store counts what it
already had as unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import JsonRequest, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.errors import InputError
from config.settings import Settings, load_settings
from crawler.codes import LOCAL_TIMEZONE
from crawler.items import clean_text
from crawler.middlewares import describe_failure, retry_later
from crawler.pipelines import QuarantinedNotice
from models.crawl import CrawlRun, finish_run, last_watermark, start_run
from models.db import open_database, session_scope

#: Statistics keys the store pipeline counts under; the crawl record reads them back.
OUTCOMES: tuple[str, ...] = ("new", "updated", "unchanged", "duplicate", "failed")


def parse_since(value: str | date | None) -> date | None:
    """``--since YYYY-MM-DD`` as a date, or a clear error."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"--since {value!r} ei ole päivämäärä: kirjoita se muodossa VVVV-KK-PP, esim. 2026-01-31"
        ) from None


class BaseSpider(scrapy.Spider):
    """Incremental crawling with a watermark, the crawl record, and progress output.

    Spider arguments
      since
        Collect what was published on or after this date (``YYYY-MM-DD``) instead of
        continuing from the watermark: a backfill. It never moves the watermark back.
    """

    # BaseSpider
    source: ClassVar[str]
    label: ClassVar[str]  # the source's name as people know it, for progress output
    overlap: ClassVar[timedelta] = timedelta(0)  # re-read this much before the watermark
    rate_limit_setting: ClassVar[str]  # the Settings attribute with requests per minute
    #: How long closing a crawl keeps trying to record it while the database is away (seconds).
    record_patience: ClassVar[float] = 60.0

    app: Settings
    sessions: sessionmaker[Session]

    def __init__(
        self,
        *args: Any,
        since: str | date | None = None,
        sessions: sessionmaker[Session] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.since = parse_since(since)
        self._sessions = sessions
        self.failures: list[str] = []
        self.complete = True  # becomes False when something could not be collected
        self.pages = 0
        self.listed = 0
        self.latest_seen: datetime | None = None
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.watermark_before: datetime | None = None
        self.window_start: datetime | None = None
        self.run_id: int | None = None

    @classmethod
    def update_settings(cls, settings: scrapy.settings.BaseSettings) -> None:
        """Politeness from the service settings: one request every 60/rate seconds."""
        super().update_settings(settings)
        app = settings.get("HANKINTAVAHTI_SETTINGS") or load_settings()
        rate = getattr(app, cls.rate_limit_setting)
        settings.set("DOWNLOAD_DELAY", 60.0 / rate, priority="spider")
        settings.set("DOWNLOAD_DELAY_JITTER", 0, priority="spider")  # the limit is a rate: no random bursts

    @classmethod
    def from_crawler(cls, crawler: scrapy.crawler.Crawler, *args: Any, **kwargs: Any) -> BaseSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.app = crawler.settings.get("HANKINTAVAHTI_SETTINGS") or load_settings()
        # The caller's database (a session factory cannot travel in Scrapy's settings,
        # which are deep-copied), else the one DATABASE_URL names.
        spider.sessions = spider._sessions or open_database(spider.app.database_url)
        return spider

    # The crawl record -----------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self.open_run()
        for request in self.first_requests():
            yield request

    def open_run(self) -> None:
        """Record the crawl and work out where it starts."""
        with session_scope(self.sessions) as session:
            self.watermark_before = last_watermark(session, self.source)
            run = start_run(session, self.source, self.watermark_before)
            session.flush()
            self.run_id = run.id
        if self.since is not None:
            self.window_start = datetime.combine(self.since, datetime.min.time(), tzinfo=LOCAL_TIMEZONE)
        elif self.watermark_before is not None:
            self.window_start = self.watermark_before - self.overlap
        else:
            days = self.app.crawl_initial_days
            self.window_start = datetime.now(UTC) - timedelta(days=days)

    def closed(self, reason: str) -> None:
        """Close the crawl record; only a clean, complete crawl moves the watermark."""
        if self.run_id is None:
            return
        stats = self.crawler.stats
        counts = {outcome: int(stats.get_value(f"hankintavahti/{outcome}", 0)) for outcome in OUTCOMES}
        counts["pages"] = self.pages
        clean = reason == "finished" and self.complete
        status = "finished" if clean else ("interrupted" if reason == "shutdown" else "failed")
        watermark_after = self.watermark_before
        if clean and self.latest_seen is not None:
            watermark_after = max(filter(None, (self.watermark_before, self.latest_seen)))
        elif clean and watermark_after is None:
            watermark_after = self.window_start
        message = self.failures[0] if self.failures else (None if clean else f"haku pysähtyi: {reason}")
        self.record_finish(
            status=status, counts=counts, errors=self.failures, message=message, watermark_after=watermark_after
        )

    def record_finish(self, **outcome: Any) -> None:
        """Write the crawl's outcome, waiting a while for a database that went away mid-crawl.

        The crawl may have stopped because the database went away; it often comes back
        within seconds (a restart, a failover). If it does not, the run stays
        "running": it never moves the watermark, so the next crawl collects everything
        again, and the staff dashboard flags a run that has been running too long.
        """
        assert self.run_id is not None
        deadline = time.monotonic() + self.record_patience
        wait = 0.5
        while True:
            try:
                with session_scope(self.sessions) as session:
                    finish_run(session, session.get_one(CrawlRun, self.run_id), **outcome)
                return
            except SQLAlchemyError as error:
                if time.monotonic() + wait > deadline:
                    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
                    print(
                        f"{self.label}: haun tulosta ei voitu kirjata, koska tietokanta ei vastaa ({first_line}). "
                        "Seuraava haku hakee kaiken tämän haun ilmoitukset uudelleen.",
                        file=sys.stderr,
                        flush=True,
                    )
                    return
                self.logger.warning("recording the crawl failed, trying again in %.1f s: %s", wait, error)
                time.sleep(wait)
                wait = min(wait * 2, 8.0)

    # What spiders call -----------------------------------------------------------------

    def first_requests(self) -> Iterable[Request]:
        raise NotImplementedError

    def saw(self, *moments: datetime | None) -> None:
        """Note a listed notice's publication/modification time for the next watermark.

        A time after the crawl started is a typo in the notice (a year 2062 for 2026):
        it counts as the crawl's start, or the watermark would jump into the future and
        every later crawl would miss every notice published until then.
        """
        for moment in moments:
            if moment is None:
                continue
            moment = min(moment, self.started_at)
            if self.latest_seen is None or moment > self.latest_seen:
                self.latest_seen = moment

    def fail(self, reason: str, *, incomplete: bool = True) -> None:
        """Record what could not be collected; an incomplete crawl keeps the watermark."""
        self.logger.warning(reason)
        if len(self.failures) < 50:
            self.failures.append(reason[:500])
        if incomplete:
            self.complete = False

    def quarantine(self, document: Any, id_field: str, payload_name: str, error: str) -> QuarantinedNotice:
        """Keep a listed document that cannot be read, with its error: stored, so not lost.

        It does not make the crawl incomplete: the document is in the database, and
        re-reading it will not help until the mapper learns its shape.
        """
        raw = json.dumps(document, ensure_ascii=False).encode("utf-8")
        given = document.get(id_field) if isinstance(document, dict) else None
        readable = isinstance(given, str | int) and 0 < len(str(given).strip()) <= 64 and "\x00" not in str(given)
        # Anything else (a list, a megabyte, a NUL) would not fit the column: the payload's hash names it.
        source_id = str(given).strip() if readable else "unreadable-" + hashlib.sha256(raw).hexdigest()[:16]
        error = clean_text(error)
        self.fail(f"{self.label} {source_id}: {error}", incomplete=False)
        return QuarantinedNotice(source=self.source, source_id=source_id, payloads={payload_name: raw}, error=error)

    def on_error(self, failure: Any) -> None:
        """Errback of page requests: a page that could not be had stops the crawl.

        401/403 means the key is wrong and no retry will help; any other failure
        (retries used up) means the rest of the listing cannot be reached reliably.
        """
        if failure.check(HttpError) and failure.value.response.status in (401, 403):
            self.fail(self.unauthorized_message(failure.value.response))
            self.stop("unauthorized")
            return
        self.fail(f"{self.label}: sivua ei saatu haettua: {describe_failure(failure)}")
        self.stop("page_failed")

    def stop(self, reason: str) -> None:
        """Close the crawl from an errback.

        Raising ``CloseSpider`` there would make Scrapy log the download error with a
        traceback; the failure is already recorded in Finnish (:meth:`fail`).
        """
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def unauthorized_message(self, response: Response) -> str:
        return f"{self.label} kieltäytyi palvelemasta (HTTP {response.status})"

    def read_json(self, response: Response) -> Any:
        """The JSON body, or None when it is broken.

        A truncated body or an HTML error page served with status 200 is a passing
        fault as far as we can tell: callers retry it like a 5xx (:meth:`retry_or_fail`).
        """
        try:
            return json.loads(response.body)
        except ValueError:
            return None

    def retry_or_fail(self, response: Response, reason: str) -> Request:
        retry = retry_later(response.request, self, reason)
        if retry is None:
            self.fail(f"{self.label}: {reason}, uusintayritykset käytetty ({response.url})")
            raise CloseSpider("page_failed")
        return retry

    def report_progress(self) -> None:
        """One line per page on stderr when the command line asked for progress."""
        if not self.crawler.settings.getbool("HANKINTAVAHTI_PROGRESS"):
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{self.listed / elapsed:.1f}".replace(".", ",")
        print(
            f"{self.label}: sivu {self.pages} · {self.listed} {'ilmoitus' if self.listed == 1 else 'ilmoitusta'}"
            f" · {rate} ilmoitusta/s",
            file=sys.stderr,
            flush=True,
        )


class OffsetPagingSpider(BaseSpider):
    """Pages a search with ``top``/``skip`` in ascending order until a short page.

    Azure AI Search refuses ``skip`` over 100 000; past that the spider continues
    from the last publication time it saw (``ge``, so nothing is skipped; the repeats
    are counted as unchanged).
    """

    # OffsetPagingSpider
    page_size: ClassVar[int] = 100
    max_skip: ClassVar[int] = 100_000
    order_field: ClassVar[str]
    count_field: ClassVar[str | None] = None  # the response's total of matching documents, if it gives one

    def search_request(self, skip: int, continue_from: str | None = None) -> Request:
        raise NotImplementedError

    def parse_documents(self, documents: list[Any]) -> Iterable[Any]:
        raise NotImplementedError

    def parse_page(self, response: Response) -> Iterable[Any]:
        data = self.read_json(response)
        documents = data.get("value") if isinstance(data, dict) else None
        if not isinstance(documents, list):
            yield self.retry_or_fail(response, "hakusivu oli rikki")
            return
        skip = response.meta["skip"]
        total = data.get(self.count_field) if self.count_field else None
        if len(documents) < self.page_size and isinstance(total, int) and skip + len(documents) < total:
            # A short page ends the listing, so a page cut short by the source would end it early.
            yield self.retry_or_fail(
                response, f"sivulla oli {len(documents)} ilmoitusta, vaikka hakutuloksia on {total} (ohitettu {skip})"
            )
            return
        self.pages += 1
        self.listed += len(documents)
        self.report_progress()
        yield from self.parse_documents(documents)
        if len(documents) < self.page_size:
            return
        next_skip = skip + self.page_size
        if next_skip + self.page_size > self.max_skip:
            last = documents[-1].get(self.order_field) if isinstance(documents[-1], dict) else None
            yield self.search_request(0, continue_from=last)
        else:
            yield self.search_request(next_skip, continue_from=response.meta.get("continue_from"))


class TokenPagingSpider(BaseSpider):
    """Pages a search by passing back the next-page token until there is none."""

    # TokenPagingSpider
    token_field: ClassVar[str]
    results_field: ClassVar[str]

    def search_request(self, token: str | None) -> Request:
        raise NotImplementedError

    def parse_documents(self, documents: list[Any]) -> Iterable[Any]:
        raise NotImplementedError

    def parse_page(self, response: Response) -> Iterable[Any]:
        data = self.read_json(response)
        documents = data.get(self.results_field) if isinstance(data, dict) else None
        if not isinstance(documents, list):
            yield self.retry_or_fail(response, "hakusivu oli rikki")
            return
        token = data.get(self.token_field)
        if not documents and token:
            # An empty page with a next-page token: a source in trouble, not the end of the listing.
            yield self.retry_or_fail(response, "hakusivu oli tyhjä, vaikka seuraava sivu oli tulossa")
            return
        self.pages += 1
        self.listed += len(documents)
        self.report_progress()
        yield from self.parse_documents(documents)
        if token and documents:
            yield self.search_request(token)


def json_request(url: str, body: dict[str, Any], **kwargs: Any) -> JsonRequest:
    """A POST with a JSON body (the search endpoints of both sources take one)."""
    return JsonRequest(url, data=body, method="POST", dont_filter=True, **kwargs)
