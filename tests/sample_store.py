"""The project's sample stored as the crawlers store it, for tests that recompute figures from its specs.

HILMA: plans alone, notices as their index document joined to their eForms XML; TED: the
search fields joined to TED's XML; all through :func:`crawler.store.store_items` in
publication order, as a crawl of both sources would. The tests then compare what the
pages show with what they compute themselves from :func:`crawler.standins.load_sample`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem, combine
from crawler.standins.sample import SampleData
from crawler.store import store_items
from crawler.ted_json import map_search_notice


def sample_items(sample: SampleData) -> list[NoticeItem]:
    """The sample as the spiders would yield it, oldest first."""
    items = []
    for document in sample.hilma_documents:
        item = map_index_document(document)
        xml = sample.hilma_eforms.get(document.get("noticeId"))
        if document["id"].startswith("EF-") and xml is not None:
            item = combine(item, parse_eforms(xml, source="hilma", source_id=item.source_id))
            item.enrichment = "complete"
        items.append(item)
    for notice in sample.ted_notices:
        item = map_search_notice(notice.fields)
        item = combine(item, parse_eforms(notice.xml, source="ted", source_id=item.source_id))
        item.enrichment = "complete"
        items.append(item)
    return sorted(items, key=lambda item: (item.published_at or datetime.min.replace(tzinfo=UTC), item.source))


def store_sample(session: Session, sample: SampleData) -> None:
    """Store the whole sample in ``session`` (the caller commits)."""
    store_items(session, sample_items(sample))
