"""Alert and confirmation emails in Finnish: a subject, a plain-text part and an HTML part with inlined CSS.

The readers are one-person firms in Kanta-Häme reading on a phone, so every phrase is
written the way a Finnish copywriter would write it (partitive after numbers, weekday
and "klo" in dates, days left instead of a bare date) and the HTML is one narrow column
with big links. The wording lives here, in small functions that the tests pin down;
the templates in ``alerts/templates`` only lay the prepared phrases out, once as HTML and
once as plain text, so the two parts can never say different things.

Everything about a tender comes from the internet: titles and buyers are escaped by
Jinja's autoescape, whitespace and control characters are folded away (a subject must
stay on one line), and only ``http``/``https`` addresses ever become links.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import css_inline
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from crawler.classification.sectors import cpv_label

#: The longest subject we write; phone inboxes show about half of it, so the count comes first.
SUBJECT_LIMIT = 110
#: A tender title in the subject of a single-change alert is clipped to this.
SUBJECT_TITLE_LIMIT = 60
#: More than this many new tenders per search is a list nobody reads on a phone;
#: the rest is one "ja 12 muuta" line (GOST's digest caps at 30 as well, PEERS.md §3.1).
MAX_TENDERS_PER_SECTION = 30
#: Tender cards in one email, changes included (they are never dropped). A card is about
#: 1.4 kB of inlined HTML, and Gmail clips a message over 102 kB, hiding the footer with
#: the stop links: 60 cards stay near 90 kB.
MAX_TENDERS_PER_EMAIL = 60
#: Old and new values of a change are clipped to this, a description shorter still.
CHANGE_VALUE_LIMIT = 300
DESCRIPTION_LIMIT = 200

SENDER_LINE = "Hankintavahti – Hämeen julkiset hankinnat yrittäjille"
NOT_GIVEN = "ei ilmoitettu"
UNTITLED = "Nimetön hankinta"
OTHER_SECTOR = "Muut hankinnat"

#: Tender kinds that are a call for tenders one can answer; the rest (plans, prior
#: information, awards, cancellations) are "hankintailmoitus" in an alert's subject.
CALL_FOR_TENDERS_KINDS = frozenset({"contract_notice", "correction"})

STATUS_WORDS: dict[str, str] = {
    "planned": "ennakkotieto",
    "open": "avoin",
    "closed": "tarjousaika päättynyt",
    "cancelled": "keskeytetty",
    "awarded": "ratkaistu",
    "not_awarded": "päättyi ilman sopimusta",
}

FIELD_WORDS: dict[str, str] = {
    "deadline": "Määräaika",
    "estimated_value": "Arvioitu arvo",
    "currency": "Valuutta",
    "documents_url": "Hankinta-asiakirjat",
    "status": "Tila",
    "title": "Otsikko",
    "winners": "Voittaja",
    "awarded_value": "Sopimuksen arvo",
    "description": "Kuvaus",
    "cpv": "CPV-koodit",
    "buyer": "Hankintayksikkö",
    "procedure_type": "Menettely",
    "contract_nature": "Hankintalaji",
}

#: eForms BT-105 procedure codes (HILMA and TED use the same list).
PROCEDURE_WORDS: dict[str, str] = {
    "open": "avoin menettely",
    "restricted": "rajoitettu menettely",
    "neg-w-call": "neuvottelumenettely",
    "neg-wo-call": "suorahankinta",
    "comp-dial": "kilpailullinen neuvottelumenettely",
    "innovation": "innovaatiokumppanuus",
    "oth-single": "muu yksivaiheinen menettely",
    "oth-mult": "muu monivaiheinen menettely",
}

#: eForms BT-23 contract nature.
NATURE_WORDS: dict[str, str] = {
    "works": "rakennusurakka",
    "supplies": "tavarahankinta",
    "services": "palveluhankinta",
    "combined": "yhdistelmähankinta",
}

#: What the confirmation email promises, by subscription frequency.
FREQUENCY_WORDS: dict[str, str] = {
    "instant": "heti kun uusia löytyy",
    "daily": "päivittäin klo 7",
    "weekly": "maanantaisin klo 7",
}

#: Minified declarations keep a 30-tender digest well under the 102 kB where Gmail clips a message
#: (and hides the unsubscribe links with it); nothing is ever fetched from the network.
_INLINER = css_inline.CSSInliner(minify_css=True, load_remote_stylesheets=False)

_SAFE_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


# --- the public shapes ------------------------------------------------------------------


@dataclass(frozen=True)
class TenderEntry:
    """One tender as an alert shows it; places and sectors are already in Finnish."""

    tender_id: int
    title: str
    buyer: str | None
    place: str
    sectors: list[str]
    status: str
    kind: str
    deadline: datetime | None
    estimated_value: Decimal | None
    currency: str | None
    notice_url: str | None
    documents_url: str | None


@dataclass(frozen=True)
class Change:
    """One tracked field of a tender that changed, with JSON-safe values as stored."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class UpdateEntry:
    """A tender the subscriber was told about earlier, in its current state, and what changed."""

    tender: TenderEntry
    changes: list[Change]


@dataclass(frozen=True)
class SearchSection:
    """What one saved search brings in this email."""

    label: str
    new: list[TenderEntry]
    updates: list[UpdateEntry]
    unsubscribe_url: str


@dataclass(frozen=True)
class AlertEmail:
    """One email to one subscriber: an instant alert or a daily or weekly digest.

    ``period_start`` and ``period_end`` are Helsinki dates, both included
    (Monday 16.11. to Sunday 22.11. for a week).
    """

    kind: Literal["instant", "daily", "weekly"]
    recipient_name: str | None
    sections: list[SearchSection]
    closing_soon: list[TenderEntry]
    period_start: date | None
    period_end: date | None
    manage_url: str
    unsubscribe_all_url: str
    #: Tenders staff picked for everyone (weekly digests only), shown after the matches.
    staff_picks: list[TenderEntry] = field(default_factory=list)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


# --- what the templates get ---------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    label: str
    url: str


@dataclass(frozen=True)
class _TenderView:
    title: str
    url: str | None
    details: list[str]
    status_line: str | None
    urgent: bool
    value_line: str | None
    links: list[_Link]


@dataclass(frozen=True)
class _ChangeLine:
    """Either a sentence ("Hankinta on keskeytetty.") or "what: old → new".

    A changed address is a sentence without the address: the card below it links the
    tender's current documents, and a second link to the same place is only noise.
    """

    sentence: str | None
    what: str
    old: str
    new: str


@dataclass(frozen=True)
class _UpdateView:
    tender: _TenderView
    lines: list[_ChangeLine]


@dataclass(frozen=True)
class _Group:
    heading: str | None
    tenders: list[_TenderView]


@dataclass(frozen=True)
class _SectionView:
    label: str
    groups: list[_Group]
    more: str | None
    more_url: str
    updates: list[_UpdateView]
    unsubscribe: _Link


# --- public functions ---------------------------------------------------------------------


def render_alert(email: AlertEmail, *, now: datetime, timezone: ZoneInfo) -> RenderedEmail:
    """The subject, text and HTML of an instant alert or a digest, as of ``now`` in ``timezone``."""
    now = _aware(now)
    subject = alert_subject(email)
    digest = email.kind != "instant"
    limits, soon_limit = tender_limits(email)
    sections = [
        _section_view(section, email, limit=limit, digest=digest, now=now, timezone=timezone)
        for section, limit in zip(email.sections, limits, strict=True)
    ]
    shown_soon = email.closing_soon[:soon_limit]
    hidden_soon = len(email.closing_soon) - len(shown_soon)
    context = {
        "subject": subject,
        "preheader": _preheader(email),
        "greeting": _greeting(email.recipient_name),
        "intro": _intro(email),
        "sections": sections,
        "staff_picks": [
            _tender_view(entry, now=now, timezone=timezone) for entry in email.staff_picks[:MAX_TENDERS_PER_SECTION]
        ],
        "closing_soon": [_tender_view(entry, now=now, timezone=timezone) for entry in shown_soon],
        "closing_soon_more": _more_line(hidden_soon, shown=len(shown_soon)) if hidden_soon else None,
        "reason": _reason(email.sections),
        "manage_url": email.manage_url,
        "unsubscribe_all_url": email.unsubscribe_all_url,
        "sender": SENDER_LINE,
    }
    return RenderedEmail(
        subject=subject,
        text=_render_text("alert.txt", context),
        html=_render_html("alert.html", context),
    )


def render_confirmation(
    *,
    recipient_name: str | None,
    label: str,
    frequency: str,
    confirm_url: str,
    manage_url: str,
    now: datetime,
    timezone: ZoneInfo,
) -> RenderedEmail:
    """The double opt-in email: what was ordered, one button to confirm, and that ignoring it is enough."""
    if frequency not in FREQUENCY_WORDS:
        raise ValueError(f"unknown frequency {frequency!r}; expected one of {sorted(FREQUENCY_WORDS)}")
    subject = "Vahvista Hankintavahdin tilaus"
    context = {
        "subject": subject,
        "preheader": "Vahvista tilaus yhdellä napautuksella – ennen sitä emme lähetä mitään.",
        "greeting": _greeting(recipient_name),
        "label": _clean(label),
        "frequency": FREQUENCY_WORDS[frequency],
        "ordered_at": format_moment(_aware(now), timezone),
        "confirm_url": confirm_url,
        "manage_url": manage_url,
        "sender": SENDER_LINE,
    }
    return RenderedEmail(
        subject=subject,
        text=_render_text("confirmation.txt", context),
        html=_render_html("confirmation.html", context),
    )


def render_manage_link(
    *, recipient_name: str | None, manage_url: str, now: datetime, timezone: ZoneInfo
) -> RenderedEmail:
    """The email a subscriber asked for on the site: the link to their manage page, and that ignoring it is safe."""
    subject = "Linkki Hankintavahdin hakujesi hallintaan"
    context = {
        "subject": subject,
        "preheader": "Tästä pääset muokkaamaan ja lopettamaan hakujasi.",
        "greeting": _greeting(recipient_name),
        "manage_url": manage_url,
        "requested_at": format_moment(_aware(now), timezone),
        "sender": SENDER_LINE,
    }
    return RenderedEmail(
        subject=subject,
        text=_render_text("manage_link.txt", context),
        html=_render_html("manage_link.html", context),
    )


def describe_change(change: Change, *, timezone: ZoneInfo, currency: str | None = None) -> tuple[str, str, str]:
    """(what, old, new) in Finnish words, e.g. ("Määräaika", "pe 4.12.2026 klo 12.00", "ma 14.12.2026 klo 12.00").

    Values are the JSON-safe ones the change log stores, so each is read back first; a
    value that cannot be read is shown as it is rather than dropped. Money is shown in
    ``currency`` (the tender's), euros when not given.
    """
    what = FIELD_WORDS.get(change.field, _clean(change.field) or NOT_GIVEN)
    if change.field == "winners" and (_count_of(change.old) > 1 or _count_of(change.new) > 1):
        what = "Voittajat"
    old, new = change.old, change.new
    if change.field == "buyer" and _buyer_name(old) == _buyer_name(new):
        return what, _buyer_words(old, with_id=True), _buyer_words(new, with_id=True)
    limit = DESCRIPTION_LIMIT if change.field == "description" else CHANGE_VALUE_LIMIT
    return (
        what,
        clip(_value_words(change.field, old, timezone=timezone, currency=currency), limit),
        clip(_value_words(change.field, new, timezone=timezone, currency=currency), limit),
    )


def tender_limits(email: AlertEmail) -> tuple[list[int], int]:
    """How many new tenders each section shows, and how many closing-soon tenders, within the email's budget.

    Changes are always shown and spend the budget first; then the sections in order, at
    most :data:`MAX_TENDERS_PER_SECTION` each; the closing-soon list gets what is left.
    """
    budget = MAX_TENDERS_PER_EMAIL - sum(len(section.updates) for section in email.sections)
    limits = []
    for section in email.sections:
        limit = max(0, min(MAX_TENDERS_PER_SECTION, len(section.new), budget))
        limits.append(limit)
        budget -= limit
    return limits, max(0, min(MAX_TENDERS_PER_SECTION, len(email.closing_soon), budget))


def alert_subject(email: AlertEmail) -> str:
    """The subject: the count first, then what it is about; never over :data:`SUBJECT_LIMIT`."""
    new = _distinct(entry for section in email.sections for entry in section.new)
    updates = _distinct(update.tender for section in email.sections for update in section.updates)
    if email.kind == "instant":
        return _instant_subject(email.sections, new, updates)
    return _digest_subject(email, new, updates)


# --- Finnish phrases ------------------------------------------------------------------------


def count_phrase(number: int, singular: str, partitive: str) -> str:
    """Finnish takes the partitive after any number but one: "1 uusi tarjouspyyntö", "3 uutta tarjouspyyntöä"."""
    return f"{number} {singular if number == 1 else partitive}"


def new_items_phrase(number: int, entries: Sequence[TenderEntry], *, digest: bool) -> str:
    """How many new items, named as precisely as the items allow."""
    if all(entry.kind in CALL_FOR_TENDERS_KINDS for entry in entries):
        return count_phrase(number, "uusi tarjouspyyntö", "uutta tarjouspyyntöä")
    if digest:
        return count_phrase(number, "uusi hankinta", "uutta hankintaa")
    return count_phrase(number, "uusi hankintailmoitus", "uutta hankintailmoitusta")


def format_count(number: int) -> str:
    """A count as Finns write it, digits grouped by a no-break space: "32 859"."""
    return format_decimal(number, locale="fi_FI")


def format_moment(moment: datetime, timezone: ZoneInfo) -> str:
    """A moment as Finns write it, in ``timezone``: "pe 4.12.2026 klo 12.00"."""
    local = _local(moment, timezone)
    try:
        return format_datetime(local, "EEE d.M.yyyy 'klo' H.mm", locale="fi")
    except (ValueError, OverflowError):
        return local.isoformat()


def format_money(value: Decimal | int | float | str | None, currency: str | None = None) -> str | None:
    """Money as Finns write it, whole euros without ",00": "240 000 €", "240 000,50 €".

    None when there is no finite amount, so that a card simply leaves the line out.
    """
    amount = _decimal(value)
    if amount is None:
        return None
    code = (_clean(currency) or "EUR").upper()
    try:
        if amount == amount.to_integral_value():
            return format_currency(amount, code, format="#,##0\xa0¤", currency_digits=False, locale="fi_FI")
        return format_currency(amount, code, locale="fi_FI")
    except (ArithmeticError, ValueError):
        return f"{amount} {code}"


def format_period(start: date, end: date) -> str:
    """Dates with month and year written once when shared: "16.–22.11.2026", "30.11.–6.12.2026"."""
    if start == end:
        return f"{start.day}.{start.month}.{start.year}"
    if start.year != end.year:
        return f"{start.day}.{start.month}.{start.year}–{end.day}.{end.month}.{end.year}"
    if start.month != end.month:
        return f"{start.day}.{start.month}.–{end.day}.{end.month}.{end.year}"
    return f"{start.day}.–{end.day}.{end.month}.{end.year}"


def deadline_line(entry: TenderEntry, *, now: datetime, timezone: ZoneInfo) -> tuple[str, bool]:
    """The tender's state in one line, and whether it is urgent (today or tomorrow).

    Days are counted in Helsinki dates, not in 24-hour steps: a deadline at noon
    tomorrow is "huomenna" at 23.59 tonight. A deadline at exactly midnight belongs to
    the day before, because that evening is the last moment to submit.
    """
    if entry.status == "cancelled":
        return "Hankinta on keskeytetty.", False
    if entry.status == "awarded":
        return "Hankinta on ratkaistu.", False
    if entry.status == "not_awarded":
        return "Hankinta päättyi ilman sopimusta.", False
    if entry.status == "planned":
        return "Ennakkotieto – tarjouspyyntö tulossa", False
    if entry.deadline is None:
        return ("Tarjousaika on päättynyt." if entry.status == "closed" else "Ei määräaikaa"), False
    deadline = _aware(entry.deadline)
    when = format_moment(deadline, timezone)
    if deadline <= _aware(now):
        return f"Määräaika on mennyt ({when})", False
    days = days_left(deadline, now=now, timezone=timezone)
    if days <= 0:
        return f"Määräaika {when} – tänään on viimeinen päivä", True
    if days == 1:
        return f"Määräaika {when} – viimeinen päivä on huomenna", True
    return f"Määräaika {when} – {days} päivää aikaa", False


def days_left(deadline: datetime, *, now: datetime, timezone: ZoneInfo) -> int:
    """Whole days from today to the last day one can submit, both in ``timezone``."""
    local_deadline = _local(deadline, timezone)
    last_day = local_deadline.date()
    if local_deadline.time() == time(0) and last_day > date.min:
        last_day -= timedelta(days=1)
    return (last_day - _local(now, timezone).date()).days


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,.;:–-") + "…"


# --- subjects --------------------------------------------------------------------------------


def _instant_subject(sections: list[SearchSection], new: list[TenderEntry], updates: list[TenderEntry]) -> str:
    if not new and len(updates) == 1:
        return "Muutos seuraamaasi hankintaan: " + clip(_title(updates[0].title), SUBJECT_TITLE_LIMIT)
    if not new and updates:
        return count_phrase(len(updates), "muutos seuraamaasi hankintaan", "muutosta seuraamiisi hankintoihin")
    if new:
        head = new_items_phrase(len(new), new, digest=False)
        if updates:
            head += " ja " + count_phrase(len(updates), "muutos", "muutosta")
    else:
        head = "Hankintavahti"
    label = _clean(sections[0].label) if sections else ""
    others = len(sections) - 1
    tail = " ja " + count_phrase(others, "muu haku", "muuta hakua") if others > 0 else ""
    if not label:
        return clip(head + tail, SUBJECT_LIMIT)
    room = SUBJECT_LIMIT - len(head) - len(": ") - len(tail)
    return f"{head}: {clip(label, max(room, 10))}{tail}"


def _digest_subject(email: AlertEmail, new: list[TenderEntry], updates: list[TenderEntry]) -> str:
    name = "Viikkokooste" if email.kind == "weekly" else "Päiväkooste"
    start, end = email.period_start or email.period_end, email.period_end or email.period_start
    if start is not None and end is not None:
        name += " " + format_period(start, end)
    if new:
        counts = new_items_phrase(len(new), new, digest=True)
        if updates:
            counts += " ja " + count_phrase(len(updates), "muutos", "muutosta")
    elif updates:
        counts = count_phrase(len(updates), "muutos seuraamaasi hankintaan", "muutosta seuraamiisi hankintoihin")
    else:
        return name
    return clip(f"{name}: {counts}", SUBJECT_LIMIT)


# --- body pieces -----------------------------------------------------------------------------


def _greeting(name: str | None) -> str:
    name = _clean(name)
    return f"Hei {name}," if name else "Hei,"


def _intro(email: AlertEmail) -> str:
    """One sentence that says what this email is."""
    new = _distinct(entry for section in email.sections for entry in section.new)
    updates = _distinct(update.tender for section in email.sections for update in section.updates)
    searches = "hakuihisi" if len(email.sections) > 1 else "hakuusi"
    changed = (
        "hankintaan, josta kerroimme sinulle aiemmin,"
        if len(updates) == 1
        else "hankintoihin, joista kerroimme sinulle aiemmin,"
    )
    if email.kind != "instant":
        start, end = email.period_start or email.period_end, email.period_end or email.period_start
        when = ""
        if start is not None and end is not None:
            when = (" päivältä " if start == end else " ajalta ") + format_period(start, end)
        if not new:
            return f"Tässä ovat{when} muutokset hankintoihin, joista kerroimme sinulle aiemmin."
        sentence = f"Tässä ovat {searches} sopivat uudet hankinnat{when}."
    elif not new:
        return f"{changed.capitalize()} on tullut muutoksia."
    else:
        found = new_items_phrase(len(new), new, digest=False)
        sentence = f"{searches.capitalize()} löytyi {found.removeprefix('1 ') if len(new) == 1 else found}."
    if updates:
        sentence += f" Lisäksi {changed} on tullut muutoksia."
    return sentence


def _reason(sections: list[SearchSection]) -> str:
    labels = [f"”{_clean(section.label)}”" for section in sections if _clean(section.label)]
    if not labels:
        return "Saat tämän viestin, koska tilasit Hankintavahdista hakuvahdin."
    if len(labels) == 1:
        return f"Saat tämän viestin, koska tilasit Hankintavahdista haun {labels[0]}."
    return f"Saat tämän viestin, koska tilasit Hankintavahdista haut {_join_words(labels)}."


def _preheader(email: AlertEmail) -> str:
    """The line a phone's inbox shows under the subject: the first new title, or the first change."""
    for section in email.sections:
        if section.new:
            entry = section.new[0]
            return clip(" – ".join(filter(None, [_title(entry.title), _clean(entry.buyer)])), 120)
    for section in email.sections:
        for update in section.updates:
            return clip(_title(update.tender.title), 120)
    return SENDER_LINE


def _section_view(
    section: SearchSection, email: AlertEmail, *, limit: int, digest: bool, now: datetime, timezone: ZoneInfo
) -> _SectionView:
    shown = section.new[:limit]
    hidden = len(section.new) - len(shown)
    views = [(entry, _tender_view(entry, now=now, timezone=timezone)) for entry in shown]
    groups = _by_sector(views) if digest else [_Group(None, [view for _, view in views])]
    several = len(email.sections) > 1
    label = _clean(section.label)
    stop = f"Lopeta haun ”{label}” viestit" if several and label else "Lopeta tämän haun viestit"
    return _SectionView(
        label=label or "Hakusi",
        groups=[group for group in groups if group.tenders],
        more=_more_line(hidden, shown=len(shown)) if hidden else None,
        more_url=email.manage_url,
        updates=[_update_view(update, timezone=timezone) for update in section.updates],
        unsubscribe=_Link(stop, section.unsubscribe_url),
    )


def _more_line(hidden: int, *, shown: int) -> str:
    """What was left out: "ja 12 muuta" after a list, "12 hankintaa" when the email had no room to list any."""
    if shown == 0:
        return count_phrase(hidden, "hankinta", "hankintaa")
    return f"ja {hidden} {'muu' if hidden == 1 else 'muuta'}"


def _by_sector(views: list[tuple[TenderEntry, _TenderView]]) -> list[_Group]:
    """Digest tenders under their main sector, in the order the sectors first appear; the unsectored last."""
    grouped: dict[str, list[_TenderView]] = {}
    rest: list[_TenderView] = []
    for entry, view in views:
        sector = _clean(entry.sectors[0]) if entry.sectors else ""
        if sector:
            grouped.setdefault(sector, []).append(view)
        else:
            rest.append(view)
    groups = [_Group(f"{sector} ({len(items)})", items) for sector, items in grouped.items()]
    if rest:
        groups.append(_Group(f"{OTHER_SECTOR} ({len(rest)})", rest))
    return groups


#: Cards already built, by the entry's identity: a digest run shows the same few hundred tenders
#: (one shared :class:`TenderEntry` each) to thousands of subscribers, so each card is built once
#: per run. An entry is kept with its card, so its id is not reused while it is here.
_VIEWS: dict[int, tuple[TenderEntry, datetime, ZoneInfo, _TenderView]] = {}
_VIEWS_LIMIT = 4096


def _tender_view(entry: TenderEntry, *, now: datetime, timezone: ZoneInfo) -> _TenderView:
    """The card of one tender as of ``now``; the same card again for the same entry, moment and time zone."""
    cached = _VIEWS.get(id(entry))
    if cached is not None and cached[0] is entry and cached[1] == now and cached[2] == timezone:
        return cached[3]
    view = _new_tender_view(entry, now=now, timezone=timezone)
    if len(_VIEWS) >= _VIEWS_LIMIT:
        _VIEWS.clear()
    _VIEWS[id(entry)] = (entry, now, timezone, view)
    return view


def _new_tender_view(entry: TenderEntry, *, now: datetime, timezone: ZoneInfo) -> _TenderView:
    status, urgent = deadline_line(entry, now=now, timezone=timezone)
    value = format_money(entry.estimated_value, entry.currency)
    sectors = ", ".join(filter(None, (_clean(sector) for sector in entry.sectors)))
    return _TenderView(
        title=_title(entry.title),
        url=safe_url(entry.notice_url),
        details=[line for line in (_buyer_and_place(entry), sectors) if line],
        status_line=status,
        urgent=urgent,
        value_line=f"Arvioitu arvo {value}" if value else None,
        links=_links(entry),
    )


def _update_view(update: UpdateEntry, *, timezone: ZoneInfo) -> _UpdateView:
    entry = update.tender
    view = _TenderView(
        title=_title(entry.title),
        url=safe_url(entry.notice_url),
        details=[line for line in (_buyer_and_place(entry),) if line],
        status_line=None,
        urgent=False,
        value_line=None,
        links=_links(entry),
    )
    return _UpdateView(view, _change_lines(update.changes, timezone=timezone, currency=entry.currency))


def _change_lines(changes: Iterable[Change], *, timezone: ZoneInfo, currency: str | None = None) -> list[_ChangeLine]:
    """The changes of one tender as lines: the outcome (keskeytetty, ratkaistu) first, in plain sentences."""
    changes = list(changes)
    winners = next((change for change in changes if change.field == "winners"), None)
    status = next((change for change in changes if change.field == "status"), None)
    lines: list[_ChangeLine] = []
    sentence, merged_winners = (None, False)
    if status is not None:
        sentence, merged_winners = _status_sentence(status, winners)
        if sentence is not None:
            lines.append(_ChangeLine(sentence, *describe_change(status, timezone=timezone)))
    for change in changes:
        if (change is status and sentence is not None) or (change is winners and merged_winners):
            continue
        lines.append(_change_line(change, timezone=timezone, currency=currency))
    return lines


def _status_sentence(status: Change, winners: Change | None) -> tuple[str | None, bool]:
    """A sentence for a status change, and whether it already names the winners."""
    if status.new == "cancelled":
        return "Hankinta on keskeytetty.", False
    if status.new == "not_awarded":
        return "Hankinta päättyi ilman sopimusta.", False
    if status.new == "closed":
        return "Tarjousaika on päättynyt.", False
    if status.new == "open" and status.old == "planned":
        return "Tarjouspyyntö on julkaistu.", False
    if status.new == "awarded":
        names = _winner_names(winners.new) if winners is not None else []
        if not names:
            return "Hankinta on ratkaistu.", winners is not None and not winners.new
        word = "voittaja" if len(names) == 1 else "voittajat"
        return f"Hankinta on ratkaistu: {word} {clip(_join_words(names), CHANGE_VALUE_LIMIT)}.", True
    return None, False


def _change_line(change: Change, *, timezone: ZoneInfo, currency: str | None) -> _ChangeLine:
    what, old, new = describe_change(change, timezone=timezone, currency=currency)
    if change.field == "documents_url":
        if safe_url(change.new if isinstance(change.new, str) else None) is None:
            return _ChangeLine("Linkki hankinta-asiakirjoihin on poistettu.", what, old, new)
        if change.old in (None, ""):
            return _ChangeLine("Hankinta-asiakirjat on julkaistu.", what, old, new)
        return _ChangeLine("Hankinta-asiakirjojen osoite on muuttunut.", what, old, new)
    if change.field == "description":
        sentence = "Kuvausta on muutettu." if new == NOT_GIVEN else f"Kuvausta on muutettu. Uusi kuvaus: {new}"
        return _ChangeLine(sentence, what, old, new)
    return _ChangeLine(None, what, old, new)


def _links(entry: TenderEntry) -> list[_Link]:
    links = [("Ilmoitus", safe_url(entry.notice_url)), ("Hankinta-asiakirjat", safe_url(entry.documents_url))]
    return [_Link(label, url) for label, url in links if url]


def _buyer_and_place(entry: TenderEntry) -> str:
    return " · ".join(filter(None, [_clean(entry.buyer), _clean(entry.place)]))


# --- values ------------------------------------------------------------------------------------


def _value_words(field: str, value: Any, *, timezone: ZoneInfo, currency: str | None) -> str:
    """A stored value in words; whatever reads as nothing (None, "", " ", []) is "ei ilmoitettu"."""
    return _words_of(field, value, timezone=timezone, currency=currency) or NOT_GIVEN


def _words_of(field: str, value: Any, *, timezone: ZoneInfo, currency: str | None) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return NOT_GIVEN
    if field == "deadline":
        moment = _datetime(value)
        return format_moment(moment, timezone) if moment is not None else _plain(value)
    if field in ("estimated_value", "awarded_value"):
        return format_money(value if isinstance(value, str | int | float | Decimal) else None, currency) or _plain(
            value
        )
    if field == "status" and isinstance(value, str):
        return STATUS_WORDS.get(value, _clean(value))
    if field == "procedure_type" and isinstance(value, str):
        return PROCEDURE_WORDS.get(value, _clean(value))
    if field == "contract_nature" and isinstance(value, str):
        return NATURE_WORDS.get(value, _clean(value))
    if field == "winners":
        return _join_words(_winner_names(value)) or NOT_GIVEN
    if field == "buyer":
        return _buyer_words(value, with_id=False)
    if field == "cpv":
        return _cpv_words(value)
    return _plain(value)


def _winner_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [_plain(value)] if value not in (None, "") else []
    names = []
    for winner in value:
        if isinstance(winner, dict):
            name = _clean(_text_or_none(winner.get("name"))) or _clean(_text_or_none(winner.get("business_id")))
            names.append(name or "nimetön toimittaja")
        elif winner not in (None, ""):
            names.append(_plain(winner))
    return names


def _buyer_name(value: Any) -> str:
    if isinstance(value, dict):
        return _clean(_text_or_none(value.get("name")))
    return _plain(value) if value is not None else ""


def _buyer_words(value: Any, *, with_id: bool) -> str:
    if not isinstance(value, dict):
        return _plain(value) if value not in (None, "") else NOT_GIVEN
    name = _clean(_text_or_none(value.get("name")))
    business_id = _clean(_text_or_none(value.get("business_id")))
    if with_id and business_id:
        return f"{name} ({business_id})" if name else business_id
    return name or business_id or NOT_GIVEN


def _cpv_words(value: Any) -> str:
    codes = value if isinstance(value, list) else [value]
    words = []
    for code in codes[:5]:
        text = _plain(code)
        label = cpv_label(text) if isinstance(code, str) else None
        words.append(f"{label} ({text})" if label else text)
    if len(codes) > 5:
        words.append(f"{len(codes) - 5} muuta")
    return _join_words(words) or NOT_GIVEN


def _plain(value: Any) -> str:
    if value is None:
        return NOT_GIVEN
    if isinstance(value, bool):
        return "kyllä" if value else "ei"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value) or NOT_GIVEN
    if isinstance(value, dict):
        return ", ".join(_plain(item) for item in value.values() if item is not None) or NOT_GIVEN
    return _clean(str(value)) or NOT_GIVEN


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _count_of(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC, the way the database stores them."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local(moment: datetime, timezone: ZoneInfo) -> datetime:
    try:
        return _aware(moment).astimezone(timezone)
    except (OverflowError, ValueError):  # within hours of year 1 or 9999
        return _aware(moment)


def _distinct(entries: Iterable[TenderEntry]) -> list[TenderEntry]:
    """One per tender: a tender that two searches match is still one new tender."""
    seen: dict[int, TenderEntry] = {}
    for entry in entries:
        seen.setdefault(entry.tender_id, entry)
    return list(seen.values())


def _join_words(words: list[str]) -> str:
    """Words as a Finnish list: "A", "A ja B", "A, B ja C"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " ja " + words[-1]


def _title(title: str | None) -> str:
    return _clean(title) or UNTITLED


def _clean(text: str | None) -> str:
    """One line of text: control characters (newlines too) become spaces, runs of whitespace one space."""
    if not text:
        return ""
    return _clean_text(str(text))


@lru_cache(maxsize=8192)
def _clean_text(text: str) -> str:
    """:func:`_clean` for a string; the same labels and sector names recur in every email of a run."""
    return " ".join("".join(" " if unicodedata.category(char) == "Cc" else char for char in text).split())


def safe_url(url: str | None) -> str | None:
    """An address we dare to link: http or https with no spaces or quotes; anything else is no link at all."""
    if not url:
        return None
    url = url.strip()
    return url if _SAFE_URL.fullmatch(url) else None


# --- templates ---------------------------------------------------------------------------------


@cache
def environment() -> Environment:
    """The one Jinja environment: HTML autoescaped (titles come from the internet), undefined names an error."""
    return Environment(
        loader=PackageLoader("alerts", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        auto_reload=False,  # the templates ship with the code: no stat() of each file per email
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_html(name: str, context: dict[str, Any]) -> str:
    """Render, then move the stylesheet into ``style`` attributes: Gmail and Outlook ignore most <style>."""
    return _INLINER.inline(environment().get_template(name).render(context))


def _render_text(name: str, context: dict[str, Any]) -> str:
    text = environment().get_template(name).render(context)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
