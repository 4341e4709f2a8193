"""Turning recorded alerts into emails: one per subscriber per run, frozen in the outbox.

Instant emails take the pending alerts of ``instant`` searches; a daily or weekly
digest takes those of its frequency up to the end of its period (a digest run is
built once per period, see :mod:`alerts.digests`). Either way a subscriber gets one
email with a section per saved search, and each alert is put in exactly one email:
the alerts are claimed by setting their ``message_id`` in the same transaction that
stores the message (on PostgreSQL the rows are locked with ``SKIP LOCKED`` so two
composers never claim the same alert).

The subject, both bodies and the headers are stored with the message, so a retry
after a failure sends the same email with the same Message-ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from alerts.links import Links
from alerts.render import (
    AlertEmail,
    Change,
    RenderedEmail,
    SearchSection,
    TenderEntry,
    UpdateEntry,
    render_alert,
    render_confirmation,
    render_manage_link,
)
from config.settings import Settings
from crawler.classification.region_data import RegionData, load_region_data
from crawler.classification.sectors import sector_names, sector_short_names
from models.outbox import NEW_EVENT, Alert, Message
from models.review import StaffPick
from models.subscriptions import Subscriber, Subscription
from models.tender import Tender

_Row = TypeVar("_Row", Subscriber, Subscription)

#: Emails inserted (and their alerts claimed) per flush while composing a run.
STORE_BATCH = 500

#: Digests remind of told tenders that close within this many days.
CLOSING_SOON_DAYS = 7


@dataclass(frozen=True)
class Mailer:
    """What composing needs besides the database: links, sender, time zone, names."""

    links: Links
    mail_from: str
    timezone: ZoneInfo
    sectors: dict[str, str]
    sector_words: dict[str, str]
    regions: RegionData

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(
            links=Links.from_settings(settings),
            mail_from=settings.mail_from,
            timezone=settings.timezone,
            sectors=sector_names(),
            sector_words=sector_short_names(),
            regions=load_region_data(),
        )


# labels and entries -------------------------------------------------------------------------


def search_label(subscription: Subscription, mailer: Mailer) -> str:
    """A saved search in a few words, for subjects and headings: "siivous, Forssan seutu"."""
    parts = [mailer.sector_words.get(slug, slug) for slug in subscription.sectors or []]
    parts += list(subscription.keywords or [])
    parts += [f"CPV {prefix}" for prefix in subscription.cpv_prefixes or []]
    if not parts:
        parts.append("kaikki hankinnat")
    places = [
        mailer.regions.place_name(*text.split(":", 1)).replace(" seutukunta", " seutu")
        for text in subscription.regions or []
    ]
    if places and subscription.include_nationwide:
        places.append("koko maa")
    return ", ".join(parts + places)


def tender_entry(tender: Tender, mailer: Mailer, now: datetime) -> TenderEntry:
    """A tender as an email shows it."""
    by_level: dict[str, list[str]] = defaultdict(list)
    for row in tender.regions:
        by_level[row.level].append(row.code)
    return TenderEntry(
        tender_id=tender.id,
        title=tender.title or "(nimetön hankinta)",
        buyer=tender.buyer.name if tender.buyer is not None else None,
        place=mailer.regions.describe_places(
            by_level["region"], by_level["subregion"], by_level["municipality"], tender.nationwide
        ),
        sectors=[mailer.sectors.get(row.slug, row.slug) for row in tender.sectors],
        status=tender.effective_status(now),
        kind=tender.kind,
        deadline=tender.deadline,
        estimated_value=tender.estimated_value,
        currency=tender.currency,
        notice_url=tender.url,
        documents_url=tender.documents_url,
    )


def _entry_order(entry: TenderEntry) -> tuple[int, datetime, str]:
    """Soonest deadline first; tenders without one after them, by title."""
    far = datetime.max.replace(tzinfo=UTC)
    return (entry.deadline is None, entry.deadline or far, entry.title)


class TenderEntries:
    """Each tender as the emails of one run show it, loaded and built once for all subscribers.

    A digest run tells thousands of subscribers about the same few hundred tenders:
    loading and describing each tender once per run, rather than once per email, is
    most of what composing costs (bench/email_digests.py).
    """

    def __init__(self, session: Session, mailer: Mailer, now: datetime) -> None:
        self.session, self.mailer, self.now = session, mailer, now
        self._entries: dict[int, TenderEntry] = {}

    def load(self, tender_ids: set[int]) -> None:
        """Build the entries of these tenders that are not built yet, in one query."""
        missing = sorted(tender_ids - self._entries.keys())
        for start in range(0, len(missing), 1000):
            self._add(select(Tender).where(Tender.id.in_(missing[start : start + 1000])))

    def closing_soon(self) -> set[int]:
        """The open tenders whose deadline is within :data:`CLOSING_SOON_DAYS`, their entries built."""
        window = (
            select(Tender)
            .where(Tender.status == "open")
            .where(Tender.deadline > self.now, Tender.deadline <= self.now + timedelta(days=CLOSING_SOON_DAYS))
        )
        return {entry.tender_id for entry in self._add(window)}

    def __getitem__(self, tender_id: int) -> TenderEntry:
        if tender_id not in self._entries:
            self.load({tender_id})
        return self._entries[tender_id]

    def _add(self, statement: Select[tuple[Tender]]) -> list[TenderEntry]:
        loads = (selectinload(Tender.regions), selectinload(Tender.sectors), selectinload(Tender.buyer))
        added = []
        for tender in self.session.scalars(statement.options(*loads)):
            entry = self._entries.get(tender.id) or tender_entry(tender, self.mailer, self.now)
            self._entries[tender.id] = entry
            added.append(entry)
        return added


# composing ----------------------------------------------------------------------------------


def compose_alert_messages(
    session: Session,
    mailer: Mailer,
    *,
    kind: str,
    now: datetime,
    created_until: datetime | None = None,
    digest_run_id: int | None = None,
    period: tuple[date, date] | None = None,
) -> int:
    """Build the emails of ``kind`` (instant, daily, weekly) from pending alerts; the number built.

    Only confirmed searches of active subscribers are served; the alerts of paused
    ones wait. ``created_until`` leaves out alerts recorded after a digest period.
    """
    query = (
        select(Alert)
        .join(Subscription, Alert.subscription_id == Subscription.id)
        .join(Subscriber, Alert.subscriber_id == Subscriber.id)
        .where(
            Alert.message_id.is_(None),
            Subscription.frequency == kind,
            Subscription.status == "active",
            Subscriber.status == "active",
        )
        .order_by(Alert.subscriber_id, Alert.id)
        .with_for_update(skip_locked=True, of=Alert)
    )
    if created_until is not None:
        query = query.where(Alert.created_at <= created_until)
    by_subscriber: dict[int, list[Alert]] = defaultdict(list)
    for alert in session.scalars(query):
        by_subscriber[alert.subscriber_id].append(alert)
    picks = _staff_picks(session, digest_run_id) if kind == "weekly" and digest_run_id is not None else []
    pick_entries = _pick_entries(session, mailer, picks, now)
    entries = TenderEntries(session, mailer, now)
    entries.load({alert.tender_id for alerts in by_subscriber.values() for alert in alerts})
    subscribers = _load(session, Subscriber, by_subscriber.keys())
    # Held for the loop: the session's identity map keeps a row only while something refers to it,
    # and each email looks its searches up there (a query per email once they were let go).
    searches = _load(session, Subscription, {a.subscription_id for alerts in by_subscriber.values() for a in alerts})
    reminders = _Reminders.load(session, entries, by_subscriber.keys()) if kind != "instant" else None
    batch: list[tuple[Message, list[Alert]]] = []
    for subscriber_id, alerts in by_subscriber.items():
        message = message_for_subscriber(
            session,
            mailer,
            subscribers[subscriber_id],
            alerts,
            kind=kind,
            now=now,
            digest_run_id=digest_run_id,
            period=period,
            entries=entries,
            reminders=reminders,
            staff_picks=pick_entries,
        )
        batch.append((message, alerts))
        if len(batch) >= STORE_BATCH:
            _store(session, batch)
            batch = []
    _store(session, batch)
    del searches
    if picks and by_subscriber:  # a run that mailed nobody leaves the picks for the next one
        _claim_picks(session, picks, digest_run_id)
    return len(by_subscriber)


def message_for_subscriber(
    session: Session,
    mailer: Mailer,
    subscriber: Subscriber,
    alerts: list[Alert],
    *,
    kind: str,
    now: datetime,
    digest_run_id: int | None = None,
    period: tuple[date, date] | None = None,
    staff_picks: list[TenderEntry] | None = None,
    entries: TenderEntries | None = None,
    reminders: _Reminders | None = None,
) -> Message:
    """One email that tells ``subscriber`` all of ``alerts``, not yet stored (:func:`_store` does that).

    ``entries`` and ``reminders`` are a run's shared caches (:func:`compose_alert_messages`);
    one email alone builds its own.
    """
    if entries is None:
        entries = TenderEntries(session, mailer, now)
        entries.load({alert.tender_id for alert in alerts})
    if reminders is None and kind != "instant":
        reminders = _Reminders.load(session, entries, [subscriber.id])
    by_search: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_search[alert.subscription_id].append(alert)
    sections: list[SearchSection] = []
    for subscription_id in sorted(by_search):
        subscription = session.get_one(Subscription, subscription_id)
        told = by_search[subscription_id]
        new = sorted((entries[a.tender_id] for a in told if a.event == NEW_EVENT), key=_entry_order)
        updates = [
            UpdateEntry(
                tender=entries[a.tender_id],
                changes=[Change(field=c["field"], old=c.get("old"), new=c.get("new")) for c in a.changes or []],
            )
            for a in by_search[subscription_id]
            if a.event != NEW_EVENT
        ]
        sections.append(
            SearchSection(
                label=search_label(subscription, mailer),
                new=new,
                updates=updates,
                unsubscribe_url=mailer.links.unsubscribe([subscription_id]),
            )
        )
    period_start, period_end = period if period is not None else (None, None)
    email = AlertEmail(
        kind=kind,  # type: ignore[arg-type]
        recipient_name=subscriber.name,
        sections=sections,
        closing_soon=reminders.closing_soon(subscriber.id, alerts) if reminders is not None else [],
        period_start=period_start,
        period_end=period_end,
        manage_url=mailer.links.manage(subscriber.id),
        unsubscribe_all_url=mailer.links.unsubscribe_all(subscriber.id),
        staff_picks=list(staff_picks or []),
    )
    rendered = render_alert(email, now=now, timezone=mailer.timezone)
    # One search (the usual case): its own stop link is the email's one-click link, signed once.
    one_click = sections[0].unsubscribe_url if len(sections) == 1 else mailer.links.unsubscribe(sorted(by_search))
    message = new_message(mailer, subscriber, rendered, kind=kind, now=now, one_click=one_click)
    message.digest_run_id = digest_run_id
    return message


def _store(session: Session, batch: list[tuple[Message, list[Alert]]]) -> None:
    """Insert the emails and claim their alerts: two statements per batch rather than two per email."""
    if not batch:
        return
    session.add_all([message for message, _ in batch])
    session.flush()
    for message, alerts in batch:
        for alert in alerts:
            alert.message_id = message.id
    session.flush()


def queue_confirmation(session: Session, mailer: Mailer, subscription: Subscription, *, now: datetime) -> Message:
    """The double opt-in email for a search created from outside."""
    subscriber = subscription.subscriber
    rendered = render_confirmation(
        recipient_name=subscriber.name,
        label=search_label(subscription, mailer),
        frequency=subscription.frequency,
        confirm_url=mailer.links.confirm(subscription.id),
        manage_url=mailer.links.manage(subscriber.id),
        now=now,
        timezone=mailer.timezone,
    )
    message = new_message(mailer, subscriber, rendered, kind="confirmation", now=now, one_click=None)
    session.add(message)
    session.flush()
    return message


def queue_manage_link(session: Session, mailer: Mailer, subscriber: Subscriber, *, now: datetime) -> Message:
    """The manage link a subscriber asked for on the site (``/tilaukseni``).

    Stored as a ``confirmation``: like the double opt-in email it is asked for by the
    person a moment before and goes out whatever the subscriber's status (someone who
    stopped everything may want to start again).
    """
    rendered = render_manage_link(
        recipient_name=subscriber.name, manage_url=mailer.links.manage(subscriber.id), now=now, timezone=mailer.timezone
    )
    message = new_message(mailer, subscriber, rendered, kind="confirmation", now=now, one_click=None)
    session.add(message)
    session.flush()
    return message


def new_message(
    mailer: Mailer, subscriber: Subscriber, rendered: RenderedEmail, *, kind: str, now: datetime, one_click: str | None
) -> Message:
    """A pending outbox row with everything the email needs, headers included."""
    domain = parseaddr(mailer.mail_from)[1].rpartition("@")[2] or "localhost"
    headers = {"Date": format_datetime(now.astimezone(UTC))}
    if one_click is not None:  # RFC 8058: a POST to this address unsubscribes at once
        headers["List-Unsubscribe"] = f"<{one_click}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return Message(
        subscriber_id=subscriber.id,
        kind=kind,
        to_address=subscriber.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=headers,
        message_id_header=make_msgid(idstring=f"hv{kind}", domain=domain),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


@dataclass
class _Reminders:
    """For digests: the told tenders of each subscriber that close within a week."""

    entries: TenderEntries
    soon: set[int]
    told: dict[int, set[int]]

    @classmethod
    def load(cls, session: Session, entries: TenderEntries, subscriber_ids: Iterable[int]) -> _Reminders:
        """The tenders closing soon, and which of them each of these subscribers was told about, in two queries."""
        soon = entries.closing_soon()
        told: dict[int, set[int]] = defaultdict(set)
        wanted = sorted(subscriber_ids)
        for start in range(0, len(wanted) if soon else 0, 1000):
            rows = session.execute(
                select(Alert.subscriber_id, Alert.tender_id).where(
                    Alert.subscriber_id.in_(wanted[start : start + 1000]),
                    Alert.event == NEW_EVENT,
                    Alert.message_id.is_not(None),
                    Alert.tender_id.in_(soon),
                )
            )
            for subscriber_id, tender_id in rows:
                told[subscriber_id].add(tender_id)
        return cls(entries=entries, soon=soon, told=told)

    def closing_soon(self, subscriber_id: int, alerts: list[Alert]) -> list[TenderEntry]:
        """Open tenders this subscriber was told about (or is told now) whose deadline is within a week."""
        now_told = {alert.tender_id for alert in alerts if alert.event == NEW_EVENT}
        ids = (self.told.get(subscriber_id, set()) | now_told) & self.soon
        return sorted((self.entries[tender_id] for tender_id in ids), key=_entry_order)


def _load(session: Session, model: type[_Row], ids: Iterable[int]) -> dict[int, _Row]:
    """Rows by id, a thousand per query, kept in the session for what reads them next."""
    wanted = sorted(set(ids))
    rows: dict[int, _Row] = {}
    for start in range(0, len(wanted), 1000):
        for row in session.scalars(select(model).where(model.id.in_(wanted[start : start + 1000]))):
            rows[row.id] = row
    return rows


def _staff_picks(session: Session, digest_run_id: int) -> list[StaffPick]:
    """The picks this weekly run shows: those waiting, and those it claimed already if it is being continued."""
    return list(
        session.scalars(
            select(StaffPick)
            .where(StaffPick.digest_run_id.is_(None) | (StaffPick.digest_run_id == digest_run_id))
            .order_by(StaffPick.id)
            .with_for_update(of=StaffPick)
        )
    )


def _pick_entries(session: Session, mailer: Mailer, picks: list[StaffPick], now: datetime) -> list[TenderEntry]:
    """Each picked tender once (two staff may pick the same one), soonest deadline first."""
    if not picks:
        return []
    tenders = session.scalars(
        select(Tender)
        .where(Tender.id.in_({pick.tender_id for pick in picks}))
        .options(selectinload(Tender.regions), selectinload(Tender.sectors), selectinload(Tender.buyer))
    )
    return sorted((tender_entry(tender, mailer, now) for tender in tenders), key=_entry_order)


def _claim_picks(session: Session, picks: list[StaffPick], digest_run_id: int | None) -> None:
    """Record that this run showed the picks, so that no later digest shows them again.

    A tender is shown once per run (unique per tender and run), so a second pick of the
    same tender is dropped rather than claimed twice.
    """
    claimed: set[int] = set()
    for pick in picks:
        if pick.tender_id in claimed:
            session.delete(pick)
        else:
            pick.digest_run_id = digest_run_id
            claimed.add(pick.tender_id)
    session.flush()
