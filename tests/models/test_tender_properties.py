"""Whatever order a tender's notices arrive in, the tender ends the same (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Award, NoticeItem, Organisation
from models.ingest import store_notice
from models.tender import Tender, TenderChange
from models.tender_state import TRACKED_FIELDS

MakeNotice = Callable[..., NoticeItem]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINNERS = [
    Organisation(name="Hämeen Kiinteistöhuolto Oy", business_id="1234567-1", town="Hämeenlinna", size="small"),
    Organisation(name="Valtakunnan Palvelut Oyj", business_id="7654321-0", town="Helsinki", size="large"),
]


@st.composite
def procurements(draw: st.DrawFn, make_notice: MakeNotice) -> list[NoticeItem]:
    """The notices of one procurement, in publication order, linked in the ways real notices are.

    The contract notice carries the procedure id; each later notice is linked to it by the
    procedure id, by the notice it changes (BT-758) or by a previous-notice reference, as
    drawn; the prior information notice is known only through the contract notice's reference.
    """
    days = sorted(draw(st.lists(st.integers(0, 120), min_size=5, max_size=5, unique=True)))
    published = [START + timedelta(days=day, minutes=n) for n, day in enumerate(days)]
    call = make_notice(
        published_at=published[1],
        deadline=published[1] + timedelta(days=draw(st.integers(7, 40))),
        estimated_value=Decimal(draw(st.integers(10_000, 5_000_000))),
    )
    prior = make_notice(kind="prior_information", procedure_id=None, published_at=published[0], deadline=None)
    call.previous_notices = [prior.full_notice_id or ""]

    def later(kind: str, when: datetime, **values: Any) -> NoticeItem:
        link = draw(st.sampled_from(["procedure", "reference", "both"]))
        values["procedure_id"] = call.procedure_id if link != "reference" else None
        if link != "procedure":
            if kind == "award":
                values["previous_notices"] = [call.full_notice_id or ""]
            else:
                values["changed_notice"] = call.full_notice_id
        return make_notice(kind=kind, published_at=when, **values)

    notices = [prior, call]
    notices.append(later("correction", published[2], deadline=published[2] + timedelta(days=draw(st.integers(5, 30)))))
    notices.append(later("correction", published[3], deadline=None, documents_url="https://tarjouspalvelu.fi/uusi"))
    final = draw(st.sampled_from(["award", "not_awarded", "cancellation"]))
    if final == "cancellation":
        notices.append(later("cancellation", published[4], deadline=None))
    else:
        chosen = draw(st.lists(st.sampled_from(WINNERS), min_size=1, max_size=2, unique_by=lambda o: o.business_id))
        awards = [Award(winner=w) for w in chosen] if final == "award" else [Award(result="open-nw")]
        notices.append(later("award", published[4], deadline=None, awards=awards))
    included = draw(st.lists(st.booleans(), min_size=3, max_size=3))
    return [notice for keep, notice in zip([True, True, *included], notices, strict=True) if keep]


def store_all(session: Session, notices: list[NoticeItem]) -> Tender:
    for notice in notices:
        store_notice(session, notice)
    tenders = list(session.scalars(select(Tender)))
    assert len(tenders) == 1, "the notices of one procurement must end in one tender"
    return tenders[0]


def state(tender: Tender) -> dict[str, Any]:
    names = [name for name in TRACKED_FIELDS if name != "buyer"]
    names += ["kind", "cpv_main", "places", "awarded_currency", "url", "first_published_at", "last_published_at"]
    values = {name: getattr(tender, name) for name in names}
    values["buyer"] = tender.buyer.name if tender.buyer else None
    values["latest_notice"] = tender.latest_notice.source_id if tender.latest_notice else None
    return values


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_arrival_order_of_a_tenders_notices_ends_in_the_same_state(
    session_factory: sessionmaker[Session], make_notice: MakeNotice, data: st.DataObject
) -> None:
    in_order = data.draw(procurements(make_notice), label="notices")
    arrival = data.draw(st.permutations(in_order), label="arrival")
    results = []
    for notices in (in_order, arrival):
        with session_factory() as session:  # rolled back: each run starts from an empty database
            tender = store_all(session, notices)
            results.append(state(tender))
            if notices is in_order:
                assert_changes_replay_the_history(session, tender, in_order)
            session.rollback()
    assert results[0] == results[1]
    last = in_order[-1]
    expected_status = {
        "prior_information": "planned",
        "contract_notice": "open",
        "correction": "open",
        "cancellation": "cancelled",
    }.get(last.kind, "awarded" if last.winners else "not_awarded")
    assert results[0]["status"] == expected_status
    assert results[0]["deadline"] == [n.deadline for n in in_order if n.deadline][-1]
    assert results[0]["latest_notice"] == last.source_id


def assert_changes_replay_the_history(session: Session, tender: Tender, notices: list[NoticeItem]) -> None:
    """Stored in order, each recorded change leads from the previous value to the next, ending at the state."""
    changes = session.scalars(
        select(TenderChange).where(TenderChange.tender_id == tender.id).order_by(TenderChange.id)
    ).all()
    assert {change.changed_at for change in changes} <= {n.published_at for n in notices[1:]}
    by_field: dict[str, list[TenderChange]] = {}
    for change in changes:
        by_field.setdefault(change.field, []).append(change)
    for history in by_field.values():
        for before, after in itertools.pairwise(history):
            assert before.new == after.old
    if "status" in by_field:
        assert by_field["status"][-1].new == tender.status
