"""Storing a collected notice: the one path from an item to a classified tender.

The Scrapy pipeline (:func:`store_items`, a batch at a time) and ``hankintavahti
import`` (:func:`store_item`) take this path: it joins the item to the full document
stored earlier when only a listing arrived, stores it (:class:`models.ingest.IngestBatch`),
and classifies the tender it belongs to again, because every notice can add evidence
of where and what the work is.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from config.errors import PayloadError
from crawler.classification.tenders import NewTenderRows, classify_tender
from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem, combine
from models.classification import overrides_in_force_for
from models.ingest import IngestBatch, StoreOutcome


def store_item(session: Session, item: NoticeItem) -> StoreOutcome:
    """Store one notice and reclassify its tender (when it has one and something changed)."""
    return store_items(session, [item])[0]


def store_items(session: Session, items: list[NoticeItem]) -> list[StoreOutcome]:
    """Store notices in order in the caller's transaction, then classify each tender they changed once.

    One batch asks the database a few questions for all of its items
    (:class:`models.ingest.IngestBatch`) instead of a score for each; the result is
    the same as storing them one by one.
    """
    batch = IngestBatch(session, items)
    outcomes = [
        batch.store(with_stored_document(batch.stored_payloads(item.source, item.source_id), item)) for item in items
    ]
    # Classified before the batch's rows are sent, so that a new tender is inserted with its
    # classification, regions and sectors rather than inserted and then updated.
    tenders = batch.changed_tenders()
    with session.no_autoflush:  # the overrides are not written here; keep the rows for one flush
        overrides = overrides_in_force_for(session, [tender.id for tender in tenders if tender.id is not None])
    new_rows = NewTenderRows()
    for tender in tenders:
        notices = batch.notices_of(tender)
        in_force = overrides.get(tender.id, {}) if tender.id is not None else {}
        classify_tender(session, tender, notices=notices, overrides=in_force, flush=False, new_rows=new_rows)
    batch.finish()
    new_rows.write(session)
    return outcomes


def with_stored_document(stored: dict[str, bytes], item: NoticeItem) -> NoticeItem:
    """Join a listing to the eForms document already stored for it (``stored``: its payloads), if there is one.

    A listing can arrive alone (the XML request failed this time, or a search
    response was imported); storing it as it is would replace the richer notice with
    a poorer one. Likewise a document arriving alone (an envelope) is joined to the
    stored listing, which knows when and where it was published.
    """
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
