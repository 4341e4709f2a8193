"""TED spider."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

from scrapy.http import Request, Response

from config.errors import PayloadError
from crawler.codes import LOCAL_TIMEZONE
from crawler.eforms import parse_eforms
from crawler.items import NoticeItem, combine
from crawler.middlewares import describe_failure, retry_later
from crawler.spiders.base import TokenPagingSpider, json_request
from crawler.ted_json import SEARCH_FIELDS, map_search_notice, xml_link
from models.db import session_scope
from models.queries import known_publication_numbers, notices_missing_enrichment


class TedSpider(TokenPagingSpider):
    """
    Domain
      TED (Tenders Electronic Daily), the EU's journal of public procurement: the
      notices above EU thresholds of Finnish buyers, and of any buyer when the work is
      done in Finland.
    Spider arguments
      since
        Collect notices published on or after this date (YYYY-MM-DD): a backfill.
        Without it the crawl continues from the day before the latest publication date
        of the last complete crawl (TED's dates have no time of day); a first crawl
        takes the last ``CRAWL_INITIAL_DAYS`` (30) days.
    Environment
      ``TED_API_URL``, ``TED_RATE_LIMIT``.
    API documentation
      https://docs.ted.europa.eu/api/latest/search.html
    How it crawls
      ``POST /v3/notices/search`` with an expert query on buyer country and place of
      performance, ``paginationMode: ITERATION`` (no limit on depth), then the eForms
      XML of each notice from its ``links.xml.MUL`` link.
    Caveats
      Most Finnish notices on TED were sent through HILMA: a notice already stored
      under its TED publication number is not fetched again, and one whose eForms id
      matches a HILMA notice is stored once (the store keeps HILMA's). TED's web front
      answers anonymous clients with a WAF challenge (HTTP 202): the User-Agent names
      the service, and a challenge is retried like a 5xx. A notice whose XML could not be
      read is stored from its listing and its XML is asked for again on the next crawls.
    """

    name = "ted"

    # BaseSpider
    source = "ted"
    label = "TED"
    overlap = timedelta(days=1)  # TED's dates have no time, and its index can lag a day: read that day again
    rate_limit_setting = "ted_rate_limit"  # TED_RATE_LIMIT: no published limit; TED's clients keep ~1 request/s

    # TokenPagingSpider
    token_field = "iterationNextToken"
    results_field = "notices"
    page_size = 100  # at most 250; fields × limit must stay ≤ 10 000

    # TedSpider
    reenrich_limit: ClassVar[int] = 500  # stored notices still missing their XML, retried per crawl

    @property
    def query(self) -> str:
        assert self.window_start is not None
        day = self.window_start.astimezone(LOCAL_TIMEZONE).strftime("%Y%m%d")
        return f"(buyer-country = FIN OR place-of-performance IN (FIN)) AND publication-date >= {day}"

    def first_requests(self) -> Iterable[Request]:
        yield self.search_request(None)
        yield from self.reenrichment_requests()

    def reenrichment_requests(self) -> Iterable[Request]:
        """Ask again for the XML of notices stored from their listing alone.

        The listing does not bring them back: a published TED notice is skipped as
        known, so without this a notice whose XML failed once would stay without it.
        """
        with session_scope(self.sessions) as session:
            stored = notices_missing_enrichment(session, self.source, self.reenrich_limit)
            listings = [notice.payloads().get("ted-search") for notice in stored]
        for raw in listings:
            if raw is None:
                continue
            try:
                item = map_search_notice(json.loads(raw))
            except (ValueError, PayloadError):
                continue
            request = self.xml_request(item)
            if request is not None:
                yield request

    def search_request(self, token: str | None) -> Request:
        body: dict[str, Any] = {
            "query": self.query,
            "fields": list(SEARCH_FIELDS),
            "limit": self.page_size,
            "scope": "ALL",
            "paginationMode": "ITERATION",
        }
        if token:
            body["iterationNextToken"] = token
        return json_request(
            f"{self.app.ted_api_url}/v3/notices/search",
            body,
            callback=self.parse_page,
            errback=self.on_error,
        )

    def parse_documents(self, documents: list[Any]) -> Iterable[Any]:
        listed: list[NoticeItem] = []
        for document in documents:
            try:
                item = map_search_notice(document)
            except PayloadError as error:
                yield self.quarantine(document, "publication-number", "ted-search", str(error))
                continue
            self.saw(item.published_at)
            listed.append(item)
        with session_scope(self.sessions) as session:
            known = known_publication_numbers(session, [item.source_id for item in listed])
        for item in listed:
            if item.source_id in known:
                # Published notices do not change on TED; a change is a new notice.
                outcome = "unchanged" if known[item.source_id] == "ted" else "duplicate"
                self.crawler.stats.inc_value(f"hankintavahti/{outcome}")
                continue
            request = self.xml_request(item)
            if request is None:
                yield from self.without_xml(item, "no XML link")
                continue
            yield request

    def xml_request(self, item: NoticeItem) -> Request | None:
        """The request for a listed notice's eForms XML; None when the listing gives no link."""
        link = xml_link(json.loads(item.payloads["ted-search"]))
        if link is None:
            return None
        return Request(
            link,
            callback=self.parse_xml,
            errback=self.xml_failed,
            cb_kwargs={"item": item},
            headers={"Accept": "application/xml"},
            dont_filter=True,
        )

    def parse_xml(self, response: Response, item: NoticeItem) -> Iterable[Any]:
        try:
            document = parse_eforms(response.body, source=self.source, source_id=item.source_id)
        except PayloadError as error:
            retry = retry_later(response.request, self, f"unreadable XML: {error}")
            if retry is not None:
                yield retry
            else:
                yield from self.without_xml(item, str(error))
            return
        merged = combine(item, document)
        merged.enrichment = "complete"
        yield merged

    def xml_failed(self, failure: Any) -> Iterable[NoticeItem]:
        yield from self.without_xml(failure.request.cb_kwargs["item"], describe_failure(failure))

    def without_xml(self, item: NoticeItem, reason: str) -> Iterable[NoticeItem]:
        """Store the listing alone rather than lose the notice."""
        # Recorded, yet the crawl stays complete: the listing is stored and the next crawl asks for its XML again.
        self.fail(f"TED {item.source_id} tallennettiin ilman eForms-XML:ää: {reason}", incomplete=False)
        self.crawler.stats.inc_value("hankintavahti/enrichment_missing")
        item.enrichment = "missing"
        yield item
