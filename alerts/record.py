"""After each crawl: match the tenders that are new or changed, and record what each subscriber is to be told.

A tender waits for matching while ``revision > matched_revision`` (the ingest and the
classifier bump the revision). For each waiting tender this records

* an ``Alert(event="new")`` for every subscriber with a matching active search (one
  per subscriber, under their most frequent matching search), and
* an ``Alert(event="update:<notice>")`` for every subscriber who was already told
  about the tender (their "new" alert is in an email) when a later notice changed
  what they care about (deadline, value, documents, status, winners), with the
  changes old → new.

Inserts skip rows that exist (the unique (subscriber, tender, event) constraint), so
running twice, or two matchers at once, records each thing once. Work is done in
batches, each its own transaction, so an interruption keeps what was done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload, sessionmaker

from alerts.matching import SearchFacts, SearchIndex, TenderFacts, effective_category, search_facts
from models.outbox import NEW_EVENT, Alert, Message, update_event
from models.subscriptions import Subscriber, Subscription
from models.tender import Tender, TenderChange

#: The fields whose change reaches those who were told about a tender.
UPDATE_FIELDS = ("title", "deadline", "estimated_value", "documents_url", "status", "winners", "awarded_value")
FREQUENCY_ORDER = {"instant": 0, "daily": 1, "weekly": 2}


@dataclass
class RecordOutcome:
    """What one matching run did."""

    tenders: int = 0
    new: int = 0
    updates: int = 0


def load_index(session: Session) -> SearchIndex:
    """All searches that may receive alerts: confirmed and not stopped, of subscribers not unsubscribed.

    A paused subscriber's searches still match, so nothing is lost while the address is fixed.
    """
    rows = session.scalars(
        select(Subscription)
        .join(Subscriber)
        .where(Subscription.status == "active", Subscriber.status.in_(("active", "paused")))
    )
    return SearchIndex.build(facts_of_search(row) for row in rows)


def facts_of_search(row: Subscription) -> SearchFacts:
    return search_facts(
        id=row.id,
        subscriber_id=row.subscriber_id,
        frequency=row.frequency,
        sectors=row.sectors or [],
        regions=row.regions or [],
        include_nationwide=row.include_nationwide,
        keywords=row.keywords or [],
        excluded=row.excluded_keywords or [],
        cpv_prefixes=row.cpv_prefixes or [],
        value_min=row.value_min,
        value_max=row.value_max,
        categories=row.categories or [],
    )


def facts_of_tender(tender: Tender, now: datetime) -> TenderFacts:
    return TenderFacts(
        id=tender.id,
        sectors=frozenset(row.slug for row in tender.sectors),
        places=frozenset((row.level, row.code) for row in tender.regions),
        nationwide=tender.nationwide,
        cpv=tuple(tender.cpv or ([tender.cpv_main] if tender.cpv_main else [])),
        text="\n".join(filter(None, (tender.title, tender.description))),
        value=tender.estimated_value,
        category=effective_category(tender.status, tender.deadline, now),
    )


def record_alerts(sessions: sessionmaker[Session], *, now: datetime | None = None, batch: int = 500) -> RecordOutcome:
    """Match every tender waiting for matching and record the alerts; see the module docstring."""
    now = now or datetime.now(UTC)
    outcome = RecordOutcome()
    with sessions() as session:
        index = load_index(session)
    while True:
        with sessions() as session, session.begin():
            tenders = list(
                session.scalars(
                    select(Tender)
                    .where(Tender.revision > Tender.matched_revision)
                    .order_by(Tender.id)
                    .limit(batch)
                    .options(selectinload(Tender.regions), selectinload(Tender.sectors))
                )
            )
            if not tenders:
                return outcome
            outcome.new += _record_new(session, index, tenders, now)
            outcome.updates += _record_updates(session, [tender.id for tender in tenders], now)
            for tender in tenders:
                tender.matched_revision = tender.revision
            outcome.tenders += len(tenders)


def _record_new(session: Session, index: SearchIndex, tenders: Iterable[Tender], now: datetime) -> int:
    rows: list[dict[str, Any]] = []
    for tender in tenders:
        chosen: dict[int, SearchFacts] = {}
        for search in index.matches(facts_of_tender(tender, now)):
            best = chosen.get(search.subscriber_id)
            if best is None or (FREQUENCY_ORDER[search.frequency], search.id) < (
                FREQUENCY_ORDER[best.frequency],
                best.id,
            ):
                chosen[search.subscriber_id] = search
        rows += [
            {
                "subscriber_id": subscriber_id,
                "subscription_id": search.id,
                "tender_id": tender.id,
                "event": NEW_EVENT,
                "changes": [],
                "created_at": now,
            }
            for subscriber_id, search in chosen.items()
        ]
    return insert_missing(session, Alert.__table__, rows)


def _record_updates(session: Session, tender_ids: list[int], now: datetime) -> int:
    """Update alerts for subscribers told about these tenders before a later notice changed them."""
    told = session.execute(
        select(Alert.subscriber_id, Alert.subscription_id, Alert.tender_id, Message.created_at)
        .join(Message, Alert.message_id == Message.id)
        .join(Subscription, Alert.subscription_id == Subscription.id)
        .where(Alert.tender_id.in_(tender_ids), Alert.event == NEW_EVENT, Subscription.status == "active")
    ).all()
    if not told:
        return 0
    changes_by_tender: dict[int, list[TenderChange]] = defaultdict(list)
    for change in session.scalars(
        select(TenderChange)
        .where(
            TenderChange.tender_id.in_({row.tender_id for row in told}),
            TenderChange.notice_id.is_not(None),
            TenderChange.field.in_(UPDATE_FIELDS),
        )
        .order_by(TenderChange.id)
    ):
        changes_by_tender[change.tender_id].append(change)
    rows: list[dict[str, Any]] = []
    for subscriber_id, subscription_id, tender_id, told_at in told:
        by_notice: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for change in changes_by_tender.get(tender_id, []):
            if change.recorded_at > told_at and change.notice_id is not None:
                by_notice[change.notice_id].append({"field": change.field, "old": change.old, "new": change.new})
        rows += [
            {
                "subscriber_id": subscriber_id,
                "subscription_id": subscription_id,
                "tender_id": tender_id,
                "event": update_event(notice_id),
                "changes": changes,
                "created_at": now,
            }
            for notice_id, changes in by_notice.items()
        ]
    return insert_missing(session, Alert.__table__, rows)


def insert_missing(session: Session, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those that collide with a unique constraint; the number inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(insert(table).on_conflict_do_nothing(), rows)
    inserted = result.rowcount
    return inserted if inserted is not None and inserted >= 0 else len(rows)
