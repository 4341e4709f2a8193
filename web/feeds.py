"""Per-search feeds from signed URLs: Atom for new matches, iCalendar for the deadlines of open matches.

A feed URL (:meth:`alerts.links.Links.feed`) carries a signed token with the search's
id, like the links in emails, because feed readers and calendar apps poll it without
logging in. A forged token is a 404; a search that was stopped or deleted is gone (410,
404), so calendars stop showing its deadlines.

* Atom 1.0 (RFC 4287): the search's ``new`` alerts, newest first, 50 at most: what its
  emails told about. ElementTree writes it, so notice text is escaped.
* iCalendar (RFC 5545): one event per tender that the search matches now and that is
  still open (deadline in the future), at the deadline in UTC. Written by hand: CRLF line
  ends, TEXT escaping, lines folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from alerts.compose import Mailer, search_label, tender_entry
from alerts.links import InvalidLinkError
from alerts.matching import SearchIndex
from alerts.record import facts_of_search, facts_of_tender
from alerts.render import format_moment, format_money, safe_url
from models.db import session_scope
from models.outbox import NEW_EVENT, Alert
from models.subscriptions import Subscription
from models.tender import Tender

blueprint = Blueprint("feeds", __name__, url_prefix="/syote")

ATOM = "http://www.w3.org/2005/Atom"
#: The Atom feed lists this many newest matches.
ATOM_LIMIT = 50
#: Open tenders are matched in batches of this many (the index is one search; the rows are the cost).
ICS_BATCH = 1000
ICS_OCTETS = 75


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


def _subscription(session: Session, token: str) -> Subscription:
    """The search the token names: 404 when forged or deleted, 410 when stopped."""
    try:
        subscription_id = _mailer().links.read("feed", token)
    except InvalidLinkError:
        abort(404)
    if not isinstance(subscription_id, int):
        abort(404)
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        abort(404)
    if subscription.status == "unsubscribed":
        abort(410)
    return subscription


def _tender_url(tender_id: int) -> str:
    return f"{_mailer().links.base_url}/hankinnat/{tender_id}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Atom -------------------------------------------------------------------------------------


@blueprint.get("/<token>.atom")
def atom(token: str) -> Response:
    now = datetime.now(UTC)
    mailer = _mailer()
    with _session() as session:
        subscription = _subscription(session, token)
        alerts = session.execute(
            select(Alert, Tender)
            .join(Tender, Tender.id == Alert.tender_id)
            .where(Alert.subscription_id == subscription.id, Alert.event == NEW_EVENT)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(ATOM_LIMIT)
            .options(selectinload(Tender.buyer), selectinload(Tender.regions), selectinload(Tender.sectors))
        ).all()
        feed = ElementTree.Element("feed", xmlns=ATOM)
        _text(feed, "title", f"Hankintavahti: {search_label(subscription, mailer)}")
        _text(feed, "subtitle", "Uudet julkiset hankinnat, jotka vastaavat hakuasi.")
        _text(feed, "id", f"{mailer.links.base_url}/syote/haku-{subscription.id}")
        newest = alerts[0][0].created_at if alerts else subscription.created_at
        _text(feed, "updated", _stamp(newest))
        ElementTree.SubElement(feed, "link", rel="self", href=mailer.links.feed(subscription.id, "atom"))
        ElementTree.SubElement(feed, "link", rel="alternate", type="text/html", href=f"{mailer.links.base_url}/")
        author = ElementTree.SubElement(feed, "author")
        _text(author, "name", "Hankintavahti")
        for alert, tender in alerts:
            _atom_entry(feed, alert, tender, now)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )
    return Response(body, mimetype="application/atom+xml", headers={"Cache-Control": "private, max-age=900"})


def _text(parent: ElementTree.Element, tag: str, text: str, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, **attributes)
    element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry at all (control characters from scraped text)."""
    return "".join(char for char in text if char in "\t\n\r" or (ord(char) >= 0x20 and char not in "\ufffe\uffff"))


def _atom_entry(feed: ElementTree.Element, alert: Alert, tender: Tender, now: datetime) -> None:
    mailer = _mailer()
    entry_facts = tender_entry(tender, mailer, now)
    entry = ElementTree.SubElement(feed, "entry")
    _text(entry, "title", entry_facts.title)
    _text(entry, "id", _tender_url(tender.id))
    ElementTree.SubElement(entry, "link", rel="alternate", type="text/html", href=_tender_url(tender.id))
    _text(entry, "updated", _stamp(alert.created_at))
    if tender.first_published_at is not None:
        _text(entry, "published", _stamp(tender.first_published_at))
    _text(entry, "summary", _summary(tender, entry_facts.buyer, entry_facts.place), type="text")


def _summary(tender: Tender, buyer: str | None, place: str | None) -> str:
    timezone = _mailer().timezone
    lines = [f"Hankkija: {buyer or 'ei tiedossa'}"]
    if place:
        lines.append(f"Alue: {place}")
    if tender.deadline is not None:
        lines.append(f"Määräaika: {format_moment(tender.deadline, timezone)}")
    value = format_money(tender.estimated_value, tender.currency)
    if value:
        lines.append(f"Arvo: {value}")
    return "\n".join(lines)


# --- iCalendar --------------------------------------------------------------------------------


@blueprint.get("/<token>.ics")
def calendar(token: str) -> Response:
    now = datetime.now(UTC)
    mailer = _mailer()
    with _session() as session:
        subscription = _subscription(session, token)
        label = search_label(subscription, mailer)
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Hankintavahti//Maaraajat//FI",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            f"X-WR-CALNAME:{escape_text(f'Hankintavahti: {label}')}",
            "X-WR-TIMEZONE:Europe/Helsinki",
        ]
        for tender in open_matches(session, subscription, now):
            lines += _event(tender, now)
        lines.append("END:VCALENDAR")
    body = "".join(fold(line) + "\r\n" for line in lines)
    return Response(
        body.encode("utf-8"),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="hankintavahti.ics"',
            "Cache-Control": "private, max-age=900",
        },
    )


def open_matches(session: Session, subscription: Subscription, now: datetime) -> list[Tender]:
    """The tenders this search matches now whose deadline is still ahead, soonest first.

    The search's own matcher decides (the same one alerts use), so a search saved today
    already shows the deadlines of tenders published before it.
    """
    index = SearchIndex.build([facts_of_search(subscription)])
    found: list[Tender] = []
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(Tender)
                .where(Tender.deadline > now, Tender.id > last_id)
                .order_by(Tender.id)
                .limit(ICS_BATCH)
                .options(selectinload(Tender.buyer), selectinload(Tender.regions), selectinload(Tender.sectors))
            )
        )
        if not batch:
            break
        found += [tender for tender in batch if index.matches(facts_of_tender(tender, now))]
        last_id = batch[-1].id
    return sorted(found, key=lambda tender: (tender.deadline, tender.id))


def _event(tender: Tender, now: datetime) -> list[str]:
    mailer = _mailer()
    entry = tender_entry(tender, mailer, now)
    url = _tender_url(tender.id)
    host = urlsplit(mailer.links.base_url).hostname or "hankintavahti"
    description = [f"Hankkija: {entry.buyer or 'ei tiedossa'}"]
    if entry.place:
        description.append(f"Alue: {entry.place}")
    description.append(f"Hankinta Hankintavahdissa: {url}")
    notice = safe_url(tender.url)
    if notice:
        description.append(f"Ilmoitus: {notice}")
    assert tender.deadline is not None  # open_matches selects only tenders with a deadline
    return [
        "BEGIN:VEVENT",
        f"UID:hankinta-{tender.id}@{host}",
        f"DTSTAMP:{_ics_moment(now)}",
        f"DTSTART:{_ics_moment(tender.deadline)}",
        f"SUMMARY:{escape_text(f'Määräaika: {entry.title}')}",
        f"URL:{url}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-P2D",
        f"DESCRIPTION:{escape_text(f'Määräaika kahden päivän päästä: {entry.title}')}",
        "END:VALARM",
        "END:VEVENT",
    ]


def _ics_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(text: str) -> str:
    r"""An RFC 5545 TEXT value: backslash, semicolon and comma escaped, line breaks as ``\n``, controls dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return "".join(char for char in text if char == "\t" or (ord(char) >= 0x20 and char != "\x7f"))


def fold(line: str) -> str:
    """A content line folded so that no physical line is longer than 75 octets (RFC 5545 3.1).

    Continuation lines start with a space, which counts toward their 75; a UTF-8 character is never split.
    """
    pieces: list[str] = []
    current = ""
    size = 0
    limit = ICS_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, ICS_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)
