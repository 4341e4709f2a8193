"""Storing a collected notice: the one path from an item to a classified tender.

The Scrapy pipeline and ``hankintavahti import`` both call :func:`store_item`: it
joins the item to the full document stored earlier when only a listing arrived,
stores it (:func:`models.ingest.store_notice`), and classifies the tender it belongs
to again, because every notice can add evidence of where and what the work is.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from config.errors import PayloadError
from crawler.classification.tenders import classify_tender
from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem, combine
from models.ingest import StoreOutcome, store_notice
from models.queries import stored_payloads


def store_item(session: Session, item: NoticeItem) -> StoreOutcome:
    """Store one notice and reclassify its tender (when it has one and something changed)."""
    outcome = store_notice(session, with_stored_document(session, item))
    if outcome.tender is not None and outcome.status in ("new", "updated"):
        classify_tender(session, outcome.tender)
    return outcome


def with_stored_document(session: Session, item: NoticeItem) -> NoticeItem:
    """Join a listing to the eForms document already stored for it, if there is one.

    A listing can arrive alone (the XML request failed this time, or a search
    response was imported); storing it as it is would replace the richer notice with
    a poorer one. Likewise a document arriving alone (an envelope) is joined to the
    stored listing, which knows when and where it was published.
    """
    stored = stored_payloads(session, item.source, item.source_id)
    if not stored:
        return item
    if "eforms" not in item.payloads and "eforms" in stored:
        try:
            document = parse_eforms(stored["eforms"], source=item.source, source_id=item.source_id)
        except PayloadError:
            return item
        merged = combine(item, document)
        merged.enrichment = "complete"
        return merged
    if "eforms" in item.payloads and "hilma-index" in stored and "hilma-index" not in item.payloads:
        try:
            listing = map_index_document(json.loads(stored["hilma-index"]))
        except (ValueError, PayloadError):
            return item
        merged = combine(listing, item)
        merged.enrichment = "complete"
        return merged
    return item
