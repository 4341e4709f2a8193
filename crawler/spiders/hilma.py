"""HILMA spider."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError

from config.errors import PayloadError
from config.settings import HILMA_KEY_HELP
from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem, combine
from crawler.middlewares import describe_failure, retry_later
from crawler.spiders.base import OffsetPagingSpider, json_request
from models.db import session_scope
from models.queries import notices_missing_enrichment


def odata_time(moment: datetime) -> str:
    """An OData DateTimeOffset literal in UTC with milliseconds (unquoted, as Azure wants)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class HilmaSpider(OffsetPagingSpider):
    """
    Domain
      HILMA (hankintailmoitukset.fi), Finland's national procurement notice service: every
      notice of a Finnish public buyer, national (below EU thresholds) and EU, and the
      buyers' procurement plans.
    Spider arguments
      since
        Collect notices published or modified on or after this date (YYYY-MM-DD): a
        backfill. Without it the crawl continues from the watermark (the latest
        publication or modification time of the last complete crawl, less an hour of
        overlap); a first crawl takes the last ``CRAWL_INITIAL_DAYS`` (30) days.
    Environment
      ``HILMA_API_URL``, ``HILMA_API_KEY`` (the free avp-read key), ``HILMA_RATE_LIMIT``.
    API documentation
      https://github.com/Hankintailmoitukset/hilma-api (AVP read API: ``avpendpoints.md``)
    How it crawls
      ``POST /avp/eformnotices/docs/search`` with ``datePublished`` or ``dateModified``
      at or after the window start, ordered by ``datePublished asc``, paged with
      ``skip``. Each page's eForms notices are then read 50 at a time from
      ``GET /avp-eforms/external-read/v1/notices?id=…`` (base64 XML in ``eForm``) and
      joined to their index documents. Everything is keyed on the index ``id``
      (``EF-…``, ``OLD-…``, ``PLAN-…``): ``noticeId`` is not unique across them.
    Caveats
      The index document alone is stored when the XML cannot be had (its enrichment
      is then "missing" and the next crawl asks again). Legacy (``OLD-``) notices and
      procurement plans are stored from the index document: their read APIs serve
      other formats. Filtering on ``dateModified`` catches cancellations, which HILMA
      records by changing an existing document.
    """

    name = "hilma"

    # BaseSpider
    source = "hilma"
    label = "HILMA"
    overlap = timedelta(hours=1)  # documents can reach the index a little after their datePublished
    rate_limit_setting = "hilma_rate_limit"  # HILMA_RATE_LIMIT, default 6: "6 requests per 60 seconds" per key

    # OffsetPagingSpider
    page_size = 100
    order_field = "datePublished"
    count_field = "@odata.count"  # the search asks for it ("count": true)

    # HilmaSpider
    enrichment_batch: ClassVar[int] = 50  # "The API rejects more than 50" ids a call
    reenrich_limit: ClassVar[int] = 500  # stored notices still missing their XML, retried per crawl

    def first_requests(self) -> Iterable[Request]:
        self.app.require("HILMA_API_KEY")
        yield self.search_request(0)
        yield from self.reenrichment_requests()

    def unauthorized_message(self, response: Response) -> str:
        return f"HILMA hylkäsi avaimen HILMA_API_KEY (HTTP {response.status}). Tarkista avain. {HILMA_KEY_HELP}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Ocp-Apim-Subscription-Key": self.app.require("HILMA_API_KEY"), "Accept": "application/json"}

    # Listing ---------------------------------------------------------------------------

    def search_request(self, skip: int, continue_from: str | None = None) -> Request:
        assert self.window_start is not None
        start = odata_time(self.window_start)
        if continue_from:
            # Past Azure's skip limit: go on from the last publication time seen.
            query = f"datePublished ge {continue_from}"
        else:
            query = f"(datePublished ge {start} or dateModified ge {start})"
        body = {
            "search": "*",
            "filter": query,
            "orderby": "datePublished asc",
            "top": self.page_size,
            "skip": skip,
            "count": True,
        }
        return json_request(
            f"{self.app.hilma_api_url}/avp/eformnotices/docs/search",
            body,
            headers=self.headers,
            callback=self.parse_page,
            errback=self.on_error,
            meta={"skip": skip, "continue_from": continue_from},
        )

    def parse_documents(self, documents: list[Any]) -> Iterable[Any]:
        waiting: list[NoticeItem] = []
        for document in documents:
            try:
                item = map_index_document(document)
            except PayloadError as error:
                yield self.quarantine(document, "id", "hilma-index", str(error))
                continue
            self.saw(item.published_at, item.modified_at)
            if item.source_id.startswith("EF-") and item.source_id[3:].isdigit():
                waiting.append(item)
            else:
                yield item  # plans and legacy notices: the index document is what there is
        for start in range(0, len(waiting), self.enrichment_batch):
            yield self.enrichment_request(waiting[start : start + self.enrichment_batch])

    # Enrichment ------------------------------------------------------------------------

    def enrichment_request(self, items: list[NoticeItem]) -> Request:
        query = urlencode([("id", item.source_id[3:]) for item in items])
        return Request(
            f"{self.app.hilma_api_url}/avp-eforms/external-read/v1/notices?{query}",
            headers=self.headers,
            callback=self.parse_enrichment,
            errback=self.enrichment_failed,
            cb_kwargs={"items": items},
            dont_filter=True,
        )

    def reenrichment_requests(self) -> Iterable[Request]:
        """Ask again for the XML of notices stored from their index document alone."""
        with session_scope(self.sessions) as session:
            stored = notices_missing_enrichment(session, self.source, self.reenrich_limit)
            items = []
            for notice in stored:
                raw = notice.payloads().get("hilma-index")
                if raw is None:
                    continue
                try:
                    items.append(map_index_document(json.loads(raw)))
                except (ValueError, PayloadError):
                    continue
        for start in range(0, len(items), self.enrichment_batch):
            yield self.enrichment_request(items[start : start + self.enrichment_batch])

    def parse_enrichment(self, response: Response, items: list[NoticeItem]) -> Iterable[Any]:
        data = self.read_json(response)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            retry = retry_later(response.request, self, "unreadable eForms batch")
            if retry is not None:
                yield retry
            else:
                yield from self.without_enrichment(items, "unreadable eForms batch")
            return
        envelopes = {str(e.get("id")): e for e in data if isinstance(e, dict)}
        for item in items:
            envelope = envelopes.get(item.source_id[3:])
            if envelope is None:
                yield from self.without_enrichment([item], "no eForms XML in the batch")
                continue
            try:
                xml = base64.b64decode(envelope.get("eForm") or "", validate=True)
                document = parse_eforms(xml, source=self.source, source_id=item.source_id)
            except (binascii.Error, ValueError, PayloadError) as error:
                yield from self.without_enrichment([item], f"eForms XML unreadable: {error}")
                continue
            merged = combine(item, document)
            merged.enrichment = "complete"
            yield merged

    def enrichment_failed(self, failure: Any) -> Iterable[NoticeItem]:
        if failure.check(HttpError) and failure.value.response.status in (401, 403):
            self.on_error(failure)
            return
        items = failure.request.cb_kwargs["items"]
        yield from self.without_enrichment(items, describe_failure(failure))

    def without_enrichment(self, items: list[NoticeItem], reason: str) -> Iterable[NoticeItem]:
        """Store the index documents alone; the next crawl asks for their XML again."""
        ids = ", ".join(item.source_id for item in items[:5]) + (" …" if len(items) > 5 else "")
        # Recorded, yet the crawl stays complete: the notices are stored and the next crawl asks again.
        self.fail(
            f"HILMA: {len(items)} ilmoitusta tallennettiin ilman eForms-XML:ää ({ids}): {reason}", incomplete=False
        )
        self.crawler.stats.inc_value("hankintavahti/enrichment_missing", len(items))
        for item in items:
            item.enrichment = "missing"
            yield item
