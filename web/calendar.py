"""The procurement calendar's pages: public per sub-region, the staff view, the iCalendar feed and the handout.

``/kalenteri`` lists the Kanta-Häme sub-regions; ``/kalenteri/<seutu>`` is a
sub-region's calendar (filters by sector and buyer as plain GET selects, like the front
page), ``…/<seutu>.ics`` its feed for calendar apps, and ``…/<seutu>/tuloste`` a one-page
handout for the meetups (hankintatreffit) with ``…/tuloste.pdf`` rendered from the same
HTML by WeasyPrint. ``/henkilokunta/kalenteri`` shows any sub-region, municipality or the
whole maakunta with more detail. What the entries are and how their dates are found is in
:mod:`models.calendar`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from sqlalchemy.orm import Session

from alerts.compose import Mailer
from alerts.render import format_moment, format_money, safe_url
from models.calendar import (
    KIND_WORDS,
    Area,
    CalendarEntry,
    CalendarQuery,
    Expected,
    add_contacts,
    add_months,
    area_by_key,
    area_entries,
    filter_entries,
    region_area,
    subregion_area,
    subregion_by_slug,
    subregion_slug,
)
from models.db import session_scope
from web.auth import current_staff, login_required

blueprint = Blueprint("calendar", __name__)

#: The maakunta whose sub-regions the public index lists (the meetups are held there).
KANTA_HAME = "05"
#: The handout covers this many months ahead.
HANDOUT_MONTHS = 6

_ORDINALS = {1: "ensimmäisellä", 2: "toisella", 3: "kolmannella", 4: "viimeisellä"}
_STATIC = Path(__file__).parent / "static"
#: An address we dare to put after ``mailto:``: one @, no spaces, quotes, angle brackets or query.
_EMAIL = re.compile(r"[^@\s<>\"'?&]+@[^@\s<>\"'?&]+\.[^@\s<>\"'?&]+")


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


# --- Finnish words for dates -----------------------------------------------------------------


def when_label(expected: Expected) -> str:
    """The short date a list shows: "pe 15.1.2027", "3/2027", "1. neljännes 2027", "viimeistään 11/2027"."""
    day = expected.day
    if expected.precision == "day":
        return format_date(day, "EEE d.M.yyyy", locale="fi")
    if expected.precision == "month":
        return f"{day.month}/{day.year}"
    if expected.precision == "quarter":
        return f"{(day.month - 1) // 3 + 1}. neljännes {day.year}"
    return f"viimeistään {day.month}/{day.year}"


def when_phrase(expected: Expected) -> str:
    """The date inside a sentence: "15.1.2027", "maaliskuussa 2027", "vuoden 2027 ensimmäisellä neljänneksellä"."""
    day = expected.day
    if expected.precision == "day":
        return f"{day.day}.{day.month}.{day.year}"
    if expected.precision == "month":
        return f"{format_date(day, 'LLLL', locale='fi')}ssa {day.year}"
    if expected.precision == "quarter":
        return f"vuoden {day.year} {_ORDINALS[(day.month - 1) // 3 + 1]} neljänneksellä"
    return f"viimeistään {day.month}/{day.year}"


def _day(value: date | None) -> str:
    return f"{value.day}.{value.month}.{value.year}" if value else "ei tiedossa"


_END_BASIS = {
    "contract_end": "päättymispäivä jälki-ilmoituksesta",
    "start_duration": "alkamispäivä ja kesto jälki-ilmoituksesta",
    "contract_date_duration": "sopimuksen tekopäivä ja kesto; arvio",
    "published_duration": "jälki-ilmoituksen julkaisupäivä ja sopimuksen kesto; karkea arvio",
}


#: For the staff page: what each date was read from, and how precise it is.
BASIS_WORDS = {
    "deadline": "tarjousten määräaika",
    "planned_date": "ennakkoilmoituksen arvio tarjouspyynnön julkaisusta (BT-127)",
    "contract_start": "sopimuskauden alku (BT-536)",
    "plan_year": "julkaisupäivä + 12 kk",
    "contract_end": "sopimuskauden loppu (BT-537)",
    "start_duration": "sopimuskauden alku + kesto (BT-536 + BT-36)",
    "contract_date_duration": "sopimuksen tekopäivä + kesto (BT-145 + BT-36)",
    "published_duration": "jälki-ilmoituksen julkaisupäivä + kesto (BT-36)",
}
PRECISION_WORDS = {"day": "päivä", "month": "kuukausi", "quarter": "vuosineljännes", "year": "vuoden kuluessa"}


def explanation(entry: CalendarEntry, mailer: Mailer) -> str:
    """What the date means, in one or two Finnish sentences."""
    phrase = when_phrase(entry.expected)
    if entry.kind == "open_call":
        assert entry.deadline is not None
        return f"Tarjouspyyntö on auki: tarjoukset viimeistään {format_moment(entry.deadline, mailer.timezone)}."
    if entry.kind == "contract_ending":
        what = "Puitejärjestely" if entry.framework else "Sopimus"
        return (
            f"{what} päättyy {phrase} — uusi kilpailutus todennäköisesti ennen sitä "
            f"({_END_BASIS.get(entry.basis or '', 'arvio')})."
        )
    if entry.kind == "prior_information":
        if entry.basis == "planned_date":
            return f"Ennakkoilmoituksen mukaan tarjouspyyntö julkaistaan arviolta {phrase}."
        if entry.basis == "contract_start":
            return f"Sopimuskauden on määrä alkaa {phrase} — tarjouspyyntö todennäköisesti ennen sitä."
        return (
            f"Ennakkoilmoitus julkaistu {_day(entry.published)} ilman ajankohtaa — "
            f"tarjouspyyntö todennäköisesti {phrase}."
        )
    return (
        f"Hankintasuunnitelmassa (julkaistu {_day(entry.published)}); ajankohtaa ei kerrottu — "
        f"suunnitelma kattaa vuoden eli hankinta todennäköisesti {phrase}."
    )


def _view(entry: CalendarEntry, mailer: Mailer) -> dict[str, Any]:
    """What a template shows of an entry (all text already Finnish and formatted)."""
    value = format_money(entry.value, entry.currency)
    return {
        "entry": entry,
        "kind": KIND_WORDS[entry.kind],
        "when": when_label(entry.expected),
        "iso": entry.expected.day.isoformat(),
        "explanation": explanation(entry, mailer),
        "value": value,
        "value_label": "Edellisen sopimuksen arvo" if entry.value_basis == "previous" else "Arvioitu arvo",
        "tender_url": url_for("public.tender_page", tender_id=entry.tender_id),
        "notice_url": safe_url(entry.notice_url),
        "email": entry.contact_email if _EMAIL.fullmatch(entry.contact_email or "") else None,
        "website": safe_url(entry.contact_website),
        "basis": BASIS_WORDS.get(entry.basis or "", "–"),
        "precision": PRECISION_WORDS[entry.expected.precision],
        "towns": sorted(mailer.regions.place_name("municipality", code) for code in entry.municipalities),
    }


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Filters:
    """Sector and buyer, each a known value or empty (an unknown value is ignored, not an error)."""

    sector: str = ""
    buyer: str = ""
    kind: str = ""

    @classmethod
    def from_args(cls, sectors: list[Choice], buyers: list[Choice]) -> Filters:
        def pick(name: str, known: list[Choice]) -> str:
            value = (request.args.get(name) or "").strip()
            return value if value in {choice.value for choice in known} else ""

        kinds = [Choice(kind, word) for kind, word in KIND_WORDS.items()]
        return cls(pick("toimiala", sectors), pick("hankkija", buyers), pick("laji", kinds))

    def query(self, area: Area, *, until: date | None = None) -> CalendarQuery:
        return CalendarQuery(
            area=area,
            sector=self.sector or None,
            buyer_id=int(self.buyer) if self.buyer else None,
            until=until,
            kinds=frozenset([self.kind]) if self.kind else frozenset(KIND_WORDS),
        )

    def args(self) -> dict[str, str]:
        return {name: value for name, value in (("toimiala", self.sector), ("hankkija", self.buyer)) if value}


def _sector_choices(entries: list[CalendarEntry]) -> list[Choice]:
    labels = {entry.sector: entry.sector_label or entry.sector for entry in entries if entry.sector}
    return sorted((Choice(slug, label) for slug, label in labels.items()), key=lambda choice: choice.label)


def _buyer_choices(entries: list[CalendarEntry]) -> list[Choice]:
    names = {str(entry.buyer_id): entry.buyer for entry in entries if entry.buyer_id is not None}
    return sorted((Choice(value, name) for value, name in names.items()), key=lambda choice: choice.label.casefold())


@dataclass
class Listing:
    area: Area
    entries: list[CalendarEntry]
    filters: Filters
    sectors: list[Choice]
    buyers: list[Choice]
    today: date


def _listing(area: Area, *, horizon_months: int | None = None) -> Listing:
    """The area's entries with the request's filters applied, and the choices the filters offer."""
    mailer = _mailer()
    now = datetime.now(UTC)
    today = now.astimezone(mailer.timezone).date()
    with _session() as session:
        everything = area_entries(
            session, area, data=mailer.regions, sector_labels=mailer.sectors, now=now, timezone=mailer.timezone
        )
        sectors, buyers = _sector_choices(everything), _buyer_choices(everything)
        filters = Filters.from_args(sectors, buyers)
        until = add_months(today, horizon_months) if horizon_months else None
        entries = filter_entries(everything, filters.query(area, until=until))
        entries = add_contacts(session, entries)
    return Listing(area, entries, filters, sectors, buyers, today)


def _public_area(slug: str) -> Area:
    area = subregion_by_slug(_mailer().regions, slug)
    if area is None:
        abort(404)
    return area


def kanta_hame_subregions() -> list[tuple[Area, str]]:
    data = _mailer().regions
    areas = [subregion_area(data, code) for code, sub in sorted(data.subregions.items()) if sub.maakunta == KANTA_HAME]
    return [(area, subregion_slug(area.name)) for area in areas if area is not None]


# --- public pages ----------------------------------------------------------------------------


@blueprint.get("/kalenteri")
def index() -> str:
    return render_template(
        "calendar/index.html", title="Hankintakalenteri: Kanta-Hämeen seutukunnat", subregions=kanta_hame_subregions()
    )


@blueprint.get("/kalenteri/<slug>")
def subregion_page(slug: str) -> str:
    area = _public_area(slug)
    listing = _listing(area)
    mailer = _mailer()
    return render_template(
        "calendar/subregion.html",
        title=f"Hankintakalenteri: {area.name}",
        listing=listing,
        views=[_view(entry, mailer) for entry in listing.entries],
        slug=slug,
        feed_url=_absolute(url_for("calendar.feed", slug=slug, **listing.filters.args())),
    )


def _absolute(path: str) -> str:
    """The public address of a page of ours (a printed handout and a feed need whole addresses)."""
    return current_app.config["HANKINTAVAHTI_SETTINGS"].base_url.rstrip("/") + path


@blueprint.get("/kalenteri/<slug>.ics")
def feed(slug: str) -> Response:
    from icalendar import Calendar, Event

    area = _public_area(slug)
    listing = _listing(area)
    mailer = _mailer()
    base = current_app.config["HANKINTAVAHTI_SETTINGS"].base_url.rstrip("/")
    host = urlsplit(base).hostname or "hankintavahti"
    stamp = datetime.now(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", "-//Hankintavahti//Hankintakalenteri//FI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Hankintakalenteri: {area.name}")
    calendar.add("x-wr-timezone", str(mailer.timezone))
    for entry in listing.entries:
        event = Event()
        event.add("uid", f"{entry.uid_stem}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.expected.day)
        event.add("dtend", entry.expected.day + timedelta(days=1))
        event.add("summary", f"{KIND_WORDS[entry.kind].capitalize()}: {entry.title} ({entry.buyer})")
        lines = [explanation(entry, mailer)]
        value = format_money(entry.value, entry.currency)
        if value:
            label = "Edellisen sopimuksen arvo" if entry.value_basis == "previous" else "Arvioitu arvo"
            lines.append(f"{label} {value}")
        if entry.sector_label:
            lines.append(f"Toimiala: {entry.sector_label}")
        page = base + url_for("public.tender_page", tender_id=entry.tender_id)
        lines.append(f"Hankinta Hankintavahdissa: {page}")
        if safe_url(entry.notice_url):
            lines.append(f"Ilmoitus: {entry.notice_url}")
        event.add("description", "\n".join(lines))
        event.add("url", page)
        if entry.municipality:
            event.add("location", entry.municipality)
        event.add("transp", "TRANSPARENT")  # an expected procurement takes nobody's time
        calendar.add_component(event)
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="hankintakalenteri-{slug}.ics"'
    return response


@dataclass
class BuyerGroup:
    buyer: str
    contact: dict[str, Any]
    rows: list[dict[str, Any]]


def _groups(views: list[dict[str, Any]]) -> list[BuyerGroup]:
    """Rows (already in buyer order) grouped under their buyer; the buyer's contact from its first row."""
    groups: list[BuyerGroup] = []
    for view in views:
        if not groups or groups[-1].buyer != view["entry"].buyer:
            groups.append(BuyerGroup(view["entry"].buyer, view, []))
        groups[-1].rows.append(view)
    return groups


def handout_context(slug: str) -> dict[str, Any]:
    """The handout: the next six months by buyer, laid out to fit one A4 page.

    The layout is found by rendering it: all rows in normal type; if that takes more than
    a page, in small type; if that does not fit either, as many rows as fit in small type,
    then "… ja N muuta" with the calendar's address. The HTML print view and the PDF use
    the same choice.
    """
    area = _public_area(slug)
    listing = _listing(area, horizon_months=HANDOUT_MONTHS)
    mailer = _mailer()
    entries = sorted(listing.entries, key=lambda e: (e.buyer.casefold(), e.expected.day, e.title.casefold()))
    views = [_view(entry, mailer) for entry in entries]
    base = {
        "title": f"Hankintatreffit: {area.name}",
        "area": area,
        "page_url": _absolute(url_for("calendar.subregion_page", slug=slug)),
        "today": _day(listing.today),
        "until": _day(add_months(listing.today, HANDOUT_MONTHS)),
        "slug": slug,
    }

    def layout(count: int, compact: bool) -> dict[str, Any]:
        return {**base, "groups": _groups(views[:count]), "hidden": len(views) - count, "compact": compact}

    for compact in (False, True):
        if _pages(layout(len(views), compact)) <= 1:
            return layout(len(views), compact)
    low, high = 0, len(views) - 1  # the most rows that fit, in small type, with the "more" line
    while low < high:
        middle = (low + high + 1) // 2
        if _pages(layout(middle, True)) <= 1:
            low = middle
        else:
            high = middle - 1
    return layout(low, True)


def _pdf_document(context: dict[str, Any]) -> Any:
    from weasyprint import HTML

    html = render_template("calendar/handout.html", **context)
    return HTML(string=html, base_url=request.url_root, url_fetcher=_static_only()).render()


def _pages(context: dict[str, Any]) -> int:
    return len(_pdf_document(context).pages)


@blueprint.get("/kalenteri/<slug>/tuloste")
def handout(slug: str) -> str:
    return render_template("calendar/handout.html", **handout_context(slug))


@blueprint.get("/kalenteri/<slug>/tuloste.pdf")
def handout_pdf(slug: str) -> Response:
    pdf = _pdf_document(handout_context(slug)).write_pdf()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="hankintatreffit-{slug}.pdf"'
    return response


def _static_only() -> Any:
    """A WeasyPrint fetcher that reads our stylesheet from disk and nothing else: a notice's link is never fetched."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = urlsplit(url).path
            if path.startswith("/static/"):
                target = (_STATIC / path.removeprefix("/static/")).resolve()
                if target.is_file() and _STATIC.resolve() in target.parents:
                    return URLFetcherResponse(url, body=target.read_bytes(), headers={"Content-Type": "text/css"})
            raise ValueError(f"the handout fetches only its own stylesheet, not {url}")

    return StaticOnly()


# --- staff page ------------------------------------------------------------------------------


def _area_choices() -> list[dict[str, Any]]:
    """Maakunta, then each sub-region followed by its municipalities, as optgroups."""
    data = _mailer().regions
    groups: list[dict[str, Any]] = []
    for code, maakunta in sorted(data.maakunta.items()):
        subregions = [s for s in sorted(data.subregions.values(), key=lambda s: s.code) if s.maakunta == code]
        if not subregions:
            continue
        choices = [Choice(f"maakunta:{code}", f"Koko {maakunta.name_fi}")]
        for subregion in subregions:
            choices.append(Choice(f"seutukunta:{subregion.code}", subregion.name_fi))
            towns = sorted(
                (m for m in data.municipalities.values() if m.subregion == subregion.code), key=lambda m: m.name_fi
            )
            choices += [Choice(f"kunta:{town.code}", f"– {town.name_fi}") for town in towns]
        groups.append({"label": maakunta.name_fi, "choices": choices})
    return groups


@blueprint.get("/henkilokunta/kalenteri")
@login_required
def staff_page() -> str:
    data = _mailer().regions
    key = (request.args.get("alue") or "").strip()
    area = area_by_key(data, key) or region_area(data, KANTA_HAME)
    assert area is not None
    listing = _listing(area)
    mailer = _mailer()
    slug = subregion_slug(area.name) if area.level == "subregion" else None
    return render_template(
        "calendar/staff.html",
        title="Hankintakalenteri (henkilökunta)",
        staff=current_staff(),
        listing=listing,
        views=[_view(entry, mailer) for entry in listing.entries],
        areas=_area_choices(),
        area_key=area.key,
        kinds=[Choice(kind, word) for kind, word in KIND_WORDS.items()],
        slug=slug,
    )
