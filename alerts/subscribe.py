"""Creating, confirming and stopping saved searches: the rules the command line and the web share.

Input is checked here once, with Finnish messages that say what to write instead
(:class:`~config.errors.InputError`). A search created from outside starts
unconfirmed and queues its confirmation email; only a confirmed search matches.
Stopping keeps the rows (with ``ended_at``) so that a late click on an old email's
link still finds them and answers sensibly; deleting a person's data is the web
issue's "delete all my data", which removes the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alerts.compose import Mailer, queue_confirmation
from alerts.keywords import normalise_keyword
from config.errors import InputError
from models.notice import normalise_business_id
from models.subscriptions import FREQUENCIES, NOTICE_CATEGORIES, Subscriber, Subscription

#: A pragmatic address check: one @, a dot in the domain, no spaces. The confirmation email is the real test.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BUSINESS_ID = re.compile(r"^\d{7}-\d$")
#: Finnish words for lists and summaries (emails and pages say more: ``alerts.render.FREQUENCY_WORDS``).
FREQUENCY_WORDS = {"instant": "heti", "daily": "päivittäin", "weekly": "viikoittain"}
SUBSCRIPTION_STATUS_WORDS = {
    "unconfirmed": "odottaa vahvistusta",
    "active": "voimassa",
    "paused": "tauolla",
    "unsubscribed": "lopetettu",
}


@dataclass
class SearchRequest:
    """A saved search as asked for; :func:`checked_search` validates it."""

    sectors: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # "region:05", "subregion:053", "municipality:061"
    include_nationwide: bool = False
    keywords: list[str] = field(default_factory=list)
    excluded_keywords: list[str] = field(default_factory=list)
    cpv_prefixes: list[str] = field(default_factory=list)
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    categories: list[str] = field(default_factory=lambda: ["upcoming", "call"])
    frequency: str = "instant"


def normalise_email(value: str) -> str:
    """The address as stored: trimmed, lower-case (addresses differing only in case are one person)."""
    address = value.strip().lower()
    if not _EMAIL.match(address) or len(address) > 320:
        raise InputError(f"sähköpostiosoite {value.strip()!r} ei kelpaa: kirjoita muodossa nimi@yritys.fi")
    return address


def checked_business_id(value: str | None) -> str | None:
    """A Y-tunnus with a valid check digit, in the form 1234567-8."""
    if value is None or not value.strip():
        return None
    normalised = normalise_business_id(value) or ""
    if not _BUSINESS_ID.match(normalised) or not _check_digit_ok(normalised):
        raise InputError(f"Y-tunnus {value.strip()!r} ei kelpaa: kirjoita muodossa 1234567-8")
    return normalised


def _check_digit_ok(business_id: str) -> bool:
    digits = [int(char) for char in business_id[:7]]
    remainder = sum(d * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    if remainder == 1:
        return False
    return (0 if remainder == 0 else 11 - remainder) == int(business_id[-1])


def parse_money(value: str | None, what: str) -> Decimal | None:
    """A euro amount typed the Finnish way ("50 000", "1 200,50") or None."""
    if value is None or not value.strip():
        return None
    compact = value.replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        amount = Decimal(compact)
    except InvalidOperation:
        raise InputError(f"{what} {value!r} ei ole euromäärä: kirjoita esim. 50 000") from None
    if not amount.is_finite() or amount < 0:
        raise InputError(f"{what} {value!r} ei ole euromäärä: kirjoita esim. 50 000")
    return amount


def checked_search(request: SearchRequest, *, known_sectors: dict[str, str], known_places: set[str]) -> SearchRequest:
    """The request cleaned (duplicates, empty words dropped) or an InputError naming the bad part."""
    for slug in request.sectors:
        if slug not in known_sectors:
            raise InputError(f"tuntematon toimiala {slug!r}; tunnetut: {', '.join(known_sectors)}")
    for place in request.regions:
        if place not in known_places:
            raise InputError(f"tuntematon alue {place!r}")
    for prefix in request.cpv_prefixes:
        if not prefix.isdigit() or not 2 <= len(prefix) <= 8:
            raise InputError(f"CPV-koodin alku {prefix!r} ei kelpaa: anna 2–8 numeroa, esim. 909 tai 45000000")
    for category in request.categories:
        if category not in NOTICE_CATEGORIES:
            raise InputError(f"tuntematon ilmoitustyyppi {category!r}; tunnetut: {', '.join(NOTICE_CATEGORIES)}")
    if not request.categories:
        raise InputError("valitse ainakin yksi ilmoitustyyppi: tulevat, tarjouspyynnöt tai jälki-ilmoitukset")
    if request.frequency not in FREQUENCIES:
        raise InputError(f"tiheys {request.frequency!r} ei kelpaa: anna instant, daily tai weekly")
    if request.value_min is not None and request.value_max is not None and request.value_min > request.value_max:
        raise InputError("arvon alaraja on suurempi kuin yläraja")

    def words(values: list[str]) -> list[str]:
        return list(dict.fromkeys(word for word in map(normalise_keyword, values) if word))

    return SearchRequest(
        sectors=list(dict.fromkeys(request.sectors)),
        regions=list(dict.fromkeys(request.regions)),
        include_nationwide=request.include_nationwide,
        keywords=words(request.keywords),
        excluded_keywords=words(request.excluded_keywords),
        cpv_prefixes=list(dict.fromkeys(request.cpv_prefixes)),
        value_min=request.value_min,
        value_max=request.value_max,
        categories=[c for c in NOTICE_CATEGORIES if c in request.categories],
        frequency=request.frequency,
    )


def known_places(mailer: Mailer) -> set[str]:
    data = mailer.regions
    return (
        {f"region:{code}" for code in data.maakunta}
        | {f"subregion:{code}" for code in data.subregions}
        | {f"municipality:{code}" for code in data.municipalities}
    )


def subscribe(
    session: Session,
    mailer: Mailer,
    *,
    email: str,
    search: SearchRequest,
    now: datetime,
    name: str | None = None,
    company: str | None = None,
    business_id: str | None = None,
    confirmed: bool = False,
    origin: str = "web",
) -> Subscription:
    """Save a search for ``email`` (the subscriber is created or found); queue its confirmation unless confirmed."""
    address = normalise_email(email)
    search = checked_search(search, known_sectors=mailer.sectors, known_places=known_places(mailer))
    subscriber = session.scalars(select(Subscriber).where(Subscriber.email == address)).first()
    if subscriber is None:
        subscriber = Subscriber(email=address, language="fi", status="active", bounces=0, created_at=now)
        session.add(subscriber)
    subscriber.name = _clean(name) or subscriber.name
    subscriber.company = _clean(company) or subscriber.company
    subscriber.business_id = checked_business_id(business_id) or subscriber.business_id
    subscription = Subscription(
        subscriber=subscriber,
        sectors=search.sectors,
        regions=search.regions,
        include_nationwide=search.include_nationwide,
        keywords=search.keywords,
        excluded_keywords=search.excluded_keywords,
        cpv_prefixes=search.cpv_prefixes,
        value_min=search.value_min,
        value_max=search.value_max,
        categories=search.categories,
        frequency=search.frequency,
        status="active" if confirmed else "unconfirmed",
        origin=origin,
        created_at=now,
        confirmed_at=now if confirmed else None,
    )
    session.add(subscription)
    session.flush()
    if confirmed:
        _reactivate(subscriber)
    else:
        queue_confirmation(session, mailer, subscription, now=now)
    return subscription


def confirm(session: Session, subscription_id: int, *, now: datetime) -> Subscription | None:
    """Confirm a search from its link; None when it no longer exists. Confirming twice is harmless."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        return None
    if subscription.status == "unconfirmed":
        subscription.status = "active"
        subscription.confirmed_at = now
        _reactivate(subscription.subscriber)
    session.flush()
    return subscription


def unsubscribe(session: Session, subscription_ids: list[int], *, now: datetime) -> list[Subscription]:
    """Stop these searches (those that still exist); returns them."""
    stopped = []
    for subscription_id in subscription_ids:
        subscription = session.get(Subscription, subscription_id)
        if subscription is None:
            continue
        if subscription.status != "unsubscribed":
            subscription.status = "unsubscribed"
            subscription.ended_at = now
        stopped.append(subscription)
    session.flush()
    return stopped


def unsubscribe_all(session: Session, subscriber_id: int, *, now: datetime) -> Subscriber | None:
    """Stop every search of a subscriber and the subscriber: no alert email is built for them again."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    unsubscribe(session, [subscription.id for subscription in subscriber.subscriptions], now=now)
    subscriber.status = "unsubscribed"
    subscriber.status_reason = "lopetti kaikki viestit"
    session.flush()
    return subscriber


def search_request(subscription: Subscription) -> SearchRequest:
    """A saved search as a request, so that a form changing some of its parts keeps the others."""
    return SearchRequest(
        sectors=list(subscription.sectors or []),
        regions=list(subscription.regions or []),
        include_nationwide=subscription.include_nationwide,
        keywords=list(subscription.keywords or []),
        excluded_keywords=list(subscription.excluded_keywords or []),
        cpv_prefixes=list(subscription.cpv_prefixes or []),
        value_min=subscription.value_min,
        value_max=subscription.value_max,
        categories=list(subscription.categories or []),
        frequency=subscription.frequency,
    )


def update_search(session: Session, mailer: Mailer, subscription: Subscription, search: SearchRequest) -> Subscription:
    """Change what a saved search asks for; its status stays (a confirmed search needs no new confirmation).

    Only the holder of the manage link edits, and that link came to the confirmed address.
    """
    checked = checked_search(search, known_sectors=mailer.sectors, known_places=known_places(mailer))
    subscription.sectors = checked.sectors
    subscription.regions = checked.regions
    subscription.include_nationwide = checked.include_nationwide
    subscription.keywords = checked.keywords
    subscription.excluded_keywords = checked.excluded_keywords
    subscription.cpv_prefixes = checked.cpv_prefixes
    subscription.value_min = checked.value_min
    subscription.value_max = checked.value_max
    subscription.categories = checked.categories
    subscription.frequency = checked.frequency
    session.flush()
    return subscription


def pause(session: Session, subscription: Subscription) -> bool:
    """Pause an active search (it stops matching, see ``alerts.record.load_index``); False if it was not active."""
    if subscription.status != "active":
        return False
    subscription.status = "paused"
    session.flush()
    return True


def resume(session: Session, subscription: Subscription) -> bool:
    """Resume a paused search; False if it was not paused."""
    if subscription.status != "paused":
        return False
    subscription.status = "active"
    _reactivate(subscription.subscriber)
    session.flush()
    return True


def delete_subscriber(session: Session, subscriber_id: int) -> str | None:
    """Delete a person and everything about them ("poista kaikki tietoni"); the address, or None if already gone.

    The database cascades the delete to their searches, alerts and messages (foreign keys
    ``ON DELETE CASCADE``), so nothing with their address stays behind.
    """
    email = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    if email is None:
        return None
    session.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))
    session.expunge_all()  # objects loaded before the delete no longer exist
    return email


def _reactivate(subscriber: Subscriber) -> None:
    """A person who confirms a new search wants email again, even after stopping everything once."""
    if subscriber.status == "unsubscribed":
        subscriber.status = "active"
        subscriber.status_reason = None


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) if value and value.strip() else None
