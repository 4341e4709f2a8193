"""The procurement calendar (hankintakalenteri): what buyers of an area are expected to buy next.

The meetups (hankintatreffit) of each Kanta-Häme sub-region want one list of what is
coming, built from what the crawls already store. Four kinds of entry, one per tender
at a time (a tender moves from plan to call to contract as its notices arrive):

* ``plan`` (hankintasuunnitelma): a line of a buyer's HILMA procurement plan. HILMA's
  index gives a plan no date of its own, only its publication and ``expirationDate``
  (publication + 12 months: the plan covers the coming year), and the mapper keeps the
  publication. So a plan is expected *within the year after publication*: precision
  ``year``, dated by that year's last day.
* ``prior_information`` (ennakkoilmoitus): the PIN's planned date of the contract notice
  (BT-127 ``cbc:PlannedDate``, ``notices.planned_date``), else the planned contract start
  of a lot (BT-536; the call comes before it), else
  the year after publication (a PIN announces at most 12 months ahead).
* ``open_call`` (avoin haku): an open contract notice, at its tender deadline (to the day).
* ``contract_ending`` (päättyvä sopimus): an awarded contract ends, so a re-tender can
  be expected before that. Per lot: its planned end (BT-537), else its start (BT-536)
  + duration (BT-36), else the contract date (BT-145) + duration, else the award
  notice's publication + duration; a framework agreement's lots are read the same way,
  as their period is the framework's. A lot without any of these gives no entry. The
  entry shows the earliest lot end that has not passed.

Past entries are left out: an open call whose deadline passed, a planned date or a
contract end before today, a plan year that ended. Cancelled and unawarded tenders give
no entry.

**Which tenders belong to an area.** A tender belongs to a sub-region (or municipality,
or maakunta) when its buyer is located there (the buyer's postcode, else its town, gives
the municipality) *or* the classifier placed the work there (a ``TenderRegion`` row of the
sub-region, or of one of its municipalities). The buyer rule keeps a city's purchases
for its whole organisation on its own calendar even when the notice names no place; the
place rule brings in outside buyers working in the area (Väylävirasto's bridges,
Fingrid's line through Hattula). A tender classified only to the whole maakunta counts
for the maakunta, not for each sub-region, unless its buyer sits in one.
"""

from __future__ import annotations

import calendar as month_calendar
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from crawler.classification.region_data import RegionData
from models.notice import Buyer, Notice
from models.tender import Tender, TenderRegion

EntryKind = Literal["plan", "prior_information", "open_call", "contract_ending"]
Precision = Literal["day", "month", "quarter", "year"]

#: The kinds in the order a procurement goes, with their Finnish names.
KIND_WORDS: dict[str, str] = {
    "plan": "suunnitelma",
    "prior_information": "ennakkoilmoitus",
    "open_call": "avoin haku",
    "contract_ending": "päättyvä sopimus",
}
#: How far ahead a plan or a prior information notice without a date reaches.
PLAN_YEAR_MONTHS = 12

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


# --- areas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A maakunta, a sub-region or a municipality, as the municipality codes it covers."""

    level: Literal["region", "subregion", "municipality"]
    code: str
    name: str
    municipalities: frozenset[str]
    subregions: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """The form a staff filter uses: ``seutukunta:051``, ``kunta:109``, ``maakunta:05``."""
        return f"{_AREA_PREFIX[self.level]}:{self.code}"


_AREA_PREFIX = {"region": "maakunta", "subregion": "seutukunta", "municipality": "kunta"}


def subregion_area(data: RegionData, code: str) -> Area | None:
    subregion = data.subregions.get(code)
    if subregion is None:
        return None
    towns = frozenset(m.code for m in data.municipalities.values() if m.subregion == code)
    return Area("subregion", code, subregion.name_fi, towns, frozenset({code}))


def municipality_area(data: RegionData, code: str) -> Area | None:
    municipality = data.municipalities.get(code)
    if municipality is None:
        return None
    return Area("municipality", code, municipality.name_fi, frozenset({code}))


def region_area(data: RegionData, code: str) -> Area | None:
    maakunta = data.maakunta.get(code)
    if maakunta is None:
        return None
    towns = frozenset(m.code for m in data.municipalities.values() if m.maakunta == code)
    subregions = frozenset(s.code for s in data.subregions.values() if s.maakunta == code)
    return Area("region", code, maakunta.name_fi, towns, subregions)


def area_by_key(data: RegionData, key: str) -> Area | None:
    """``seutukunta:051`` → the Hämeenlinna sub-region; None for anything unknown."""
    prefix, _, code = key.partition(":")
    makers = {"maakunta": region_area, "seutukunta": subregion_area, "kunta": municipality_area}
    maker = makers.get(prefix)
    return maker(data, code) if maker else None


def subregion_slug(name: str) -> str:
    """The address of a sub-region's calendar: "Hämeenlinnan seutukunta" → ``hameenlinnan-seutu``."""
    words = name.replace("seutukunta", "seutu")
    ascii_text = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def subregion_by_slug(data: RegionData, slug: str) -> Area | None:
    for code, subregion in data.subregions.items():
        if subregion_slug(subregion.name_fi) == slug:
            return subregion_area(data, code)
    return None


def buyer_municipality(data: RegionData, buyer: Buyer | None) -> str | None:
    """The municipality a buyer is located in: by its postcode, else by its town's name."""
    if buyer is None:
        return None
    postcode = (buyer.postcode or "").replace(" ", "")
    if postcode in data.postcodes:
        return data.postcodes[postcode]
    if buyer.town:
        return data.towns.get(" ".join(buyer.town.split()).casefold())
    return None


# --- expected time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """When something is expected: a date and how precise it is.

    ``day``, ``month`` and ``quarter`` say the date is known to that precision; ``year``
    says only "by this date" (a plan's or an undated PIN's year).
    """

    day: date
    precision: Precision

    def last_day(self) -> date:
        """The last day the expectation covers: after it the entry is past."""
        if self.precision == "month":
            return self.day.replace(day=month_calendar.monthrange(self.day.year, self.day.month)[1])
        if self.precision == "quarter":
            last_month = (self.day.month - 1) // 3 * 3 + 3
            return date(self.day.year, last_month, month_calendar.monthrange(self.day.year, last_month)[1])
        return self.day


def add_duration(start: date, duration: str | None) -> date | None:
    """``start`` + an ISO 8601 duration of whole years, months, weeks and days (``P24M``, ``P1Y6M``)."""
    match = _DURATION.match((duration or "").strip())
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days = (int(part or 0) for part in match.groups())
    month_index = start.month - 1 + months + 12 * years
    year, month = start.year + month_index // 12, month_index % 12 + 1
    if year > 9999:
        return None
    moved = date(year, month, min(start.day, month_calendar.monthrange(year, month)[1]))
    try:
        return moved + timedelta(weeks=weeks, days=days)
    except OverflowError:
        return None


def add_months(start: date, months: int) -> date:
    moved = add_duration(start, f"P{months}M")
    assert moved is not None
    return moved


@dataclass(frozen=True)
class LotEnd:
    """When one awarded lot's contract ends, and what that was computed from."""

    lot_id: str | None
    end: date
    basis: str  # "contract_end", "start_duration", "contract_date_duration", "published_duration"
    framework: bool


def lot_contract_ends(
    award_notice: Notice, lots_by_id: dict[str, dict[str, Any]], timezone: ZoneInfo
) -> list[LotEnd]:
    """The contract end of every lot the award notice gives a winner (see the module docstring for the order).

    ``lots_by_id`` has the lots of the tender's notices, the award notice's own first, so
    that a duration the contract notice gave still counts when the award leaves it out.
    """
    published = award_notice.published_at.astimezone(timezone).date() if award_notice.published_at else None
    awards = [award for award in award_notice.awards or [] if award.get("winner")]
    contract_dates: dict[str | None, str] = {}
    for award in awards:
        if award.get("contract_date"):
            contract_dates.setdefault(award.get("lot_id"), award["contract_date"])
    lot_ids = list(dict.fromkeys(award.get("lot_id") for award in awards))
    if not lot_ids and award_notice.awarded_value is not None:
        lot_ids = [lot.get("id") for lot in award_notice.lots or []]
    ends = []
    for lot_id in lot_ids:
        lot = lots_by_id.get(lot_id or "", {})
        if lot_id is None and len(lots_by_id) == 1:
            lot = next(iter(lots_by_id.values()))
        framework = bool(lot.get("framework_agreement"))
        found = _lot_end(lot, contract_dates.get(lot_id), published)
        if found is not None:
            ends.append(LotEnd(lot_id, found[0], found[1], framework))
    return ends


def _lot_end(lot: dict[str, Any], contract_date: str | None, published: date | None) -> tuple[date, str] | None:
    end = _iso(lot.get("contract_end"))
    if end is not None:
        return end, "contract_end"
    duration = lot.get("duration")
    for start, basis in (
        (_iso(lot.get("contract_start")), "start_duration"),
        (_iso(contract_date), "contract_date_duration"),
        (published, "published_duration"),
    ):
        if start is not None:
            moved = add_duration(start, duration)
            if moved is not None:
                return moved, basis
    return None


#: How precise a contract end is, by what it was computed from.
END_PRECISION: dict[str, Precision] = {
    "contract_end": "day",
    "start_duration": "day",
    "contract_date_duration": "month",  # signed is not started: a few weeks either way
    "published_duration": "quarter",  # the notice comes up to a month or two after the contract
}


def _iso(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# --- entries ---------------------------------------------------------------------------------


@dataclass
class CalendarEntry:
    """One expected procurement: what the pages, the feed and the handout show."""

    tender_id: int
    kind: EntryKind
    expected: Expected
    title: str
    buyer: str
    buyer_id: int | None
    sector: str | None  # rank-1 sector slug
    sector_label: str | None
    municipality: str | None  # name: the buyer's, else the first classified one in the area
    municipality_code: str | None
    municipalities: frozenset[str]  # codes the entry counts for (buyer's and classified)
    subregions: frozenset[str]
    value: Decimal | None
    currency: str | None
    value_basis: Literal["estimated", "previous"] | None  # the call's estimate, or the ending contract's value
    notice_url: str | None
    published: date | None
    deadline: datetime | None = None  # open calls
    basis: str | None = None  # how the date was found: "planned_date", "contract_start", "plan_year", a LotEnd basis
    framework: bool = False
    contact_email: str | None = None
    contact_website: str | None = None

    @property
    def uid_stem(self) -> str:
        """One event per tender: a calendar app moves it as the tender goes from plan to call to contract."""
        return f"hankinta-{self.tender_id}"


@dataclass
class CalendarQuery:
    """What to list: an area, optional sector and buyer, and a horizon (None: everything ahead)."""

    area: Area
    sector: str | None = None
    buyer_id: int | None = None
    until: date | None = None
    kinds: frozenset[str] = field(default_factory=lambda: frozenset(KIND_WORDS))


def upcoming(
    session: Session,
    query: CalendarQuery,
    *,
    data: RegionData,
    sector_labels: dict[str, str],
    now: datetime,
    timezone: ZoneInfo,
) -> list[CalendarEntry]:
    """The area's expected procurements from ``now`` on, soonest first (ties: buyer, title)."""
    entries = area_entries(session, query.area, data=data, sector_labels=sector_labels, now=now, timezone=timezone)
    return filter_entries(entries, query)


def filter_entries(entries: Iterable[CalendarEntry], query: CalendarQuery) -> list[CalendarEntry]:
    chosen = [
        entry
        for entry in entries
        if (query.sector is None or entry.sector == query.sector)
        and (query.buyer_id is None or entry.buyer_id == query.buyer_id)
        and entry.kind in query.kinds
        and (query.until is None or within_horizon(entry, query.until))
    ]
    return sorted(chosen, key=sort_key)


def within_horizon(entry: CalendarEntry, until: date) -> bool:
    """Expected by ``until``; a running plan year (plan, undated PIN) counts too: it may come any day."""
    if entry.expected.precision == "year":
        return True
    return entry.expected.day <= until


def sort_key(entry: CalendarEntry) -> tuple[date, str, str, int]:
    return (entry.expected.day, entry.buyer.casefold(), entry.title.casefold(), entry.tender_id)


def area_entries(
    session: Session,
    area: Area,
    *,
    data: RegionData,
    sector_labels: dict[str, str],
    now: datetime,
    timezone: ZoneInfo,
) -> list[CalendarEntry]:
    """Every upcoming entry of the area, unfiltered and unsorted."""
    today = now.astimezone(timezone).date()
    buyer_towns = {
        buyer.id: town
        for buyer in session.scalars(select(Buyer))
        if (town := buyer_municipality(data, buyer)) is not None
    }
    local_buyers = [buyer_id for buyer_id, town in buyer_towns.items() if town in area.municipalities]
    conditions = [
        (TenderRegion.level == "municipality") & TenderRegion.code.in_(sorted(area.municipalities)),
        (TenderRegion.level == "subregion") & TenderRegion.code.in_(sorted(area.subregions)),
    ]
    if area.level == "region":
        conditions.append((TenderRegion.level == "region") & (TenderRegion.code == area.code))
    place = exists().where(TenderRegion.tender_id == Tender.id, or_(*conditions))
    statement = (
        select(Tender)
        .where(
            Tender.status.in_(("planned", "open", "awarded")),
            or_(Tender.status != "open", Tender.deadline > now),
            or_(Tender.buyer_id.in_(local_buyers), place) if local_buyers else place,
        )
        .options(selectinload(Tender.buyer), selectinload(Tender.regions), selectinload(Tender.sectors))
    )
    tenders = list(session.scalars(statement))
    notices = _notices_of(session, [tender.id for tender in tenders if tender.status != "open"])
    entries = []
    for tender in tenders:
        expected = _expected(tender, notices.get(tender.id, []), timezone=timezone, today=today)
        if expected is None:
            continue
        kind, when, basis, framework = expected
        if when.last_day() < today:
            continue
        entries.append(_entry(tender, kind, when, basis, framework, area, data, buyer_towns, sector_labels, timezone))
    return entries


def _notices_of(session: Session, tender_ids: Sequence[int]) -> dict[int, list[Notice]]:
    found: dict[int, list[Notice]] = defaultdict(list)
    for start in range(0, len(tender_ids), 500):
        chunk = tender_ids[start : start + 500]
        for notice in session.scalars(
            select(Notice)
            .where(Notice.tender_id.in_(chunk), Notice.status == "ok")
            .order_by(Notice.published_at.desc().nulls_last(), Notice.id.desc())
        ):
            if notice.tender_id is not None:
                found[notice.tender_id].append(notice)
    return found


def _expected(
    tender: Tender, notices: list[Notice], *, timezone: ZoneInfo, today: date
) -> tuple[EntryKind, Expected, str | None, bool] | None:
    """The tender's entry kind and expected time (newest notices first in ``notices``), or None."""
    if tender.status == "open":
        if tender.deadline is None:
            return None
        return "open_call", Expected(tender.deadline.astimezone(timezone).date(), "day"), "deadline", False
    if tender.status == "awarded":
        return _contract_ending(notices, timezone=timezone, today=today)
    # planned: the newest plan or prior information notice says what is known
    planning = next((n for n in notices if n.kind in ("plan", "prior_information")), None)
    if planning is None:
        return None
    published = planning.published_at.astimezone(timezone).date() if planning.published_at else today
    year_end = Expected(add_months(published, PLAN_YEAR_MONTHS), "year")
    if planning.kind == "plan":
        return "plan", year_end, "plan_year", False
    when = planning.planned_date
    if when is not None:
        return "prior_information", Expected(when, "day"), "planned_date", False
    starts = [start for lot in planning.lots or [] if (start := _iso(lot.get("contract_start"))) is not None]
    if starts:
        return "prior_information", Expected(min(starts), "month"), "contract_start", False
    return "prior_information", year_end, "plan_year", False


def _contract_ending(
    notices: list[Notice], *, timezone: ZoneInfo, today: date
) -> tuple[EntryKind, Expected, str | None, bool] | None:
    lots_by_id: dict[str, dict[str, Any]] = {}
    for notice in notices:  # newest first: the newest notice's lot wins, older ones fill in
        for lot in notice.lots or []:
            known = lots_by_id.setdefault(lot.get("id") or "", dict(lot))
            for name in ("duration", "contract_start", "contract_end", "framework_agreement"):
                if known.get(name) in (None, "") and lot.get(name) not in (None, ""):
                    known[name] = lot[name]
    ends: list[LotEnd] = []
    for notice in notices:
        if notice.kind == "award" and any(award.get("winner") for award in notice.awards or []):
            ends = lot_contract_ends(notice, lots_by_id, timezone)
            break
    running = [end for end in ends if end.end >= today]
    if not running:
        return None
    first = min(running, key=lambda end: end.end)
    return "contract_ending", Expected(first.end, END_PRECISION[first.basis]), first.basis, first.framework


def _entry(
    tender: Tender,
    kind: EntryKind,
    when: Expected,
    basis: str | None,
    framework: bool,
    area: Area,
    data: RegionData,
    buyer_towns: dict[int, str],
    sector_labels: dict[str, str],
    timezone: ZoneInfo,
) -> CalendarEntry:
    buyer_town = buyer_towns.get(tender.buyer_id) if tender.buyer_id is not None else None
    classified = [row.code for row in tender.regions if row.level == "municipality"]
    towns = frozenset([*([buyer_town] if buyer_town else []), *classified])
    subregions = frozenset(
        [row.code for row in tender.regions if row.level == "subregion"]
        + [town.subregion for code in towns if (town := data.municipalities.get(code)) and town.subregion]
    )
    shown = buyer_town if buyer_town in area.municipalities else next(
        (code for code in classified if code in area.municipalities), buyer_town
    )
    sector = tender.sectors[0].slug if tender.sectors else None
    if kind == "contract_ending":
        value, currency, value_basis = tender.awarded_value, tender.awarded_currency, "previous"
        if value is None:
            value, currency = tender.estimated_value, tender.currency
    else:
        value, currency, value_basis = tender.estimated_value, tender.currency, "estimated"
    return CalendarEntry(
        tender_id=tender.id,
        kind=kind,
        expected=when,
        title=tender.title or "(nimetön hankinta)",
        buyer=tender.buyer.name if tender.buyer else "Hankintayksikkö ei tiedossa",
        buyer_id=tender.buyer_id,
        sector=sector,
        sector_label=sector_labels.get(sector) if sector else None,
        municipality=data.place_name("municipality", shown) if shown else None,
        municipality_code=shown,
        municipalities=towns,
        subregions=subregions,
        value=value,
        currency=currency,
        value_basis=value_basis if value is not None else None,
        notice_url=tender.url,
        published=tender.first_published_at.astimezone(timezone).date() if tender.first_published_at else None,
        deadline=tender.deadline if kind == "open_call" else None,
        basis=basis,
        framework=framework,
    )


# --- contacts --------------------------------------------------------------------------------


def add_contacts(session: Session, entries: list[CalendarEntry]) -> list[CalendarEntry]:
    """Fill in each buyer's email and website (the latest a notice of theirs gave).

    A buyer with neither keeps the notice link as its contact.
    """
    buyer_ids = {entry.buyer_id for entry in entries if entry.buyer_id is not None}
    contacts: dict[int, tuple[str | None, str | None]] = {}
    if buyer_ids:
        rows = session.execute(select(Buyer.id, Buyer.email, Buyer.website).where(Buyer.id.in_(buyer_ids)))
        contacts = {buyer_id: (email, website) for buyer_id, email, website in rows}
    return [
        replace(entry, contact_email=contacts[entry.buyer_id][0], contact_website=contacts[entry.buyer_id][1])
        if entry.buyer_id in contacts
        else entry
        for entry in entries
    ]
