"""Storing in batches gives the database that storing one notice at a time gives (SQLite and PostgreSQL).

The batch (``crawler.store.store_items`` over ``models.ingest.IngestBatch``) answers
the ingest rules from rows it loaded up front and from the notices stored before in
the same batch; these tests store realistic notices (the sample's procedures with
corrections, awards and cancellations, from HILMA and from TED, ``bench/notices.py``)
in any order and batch size and compare every tender, notice and recorded change
with the one-by-one result.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.notices import parse, payloads
from crawler.items import NoticeItem
from crawler.pipelines import store_in_order
from crawler.store import store_item, store_items
from models.base import Base
from models.notice import Notice, NoticeRef
from models.tender import Tender, TenderChange

#: Two rounds of the sample: one with HILMA's notices, one with the EU procedures from TED alone.
ITEMS: list[NoticeItem] = [parse(payload) for payload in payloads(108)]


def snapshot(session: Session) -> dict[str, Any]:
    """Everything the ingest decides, keyed by what is stable across runs (not ids)."""
    notices = {notice.id: notice for notice in session.scalars(select(Notice))}
    tenders = {tender.id: tender for tender in session.scalars(select(Tender))}

    def source_key(notice_id: int | None) -> tuple[str, str] | None:
        return None if notice_id is None else (notices[notice_id].source, notices[notice_id].source_id)

    references = {(n.source, n.source_id, ref) for n in notices.values() for ref in _references(n)}
    rows = session.execute(select(NoticeRef.notice_id, NoticeRef.ref))
    indexed = {(*notice_key, ref) for notice_id, ref in rows if (notice_key := source_key(notice_id))}
    assert indexed == references, "notice_refs indexes exactly each notice's changed and previous notices"
    return {
        "notices": sorted(
            (
                n.source,
                n.source_id,
                n.status,
                n.content_hash,
                n.enrichment,
                tenders[n.tender_id].key if n.tender_id else None,
                n.buyer.business_id if n.buyer else None,
            )
            for n in notices.values()
        ),
        "tenders": sorted(
            (
                t.key,
                t.status,
                t.kind,
                t.title,
                t.deadline,
                t.buyer_id is not None,
                tuple(t.cpv or []),
                source_key(t.latest_notice_id),
                t.first_published_at,
                t.last_published_at,
                tuple(sorted((r.level, r.code) for r in t.regions)),
                tuple((s.slug, s.rank) for s in t.sectors),
                t.nationwide,
                t.revision,
            )
            for t in tenders.values()
        ),
        "changes": sorted(
            (tenders[c.tender_id].key, source_key(c.notice_id), c.field, repr(c.old), repr(c.new))
            for c in session.scalars(select(TenderChange))
        ),
    }


def _references(notice: Notice) -> set[str]:
    return {ref for ref in [notice.changed_notice, *(notice.previous_notices or [])] if ref}


def empty(session: Session) -> None:
    session.execute(update(Tender).values(latest_notice_id=None))
    for table in reversed(Base.metadata.sorted_tables):
        if not table.name.startswith("apscheduler_"):
            session.execute(table.delete())
    session.commit()


def one_by_one(sessions: sessionmaker[Session], items: list[NoticeItem]) -> dict[str, Any]:
    for item in items:
        with sessions.begin() as session:
            store_item(session, item)
    with sessions() as session:
        return snapshot(session)


def batched(sessions: sessionmaker[Session], items: list[NoticeItem], size: int) -> dict[str, Any]:
    for start in range(0, len(items), size):
        with sessions.begin() as session:
            store_items(session, items[start : start + size])
    with sessions() as session:
        return snapshot(session)


def test_one_batch_stores_what_one_by_one_stores(session_factory: sessionmaker[Session]) -> None:
    expected = one_by_one(session_factory, ITEMS)
    with session_factory() as session:
        empty(session)
    assert batched(session_factory, ITEMS, len(ITEMS)) == expected
    assert len(expected["tenders"]) > 40 and expected["changes"], "the sample links notices into tenders with changes"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(ITEMS))), size=st.integers(min_value=2, max_value=60))
def test_any_order_and_batch_size_stores_what_one_by_one_stores(
    session_factory: sessionmaker[Session], order: list[int], size: int
) -> None:
    items = [ITEMS[index] for index in order]
    with session_factory() as session:
        empty(session)
    expected = one_by_one(session_factory, items)
    with session_factory() as session:
        empty(session)
    assert batched(session_factory, items, size) == expected


def test_a_batch_with_repeats_counts_them_unchanged_and_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    first = ITEMS[:54]
    with session_factory.begin() as session:
        assert set(store_in_order(session, first)) == {"new"}
    with session_factory() as session:
        before = snapshot(session)
    with session_factory.begin() as session:
        assert store_in_order(session, first) == ["unchanged"] * len(first)
    with session_factory() as session:
        assert snapshot(session) == before


@pytest.mark.parametrize("size", [1, 7])
def test_the_store_path_counts_every_item_once(session_factory: sessionmaker[Session], size: int) -> None:
    outcomes: list[str] = []
    for start in range(0, len(ITEMS), size):
        with session_factory.begin() as session:
            outcomes += store_in_order(session, ITEMS[start : start + size])
    assert len(outcomes) == len(ITEMS) and set(outcomes) <= {"new", "updated", "duplicate", "unchanged"}
    with session_factory() as session:
        stored = set(session.execute(select(Notice.source, Notice.source_id)).all())
    assert stored == {(item.source, item.source_id) for item in ITEMS}
