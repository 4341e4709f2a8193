"""PRH company register spider: where the winners of stored awards are located."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError

from config.errors import PayloadError
from crawler.middlewares import describe_failure, retry_later
from crawler.prh_json import CompanyAnswer, map_company_response
from crawler.spiders.base import BaseSpider
from models.company import business_ids_to_look_up, store_company
from models.db import session_scope


class PrhSpider(BaseSpider):
    """
    Domain
      The Finnish company register's open data (PRH, YTJ v3): the municipality codes
      of a firm's visiting and postal addresses, looked up by business ID for the
      winners of stored award notices whose award gives no location (no postcode, town
      or NUTS code). The vitality meter reads the answers (``companies`` table) to tell
      local winners from others; a firm the register does not know stays unknown.
    Spider arguments
      since
        Not used: the firms to look up come from the stored award notices, whatever
        their date (``hankintavahti crawl hilma --since …`` backfills those).
    Environment
      ``PRH_API_URL`` (default ``https://avoindata.prh.fi/opendata-ytj-api/v3``),
      ``PRH_RATE_LIMIT`` (lookups per minute, default 60).
    API documentation
      https://avoindata.prh.fi/fi/ytj/swagger-ui (OpenAPI:
      https://avoindata.prh.fi/opendata-ytj-api/v3/schema?lang=fi); data CC BY 4.0,
      source "Patentti- ja rekisterihallitus (PRH)".
    How it looks up
      ``GET /companies?businessId=1234567-8`` per firm, one after the other (the next
      lookup starts when the previous one has ended), ``PRH_RATE_LIMIT`` a minute, at
      most :attr:`per_run` firms a run (the rest the next run). Each answer is kept:
      ``found`` with the name, the municipality codes and the visiting (else postal)
      address's postcode and town, or ``not_found``. A found firm is not asked again;
      a ``not_found`` one after 180 days (``models.company``).
    Caveats
      The municipality code is the one of the address's post office, not the legal
      domicile (v3 has none). PRH allows about 300 searches a minute shared by all its
      users and documents no ``Retry-After``: a 429 waits as the header asks, else it
      backs off like a 5xx. A lookup that fails (5xx or a broken body after the retries,
      no connection) stores nothing, so the firm is asked again next run; after
      :attr:`give_up_after` failed firms in a row the run asks no more, as the register is down.
      The run's record counts firms found as ``new``, firms the register does not
      know as ``unchanged``, failed lookups as ``failed`` and answers as ``pages``.
    """

    name = "prh"

    # BaseSpider
    source = "prh"
    label = "PRH"
    rate_limit_setting = "prh_rate_limit"

    # PrhSpider
    per_run: ClassVar[int] = 600  # ten minutes at the default rate: a backfill's firms spread over a few runs
    give_up_after: ClassVar[int] = 3  # failed lookups in a row that mean the register is not answering

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: deque[str] = deque()
        self.wanted = 0
        self.answered = 0
        self.failures_in_a_row = 0

    def first_requests(self) -> Iterable[Request]:
        with session_scope(self.sessions) as session:
            self.queue.extend(business_ids_to_look_up(session, now=datetime.now(UTC), limit=self.per_run))
        self.wanted = len(self.queue)
        yield from self.next_lookup()

    def next_lookup(self) -> Iterable[Request]:
        """The next firm's request, once the previous lookup has ended: one lookup at a time, so a register
        that stops answering is asked about :attr:`give_up_after` firms, not about every firm at once."""
        if self.queue and self.failures_in_a_row < self.give_up_after:
            yield self.lookup_request(self.queue.popleft())

    def lookup_request(self, business_id: str) -> Request:
        return Request(
            f"{self.app.prh_api_url}/companies?{urlencode({'businessId': business_id})}",
            callback=self.parse_company,
            errback=self.lookup_failed,
            cb_kwargs={"business_id": business_id},
            headers={"Accept": "application/json"},
            # The register declares no 404; should one come, its body says whether it means "no such firm".
            meta={"handle_httpstatus_list": [404]},
            dont_filter=True,
        )

    def parse_company(self, response: Response, business_id: str) -> Iterable[Request]:
        try:
            answer = map_company_response(response.body, business_id)
        except PayloadError as error:
            if response.status == 404:  # not an envelope: a wrong PRH_API_URL, not a firm that is missing
                self.lookup_lost(business_id, f"HTTP 404 ({response.url})")
            else:
                retry = retry_later(response.request, self, f"unreadable answer: {error}")
                if retry is not None:
                    yield retry
                    return
                self.lookup_lost(business_id, str(error))
        else:
            self.keep(answer)
        yield from self.next_lookup()

    def lookup_failed(self, failure: Any) -> Iterable[Request]:
        business_id = failure.request.cb_kwargs["business_id"]
        if failure.check(HttpError) and failure.value.response.status == 400:
            # The register refused the ID itself: asking again will not help, and it says nothing of the others.
            self.fail(f"PRH ei hyväksynyt Y-tunnusta {business_id}: {describe_failure(failure)}")
            self.crawler.stats.inc_value("hankintavahti/failed")
        else:
            self.lookup_lost(business_id, describe_failure(failure))
        yield from self.next_lookup()

    def keep(self, answer: CompanyAnswer) -> None:
        """Store the register's answer; "not in the register" is an answer too."""
        with session_scope(self.sessions) as session:
            store_company(session, answer, fetched_at=datetime.now(UTC))
        self.failures_in_a_row = 0
        self.answered += 1
        self.pages += 1
        self.crawler.stats.inc_value("hankintavahti/new" if answer.result == "found" else "hankintavahti/unchanged")
        self.report_progress()

    def lookup_lost(self, business_id: str, reason: str) -> None:
        """Nothing is stored, so the next run asks again; several in a row stop this run."""
        self.fail(f"PRH: yrityksen {business_id} tietoja ei saatu ({reason}); haetaan uudelleen seuraavalla kerralla")
        self.crawler.stats.inc_value("hankintavahti/failed")
        self.failures_in_a_row += 1
        if self.failures_in_a_row == self.give_up_after and self.queue:
            self.fail(
                f"PRH ei vastannut {self.give_up_after} kertaa peräkkäin; "
                f"loput {len(self.queue)} yritystä haetaan seuraavalla kerralla"
            )

    def report_progress(self) -> None:
        if not self.crawler.settings.getbool("HANKINTAVAHTI_PROGRESS"):
            return
        print(f"PRH: {self.answered}/{self.wanted} yritystä haettu", file=sys.stderr, flush=True)
