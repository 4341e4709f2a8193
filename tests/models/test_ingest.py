"""The ingest: from notice items to notices, tenders and recorded changes (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Award, NoticeItem, Organisation
from models.ingest import StoreOutcome, store_failure, store_notice
from models.notice import Buyer, Notice, NoticeRef
from models.tender import Tender, TenderChange

MakeNotice = Callable[..., NoticeItem]

PUBLISHED = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
DEADLINE = datetime(2026, 5, 26, 9, 0, tzinfo=UTC)
MOVED_DEADLINE = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
WINNER = Organisation(name="Siivouspalvelu Puhdas Oy", business_id="2345678-1", town="Forssa", size="small")


def contract_notice(make_notice: MakeNotice, **overrides: Any) -> NoticeItem:
    return make_notice(published_at=PUBLISHED, deadline=DEADLINE, **overrides)


def follow_up(make_notice: MakeNotice, first: NoticeItem, kind: str, days: int, **overrides: Any) -> NoticeItem:
    """A later notice of the same procedure that points at ``first`` (BT-758), with the same texts."""
    values: dict[str, Any] = {
        "kind": kind,
        "procedure_id": first.procedure_id,
        "changed_notice": first.full_notice_id if kind in ("correction", "cancellation") else None,
        "previous_notices": [first.full_notice_id] if kind == "award" else [],
        "published_at": PUBLISHED + timedelta(days=days),
        "deadline": first.deadline,
    }
    values.update(overrides)
    return make_notice(**values)


def changes_of(outcome: StoreOutcome) -> dict[str, tuple[Any, Any]]:
    return {change.field: (change.old, change.new) for change in outcome.changes}


def test_a_first_notice_makes_a_tender_with_its_state_and_no_changes(session: Session, make_notice: MakeNotice) -> None:
    item = contract_notice(make_notice)
    outcome = store_notice(session, item)
    tender = outcome.tender
    assert outcome.status == "new"
    assert tender is not None
    assert (tender.status, tender.kind, tender.deadline) == ("open", "contract_notice", DEADLINE)
    assert tender.title == "Koulujen ja päiväkotien siivouspalvelut"
    assert tender.key == f"procedure:{item.procedure_id}"
    assert tender.buyer is not None and tender.buyer.business_id == "0205303-4"
    assert (tender.estimated_value, tender.currency, tender.cpv) == (Decimal("240000.00"), "EUR", ["90911200"])
    assert tender.first_published_at == tender.last_published_at == PUBLISHED
    assert tender.latest_notice_id == outcome.notice.id
    assert outcome.changes == []
    assert session.scalar(select(func.count()).select_from(TenderChange)) == 0


def test_a_correction_moves_the_deadline_and_records_old_and_new(session: Session, make_notice: MakeNotice) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    correction = follow_up(make_notice, first, "correction", 3, procedure_id=None, deadline=MOVED_DEADLINE)
    outcome = store_notice(session, correction)
    assert outcome.status == "new"
    assert outcome.tender is not None
    assert outcome.tender.deadline == MOVED_DEADLINE
    assert outcome.tender.status == "open"
    assert changes_of(outcome) == {"deadline": ("2026-05-26T09:00:00+00:00", "2026-06-02T09:00:00+00:00")}
    change = outcome.changes[0]
    assert change.notice_id == outcome.notice.id
    assert change.changed_at == correction.published_at


def test_a_cancellation_sets_the_status_cancelled_and_records_it(session: Session, make_notice: MakeNotice) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    outcome = store_notice(session, follow_up(make_notice, first, "cancellation", 5, change_reason="cancel"))
    assert outcome.tender is not None and outcome.tender.status == "cancelled"
    assert changes_of(outcome) == {"status": ("open", "cancelled")}


def test_hilma_marking_the_original_notice_cancelled_cancels_the_tender(
    session: Session, make_notice: MakeNotice
) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    flipped = dataclasses.replace(first, cancelled=True, modified_at=first.published_at + timedelta(days=3))
    outcome = store_notice(session, flipped)
    assert outcome.status == "updated" and outcome.notice.kind == "contract_notice"
    assert outcome.tender is not None and outcome.tender.status == "cancelled"
    assert changes_of(outcome) == {"status": ("open", "cancelled")}


def test_an_award_sets_awarded_with_its_winners_and_keeps_the_deadline(
    session: Session, make_notice: MakeNotice
) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    award = follow_up(
        make_notice,
        first,
        "award",
        40,
        deadline=None,
        awards=[Award(lot_id="LOT-0000", result="selec-w", winner=WINNER, value=Decimal("231500"), currency="EUR")],
        awarded_value=Decimal("231500"),
        awarded_currency="EUR",
    )
    outcome = store_notice(session, award)
    tender = outcome.tender
    assert tender is not None
    assert tender.status == "awarded"
    assert tender.deadline == DEADLINE
    assert tender.winners == [
        {"name": "Siivouspalvelu Puhdas Oy", "business_id": "2345678-1", "town": "Forssa", "size": "small"}
    ]
    assert (tender.awarded_value, tender.awarded_currency) == (Decimal("231500.00"), "EUR")
    recorded = changes_of(outcome)
    assert recorded["status"] == ("open", "awarded")
    assert recorded["winners"] == ([], tender.winners)
    assert recorded["awarded_value"] == (None, "231500.00")
    assert "deadline" not in recorded


def test_an_award_whose_lots_have_no_winner_is_not_awarded(session: Session, make_notice: MakeNotice) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    award = follow_up(
        make_notice, first, "award", 30, deadline=None, awards=[Award(lot_id="LOT-0000", result="clos-nw")]
    )
    outcome = store_notice(session, award)
    assert outcome.tender is not None and outcome.tender.status == "not_awarded"


def test_notices_arriving_out_of_order_end_in_the_same_state(
    session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    first = contract_notice(make_notice)
    correction = follow_up(make_notice, first, "correction", 3, procedure_id=None, deadline=MOVED_DEADLINE)
    award = follow_up(make_notice, first, "award", 40, deadline=None, awards=[Award(winner=WINNER)])
    states = []
    for order in ([first, correction, award], [award, correction, first], [correction, award, first]):
        with session_factory() as session:
            for item in order:
                store_notice(session, item)
            tenders = list(session.scalars(select(Tender)))
            assert len(tenders) == 1
            states.append(comparable_state(tenders[0]))
            session.rollback()
    assert states[0] == states[1] == states[2]
    assert states[0]["status"] == "awarded"
    assert states[0]["deadline"] == MOVED_DEADLINE


def test_the_same_item_twice_is_unchanged_and_writes_nothing(
    session: Session, engine: Engine, make_notice: MakeNotice
) -> None:
    item = contract_notice(make_notice)
    first = store_notice(session, item)
    session.commit()
    with recorded_writes(engine) as writes:
        again = store_notice(session, item)
        session.commit()
    assert again.status == "unchanged"
    assert again.notice.id == first.notice.id
    assert writes == []


def test_a_new_version_of_the_same_source_id_updates_the_row_and_the_tender(
    session: Session, make_notice: MakeNotice
) -> None:
    item = contract_notice(make_notice)
    store_notice(session, item)
    # HILMA flips isCancelled on the same index document.
    flipped = make_notice(**{**vars(item), "kind": "cancellation"})
    outcome = store_notice(session, flipped)
    assert outcome.status == "updated"
    assert session.scalar(select(func.count()).select_from(Notice)) == 1
    assert outcome.tender is not None and outcome.tender.status == "cancelled"
    assert changes_of(outcome) == {"status": ("open", "cancelled")}


def test_an_index_copy_without_the_xml_does_not_replace_the_enriched_version(
    session: Session, make_notice: MakeNotice
) -> None:
    modified = PUBLISHED + timedelta(minutes=1)
    enriched = contract_notice(
        make_notice,
        modified_at=modified,
        descriptions={"fi": "Koko kuvaus eForms-ilmoituksesta."},
        payloads={"hilma-index": b"{}", "eforms": b"<ContractNotice/>"},
    )
    store_notice(session, enriched)
    index_only = dataclasses.replace(
        enriched, descriptions={"fi": "Lyhyt kuvaus hakuindeksistä,"}, payloads={"hilma-index": b"{}"}
    )
    outcome = store_notice(session, index_only)
    assert outcome.status == "unchanged"
    assert outcome.notice.enrichment == "complete"
    assert outcome.tender is not None and outcome.tender.description == "Koko kuvaus eForms-ilmoituksesta."
    modified_since = dataclasses.replace(index_only, kind="cancellation", modified_at=modified + timedelta(days=1))
    outcome = store_notice(session, modified_since)
    assert (outcome.status, outcome.notice.enrichment) == ("updated", "missing")
    assert outcome.tender is not None and outcome.tender.status == "cancelled"


def test_a_notice_found_by_its_previous_notice_joins_that_tender(session: Session, make_notice: MakeNotice) -> None:
    prior = make_notice(kind="prior_information", published_at=PUBLISHED - timedelta(days=60), deadline=None)
    store_notice(session, prior)
    call = contract_notice(make_notice, previous_notices=[prior.hilma_notice_number or ""])
    outcome = store_notice(session, call)
    assert outcome.tender is not None
    assert session.scalar(select(func.count()).select_from(Tender)) == 1
    assert changes_of(outcome)["status"] == ("planned", "open")
    assert outcome.tender.first_published_at == prior.published_at


def test_notices_of_one_hilma_procedure_share_a_tender(session: Session, make_notice: MakeNotice) -> None:
    plan = make_notice(kind="plan", notice_id=None, procedure_id=None, hilma_procedure_id=32400, deadline=None)
    call = contract_notice(make_notice, procedure_id=None, hilma_procedure_id=32400)
    first, second = store_notice(session, plan), store_notice(session, call)
    assert first.tender is second.tender
    assert first.tender is not None and first.tender.key == "hilma-procedure:32400"


def test_a_contract_notice_arriving_last_merges_the_tenders_its_followers_started(
    session: Session, make_notice: MakeNotice
) -> None:
    first = contract_notice(make_notice)
    correction = follow_up(make_notice, first, "correction", 3, procedure_id=None, deadline=MOVED_DEADLINE)
    award = follow_up(
        make_notice, first, "award", 40, previous_notices=[], deadline=None, awards=[Award(winner=WINNER)]
    )
    store_notice(session, correction)
    store_notice(session, award)
    assert session.scalar(select(func.count()).select_from(Tender)) == 2
    outcome = store_notice(session, first)
    assert session.scalar(select(func.count()).select_from(Tender)) == 1
    assert outcome.tender is not None
    assert {notice.source_id for notice in outcome.tender.notices} == {
        first.source_id,
        correction.source_id,
        award.source_id,
    }
    assert (outcome.tender.status, outcome.tender.deadline) == ("awarded", MOVED_DEADLINE)


def test_a_change_of_buyer_is_recorded_by_name_and_business_id(session: Session, make_notice: MakeNotice) -> None:
    first = contract_notice(make_notice)
    store_notice(session, first)
    other_buyer = Organisation(name="Hämeen ammattikorkeakoulu Oy", business_id="2617489-3")
    outcome = store_notice(session, follow_up(make_notice, first, "correction", 2, buyers=[other_buyer]))
    assert changes_of(outcome) == {
        "buyer": (
            {"name": "Koulutuskuntayhtymä Tavastia", "business_id": "0205303-4"},
            {"name": "Hämeen ammattikorkeakoulu Oy", "business_id": "2617489-3"},
        )
    }


def test_buyers_are_one_row_per_business_id_however_it_is_written(session: Session, make_notice: MakeNotice) -> None:
    spellings = [
        Organisation(name="Koulutuskuntayhtymä Tavastia", business_id="0205303-4"),
        Organisation(name="KOULUTUSKUNTAYHTYMÄ TAVASTIA", business_id="FI02053034", street="Hämeenlinnantie 1"),
        Organisation(name="koulutuskuntayhtymä  tavastia"),
    ]
    notices = [store_notice(session, make_notice(buyers=[buyer])).notice for buyer in spellings]
    buyers = list(session.scalars(select(Buyer)))
    assert len(buyers) == 1
    assert {notice.buyer_id for notice in notices} == {buyers[0].id}
    assert (buyers[0].name, buyers[0].business_id, buyers[0].street) == (
        "Koulutuskuntayhtymä Tavastia",
        "0205303-4",
        "Hämeenlinnantie 1",
    )


def test_a_buyer_first_seen_without_business_id_gets_it_later(session: Session, make_notice: MakeNotice) -> None:
    store_notice(session, make_notice(buyers=[Organisation(name="Hattulan kunta")]))
    store_notice(session, make_notice(buyers=[Organisation(name="Hattulan kunta", business_id="0157016-1")]))
    assert session.execute(select(Buyer.name, Buyer.business_id)).all() == [("Hattulan kunta", "0157016-1")]


def test_a_buyers_contact_is_the_latest_a_notice_gave_and_a_notice_without_one_keeps_it(
    session: Session, make_notice: MakeNotice
) -> None:
    def buyer(**contact: str) -> Organisation:
        return Organisation(name="Hattulan kunta", business_id="0157016-1", **contact)

    store_notice(session, make_notice(buyers=[buyer(email="kirjaamo@hattula.example")]))
    store_notice(session, make_notice(buyers=[buyer(website="https://www.hattula.example")]))
    assert session.execute(select(Buyer.email, Buyer.website)).one() == (
        "kirjaamo@hattula.example",
        "https://www.hattula.example",
    )
    store_notice(session, make_notice(buyers=[buyer(email="hankinnat@hattula.example")]))
    store_notice(session, make_notice(buyers=[buyer()]))
    assert session.scalar(select(Buyer.email)) == "hankinnat@hattula.example"


def test_a_prior_information_notices_planned_date_is_stored(session: Session, make_notice: MakeNotice) -> None:
    outcome = store_notice(session, make_notice(kind="prior_information", deadline=None, planned_date="2027-03-01"))
    session.flush()
    assert session.scalar(select(Notice.planned_date).where(Notice.id == outcome.notice.id)) == date(2027, 3, 1)


def test_a_notice_that_failed_to_parse_is_kept_in_quarantine_until_a_good_version_comes(
    session: Session, make_notice: MakeNotice
) -> None:
    broken = {"eforms": b"<ContractNotice><cbc:ID>truncat", "hilma-index": b'{"id": "EF-9"}'}
    quarantined = store_failure(
        session, source="hilma", source_id="EF-9", payloads=broken, error="not well-formed XML:\n line 1"
    )
    assert (quarantined.status, quarantined.error, quarantined.tender_id) == (
        "quarantined",
        "not well-formed XML: line 1",
        None,
    )
    assert quarantined.payloads() == broken
    outcome = store_notice(session, make_notice(source_id="EF-9"))
    assert outcome.status == "new"
    assert outcome.notice.id == quarantined.id
    assert (outcome.notice.status, outcome.notice.error) == ("ok", None)
    assert outcome.tender is not None
    assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_a_failure_never_overwrites_a_good_version(session: Session, make_notice: MakeNotice) -> None:
    item = make_notice()
    store_notice(session, item)
    kept = store_failure(session, source="hilma", source_id=item.source_id, payloads={"x": b"?"}, error="broken")
    assert (kept.status, kept.error) == ("ok", "broken")
    assert kept.payloads() == item.payloads
    assert kept.tender is not None


@pytest.mark.parametrize("cpv_main", ["45000000", None])
def test_payloads_round_trip_compressed(
    session_factory: sessionmaker[Session], make_notice: MakeNotice, cpv_main: str | None
) -> None:
    xml = (
        "<ContractNotice>" + "<cbc:Note>Lumityöt ja hiekoitus Lopella</cbc:Note>" * 200 + "</ContractNotice>"
    ).encode()
    item = make_notice(cpv_main=cpv_main, payloads={"hilma-index": b'{"id": "EF-1"}', "eforms": xml})
    with session_factory() as session:
        notice_id = store_notice(session, item).notice.id
        session.commit()
    with session_factory() as session:
        notice = session.get_one(Notice, notice_id)
        assert notice.payloads() == item.payloads
        assert notice.raw is not None and len(notice.raw) < len(xml) / 10
        assert notice.raw_format == "hilma-index+eforms"
        assert notice.enrichment == "complete"


def test_datetimes_come_back_aware_in_utc(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> None:
    helsinki = datetime.fromisoformat("2026-05-26T12:00:00+03:00")
    with session_factory() as session:
        tender_id = store_notice(session, make_notice(deadline=helsinki)).tender.id  # type: ignore[union-attr]
        session.commit()
    with session_factory() as session:
        deadline = session.get_one(Tender, tender_id).deadline
    assert deadline is not None
    assert deadline.utcoffset() == timedelta(0)
    assert deadline == helsinki
    assert deadline.hour == 9


def test_a_naive_datetime_is_refused(session: Session, make_notice: MakeNotice) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store_notice(session, make_notice(deadline=datetime(2026, 5, 26, 12, 0)))


def comparable_state(tender: Tender) -> dict[str, Any]:
    """A tender's state without what depends on arrival order (row ids)."""
    state = {
        name: getattr(tender, name)
        for name in (
            "title",
            "description",
            "kind",
            "status",
            "deadline",
            "estimated_value",
            "currency",
            "cpv",
            "cpv_main",
            "contract_nature",
            "procedure_type",
            "documents_url",
            "places",
            "winners",
            "awarded_value",
            "awarded_currency",
            "url",
            "first_published_at",
            "last_published_at",
        )
    }
    state["buyer"] = tender.buyer.name if tender.buyer else None
    state["latest_notice"] = tender.latest_notice.source_id if tender.latest_notice else None
    return state


@contextmanager
def recorded_writes(engine: Engine) -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements an engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_new_version_replaces_the_references_the_reverse_lookup_finds(
    session: Session, make_notice: MakeNotice
) -> None:
    """``notice_refs`` follows the notice's own references, also when a version changes them."""
    first = contract_notice(make_notice)
    award = follow_up(make_notice, first, "award", 30, previous_notices=[first.full_notice_id, "2026-000001"])
    store_notice(session, award)

    def indexed(notice_id: int) -> set[str]:
        return set(session.scalars(select(NoticeRef.ref).where(NoticeRef.notice_id == notice_id)))

    stored = session.scalars(select(Notice).where(Notice.source_id == award.source_id)).one()
    assert indexed(stored.id) == {first.full_notice_id, "2026-000001"}
    assert stored.refs and {row.ref for row in stored.refs} == indexed(stored.id)
    fixed = dataclasses.replace(
        award, previous_notices=[first.full_notice_id], modified_at=award.published_at + timedelta(days=1)
    )
    assert store_notice(session, fixed).status == "updated"
    assert indexed(stored.id) == {first.full_notice_id}
    assert {row.ref for row in stored.refs} == {first.full_notice_id}, "a loaded collection is read again"
    outcome = store_notice(session, first)
    assert outcome.tender is not None and outcome.tender is stored.tender, "the award, stored first, finds its tender"


def test_every_column_of_a_new_notice_reaches_the_database(session: Session) -> None:
    """New rows get their values without attribute events: read back, each column is what the item says."""
    from bench.notices import parse, payloads
    from crawler.items import hash_content
    from crawler.store import store_items
    from models.ingest import item_content, row_values

    items = [parse(payload) for payload in payloads(54)]
    outcomes = store_items(session, items)
    session.flush()
    session.expire_all()
    checked = 0
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.status != "new":
            continue
        row = session.get(Notice, outcome.notice.id)
        assert row is not None
        content = item_content(item)
        expected = row_values(item, row.fetched_at, content, hash_content(content))
        assert row.payloads() == item.payloads
        assert row.content_hash == item.content_hash()
        got = {name: getattr(row, name) for name in expected if name != "raw"}
        assert got == {name: value for name, value in expected.items() if name != "raw"}, item.source_id
        checked += 1
    assert checked > 40


def test_a_new_tenders_classification_is_what_save_classification_would_store(session: Session) -> None:
    """The batch writes new tenders' region and sector rows itself; classifying them again changes nothing."""
    from bench.notices import parse, payloads
    from crawler.classification.tenders import classify_tender
    from crawler.store import store_items

    store_items(session, [parse(payload) for payload in payloads(54)])
    session.flush()
    session.expire_all()
    tenders = list(session.scalars(select(Tender).order_by(Tender.id)))
    before = [(t.revision, t.nationwide, t.classification, [(r.level, r.code) for r in t.regions]) for t in tenders]
    assert sum(1 for t in tenders if t.regions) > 20 and any(t.sectors for t in tenders)
    assert all(t.revision >= 2 for t in tenders if t.regions or t.sectors), "a first classification touches it"
    assert not any(classify_tender(session, tender) for tender in tenders)
    session.expire_all()
    after = [(t.revision, t.nationwide, t.classification, [(r.level, r.code) for r in t.regions]) for t in tenders]
    assert after == before
