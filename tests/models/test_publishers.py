"""One notice published by HILMA, TED and as a bare eForms file is stored once (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import NoticeItem
from models.ingest import store_failure, store_notice
from models.notice import Notice
from models.tender import Tender

MakeNotice = Callable[..., NoticeItem]
TED_NUMBER = "216129-2026"


def copies(make_notice: MakeNotice) -> dict[str, NoticeItem]:
    """The same notice as HILMA's index gives it, as TED's search gives it, and as its eForms file."""
    hilma = make_notice(published_at=datetime(2026, 5, 8, 14, 51, tzinfo=UTC), publication_number=None)
    ted = dataclasses.replace(
        hilma,
        source="ted",
        source_id=TED_NUMBER,
        publication_number=TED_NUMBER,
        hilma_notice_number=None,
        url=f"https://ted.europa.eu/fi/notice/-/detail/{TED_NUMBER}",
        titles={"fi": "Koulujen ja päiväkotien siivouspalvelut", "en": "Cleaning services"},
        payloads={"ted-search": b'{"publication-number": "216129-2026"}'},
    )
    eforms = dataclasses.replace(
        hilma,
        source="eforms",
        source_id=hilma.full_notice_id or "",
        hilma_notice_number=None,
        url=None,
        payloads={"eforms": b"<ContractNotice/>"},
    )
    return {"hilma": hilma, "ted": ted, "eforms": eforms}


def count(session: Session, entity: type) -> int:
    return session.scalar(select(func.count()).select_from(entity)) or 0


def test_a_ted_copy_of_a_hilma_notice_is_a_duplicate_that_adds_the_ted_number(
    session: Session, make_notice: MakeNotice
) -> None:
    items = copies(make_notice)
    stored = store_notice(session, items["hilma"])
    outcome = store_notice(session, items["ted"])
    assert outcome.status == "duplicate"
    assert outcome.notice.id == stored.notice.id
    assert (outcome.notice.source, outcome.notice.source_id) == ("hilma", items["hilma"].source_id)
    assert outcome.notice.publication_number == TED_NUMBER
    assert outcome.changes == []
    assert (count(session, Notice), count(session, Tender)) == (1, 1)


def test_a_hilma_copy_takes_over_the_row_of_a_ted_notice(session: Session, make_notice: MakeNotice) -> None:
    items = copies(make_notice)
    stored = store_notice(session, items["ted"])
    outcome = store_notice(session, items["hilma"])
    assert outcome.status == "updated"
    assert outcome.notice.id == stored.notice.id
    notice = outcome.notice
    assert (notice.source, notice.source_id, notice.url) == ("hilma", items["hilma"].source_id, items["hilma"].url)
    assert notice.publication_number == TED_NUMBER  # kept: HILMA's copy did not know it
    assert notice.payloads() == items["hilma"].payloads
    assert (count(session, Notice), count(session, Tender)) == (1, 1)


def test_a_ted_notice_is_recognised_by_its_publication_number_alone(session: Session, make_notice: MakeNotice) -> None:
    items = copies(make_notice)
    store_notice(session, dataclasses.replace(items["hilma"], publication_number=TED_NUMBER))
    ted_without_eforms_id = dataclasses.replace(items["ted"], notice_id=None, notice_version=None)
    assert store_notice(session, ted_without_eforms_id).status == "duplicate"
    assert count(session, Notice) == 1


def test_the_ted_copy_seen_again_after_a_takeover_stays_a_duplicate(session: Session, make_notice: MakeNotice) -> None:
    items = copies(make_notice)
    store_notice(session, items["ted"])
    store_notice(session, items["hilma"])
    assert store_notice(session, items["ted"]).status == "duplicate"
    assert store_notice(session, items["hilma"]).status == "unchanged"


def test_a_good_version_after_quarantine_replaces_both_the_quarantined_row_and_a_lower_copy(
    session: Session, make_notice: MakeNotice
) -> None:
    items = copies(make_notice)
    store_failure(
        session, source="hilma", source_id=items["hilma"].source_id, payloads={"eforms": b"<"}, error="broken"
    )
    store_notice(session, items["ted"])
    outcome = store_notice(session, items["hilma"])
    assert outcome.status == "updated"
    rows = session.execute(select(Notice.source, Notice.source_id, Notice.status)).all()
    assert rows == [("hilma", items["hilma"].source_id, "ok")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(["hilma", "ted", "eforms"]))
def test_any_arrival_order_of_the_three_copies_keeps_one_row_from_hilma(
    session_factory: sessionmaker[Session], make_notice: MakeNotice, order: list[str]
) -> None:
    items = copies(make_notice)
    with session_factory() as session:  # rolled back at the end: each example starts empty
        statuses = [store_notice(session, items[source]).status for source in order]
        rows = session.execute(select(Notice.source, Notice.source_id, Notice.publication_number)).all()
        assert rows == [("hilma", items["hilma"].source_id, TED_NUMBER)]
        assert count(session, Tender) == 1
        assert statuses[0] == "new"
        assert statuses.count("updated") == sum(
            1 for i, source in enumerate(order) if i > 0 and all(rank(source) > rank(s) for s in order[:i])
        )
        session.rollback()


def rank(source: str) -> int:
    return {"hilma": 3, "ted": 2, "eforms": 1}[source]
