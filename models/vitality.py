"""The vitality meter (elinvoimamittari): how much of Kanta-Häme's public buying reaches firms of the region.

The meter reads stored award notices; it asks no source. Its unit is a *contract*:
one winner of one lot. The rules, which the methodology page explains to readers
(``web/templates/vitality/methodology.html``):

- **Which awards.** Notices of Kanta-Häme buyers (the buyer's postcode, else its town,
  else its NUTS 3 code says maakunta 05) that name lot results: award notices and
  corrections of them. Per tender and lot the *latest* such notice counts (by
  publication time, then row id), so a correction replaces the award it corrects and a
  notice published again (by HILMA and TED, or twice) is never counted twice. The
  same notice from HILMA and TED is one stored row already.
- **Period.** The contract date (BT-145) when the notice gives it, else the award
  notice's publication day (Helsinki time); year or quarter of that day.
- **Where the winner is.** The notice's postcode → municipality, else its town name →
  municipality, else its NUTS 3 code (maakunta only), else the company register's
  answer (the visiting address's municipality, else the postal address's), else
  unknown. A country other than Finland in the notice or the register is abroad.
  Nothing is guessed: a winner the notice and the register do not place is unknown.
- **Local classes** relative to the buyer, exclusive: the buyer's municipality, another
  municipality of its sub-region, elsewhere in Kanta-Häme (also a winner known only by
  the maakunta), elsewhere in Finland, abroad, unknown.
- **Value.** A contract's value is the winning tender's value as the notice gives it
  for that winner (BT-720). A lot's total is never split between its winners: a
  framework whose winners have no values of their own counts in the contract shares,
  not in the value shares. Values in another currency than euro are left out of sums.
- **SME share** of contracts whose winner's size (BT-165) is given; unknown sizes are
  counted and shown, not guessed.
- **Competition.** Tenders received per lot (BT-759) where given; single-tender share
  of those lots. Procedures divided into lots: the award notice names more than one lot.
- **HILMA statistics flags** per procedure (the award notice's): yes, no or not
  answered (the flag is absent), and shares of yes among those that answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.classification.region_data import RegionData, load_region_data
from crawler.classification.sectors import sector_names
from models.company import Company, company_locations
from models.notice import Buyer, Notice, normalise_business_id
from models.tender import Tender, TenderSector

HELSINKI = ZoneInfo("Europe/Helsinki")
KANTA_HAME = "05"

#: Where a winner is relative to the buyer: exclusive classes, nearest first.
LOCATION_CLASSES = ("municipality", "subregion", "region", "finland", "abroad", "unknown")
LOCATION_LABELS = {
    "municipality": "Sama kunta",
    "subregion": "Sama seutukunta",
    "region": "Muu Kanta-Häme",
    "finland": "Muu Suomi",
    "abroad": "Ulkomaat",
    "unknown": "Ei tiedossa",
}
#: Cumulative local levels: a firm of the buyer's municipality is also of its sub-region and maakunta.
LOCAL_LEVELS = {
    "municipality": ("municipality",),
    "subregion": ("municipality", "subregion"),
    "region": ("municipality", "subregion", "region"),
}
SME_SIZES = frozenset({"micro", "small", "medium"})
#: HILMA's flags for environmental and social sustainability; a procedure "has" one when any is yes.
SUSTAINABILITY_FLAGS = (
    "energyEfficiencyConsidered",
    "lowCarbon",
    "circularEconomy",
    "biodiversity",
    "sustainableFoodProduction",
    "listedGreenCriteriaUsed",
    "justWorkingConditions",
    "employmentCondition",
    "codeOfConduct",
)
SME_FLAG = "smeParticipationConsidered"
DIMENSIONS = {
    "buyer": "Hankintayksikkö",
    "municipality": "Hankintayksikön kunta",
    "subregion": "Seutukunta",
    "sector": "Toimiala",
    "period": "Ajanjakso",
}
UNKNOWN_GROUP = "(ei tiedossa)"
_AWARD_KINDS = ("award", "correction")


@dataclass(frozen=True)
class Location:
    """Where an organisation is, as far as the data says, and how that was learnt."""

    municipality: str | None = None
    subregion: str | None = None
    maakunta: str | None = None
    abroad: bool = False
    source: str = "none"  # postcode, town, nuts, country, register, none

    @property
    def known(self) -> bool:
        return self.abroad or self.maakunta is not None


@dataclass(frozen=True)
class Contract:
    """One winner of one lot, as the latest award notice of that lot says."""

    tender_id: int
    notice_id: int
    lot_id: str
    buyer_name: str
    buyer_municipality: str | None
    buyer_subregion: str | None
    sector: str | None
    day: date
    winner_name: str | None
    winner_business_id: str | None
    location: Location
    location_class: str
    value: Decimal | None  # the winner's own tender value in euro; None when not given
    size: str | None
    framework: bool


@dataclass(frozen=True)
class LotResult:
    """One lot's result: how many tenders it got and its contracts (none when no winner was chosen)."""

    tender_id: int
    lot_id: str
    day: date
    tenders_received: int | None
    contracts: tuple[Contract, ...]


@dataclass(frozen=True)
class Procedure:
    """One tender of a Kanta-Häme buyer with its latest lot results and the award notice's statistics flags."""

    tender_id: int
    title: str | None
    buyer_id: int | None
    buyer_name: str
    buyer_municipality: str | None
    buyer_subregion: str | None
    sector: str | None
    day: date  # the earliest contract (or notice) day of its lots
    lots_in_notice: int
    statistics: dict[str, Any]
    lots: tuple[LotResult, ...]

    @property
    def contracts(self) -> list[Contract]:
        return [contract for lot in self.lots for contract in lot.contracts]


@dataclass(frozen=True)
class Filters:
    """What the dashboard narrows to; None is everything."""

    period: str = "year"  # "year" or "quarter": how periods are named and grouped
    period_value: str | None = None  # "2025" or "2025 Q3"
    subregion: str | None = None
    municipality: str | None = None
    sector: str | None = None
    buyer_id: int | None = None


@dataclass
class Indicators:
    """The meter's figures for one group of procedures."""

    group: str
    procedures: int = 0
    contracts: int = 0
    contracts_by_class: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOCATION_CLASSES, 0))
    value: Decimal = Decimal(0)
    value_by_class: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(LOCATION_CLASSES, Decimal(0)))
    contracts_without_value: int = 0
    sme: int = 0
    large: int = 0
    size_unknown: int = 0
    lots_with_count: int = 0
    tenders_received: int = 0
    single_tender_lots: int = 0
    divided: int = 0
    sustainability: dict[str, int] = field(default_factory=lambda: {"yes": 0, "no": 0, "unanswered": 0})
    sme_flag: dict[str, int] = field(default_factory=lambda: {"yes": 0, "no": 0, "unanswered": 0})

    def contract_share(self, location_class: str) -> float | None:
        return _share(self.contracts_by_class[location_class], self.contracts)

    def value_share(self, location_class: str) -> float | None:
        return _share(self.value_by_class[location_class], self.value)

    def local_contract_share(self, level: str) -> float | None:
        return _share(sum(self.contracts_by_class[c] for c in LOCAL_LEVELS[level]), self.contracts)

    def local_value_share(self, level: str) -> float | None:
        return _share(sum((self.value_by_class[c] for c in LOCAL_LEVELS[level]), Decimal(0)), self.value)

    @property
    def sme_share(self) -> float | None:
        return _share(self.sme, self.sme + self.large)

    @property
    def average_tenders(self) -> float | None:
        return self.tenders_received / self.lots_with_count if self.lots_with_count else None

    @property
    def single_tender_share(self) -> float | None:
        return _share(self.single_tender_lots, self.lots_with_count)

    @property
    def divided_share(self) -> float | None:
        return _share(self.divided, self.procedures)

    @property
    def sustainability_share(self) -> float | None:
        return _share(self.sustainability["yes"], self.sustainability["yes"] + self.sustainability["no"])

    @property
    def sme_flag_share(self) -> float | None:
        return _share(self.sme_flag["yes"], self.sme_flag["yes"] + self.sme_flag["no"])


def _share(part: Decimal | int, whole: Decimal | int) -> float | None:
    return float(part) / float(whole) if whole else None


# -- locations ---------------------------------------------------------------------------------


class Locator:
    """Places organisations with the region data; never guesses (see the module docstring)."""

    def __init__(self, regions: RegionData | None = None) -> None:
        self.regions = regions or load_region_data()

    def municipality(self, code: str | None, source: str) -> Location:
        found = self.regions.municipalities.get(code or "")
        if found is None:
            return Location()
        return Location(found.code, found.subregion, found.maakunta, source=source)

    def from_address(
        self, *, postcode: Any = None, town: Any = None, nuts: Any = None, country: Any = None
    ) -> Location:
        """A notice's address: postcode, else town, else NUTS 3; a foreign country is abroad."""
        country_code = _text(country)
        if country_code and country_code.upper() not in ("FIN", "FI"):
            return Location(abroad=True, source="country")
        compact = "".join((_text(postcode) or "").split())
        if len(compact) == 5 and compact.isdigit() and compact in self.regions.postcodes:
            return self.municipality(self.regions.postcodes[compact], "postcode")
        town_name = " ".join((_text(town) or "").split()).casefold()
        if town_name in self.regions.towns:
            return self.municipality(self.regions.towns[town_name], "town")
        nuts_code = (_text(nuts) or "").upper()
        if nuts_code in self.regions.nuts:
            return Location(maakunta=self.regions.nuts[nuts_code], source="nuts")
        if len(nuts_code) >= 2 and nuts_code[:2].isalpha() and not nuts_code.startswith("FI"):
            return Location(abroad=True, source="nuts")
        return Location()

    def from_register(self, company: Company | None) -> Location:
        """The company register's answer: the visiting address's municipality, else the postal one's."""
        if company is None or company.result != "found":
            return Location()
        if company.country and company.country.upper() not in ("FI", "FIN"):
            return Location(abroad=True, source="register")
        for code in (company.municipality_code, company.postal_municipality_code):
            found = self.municipality(code, "register")
            if found.known:
                return found
        return Location()

    def winner(self, winner: dict[str, Any], companies: dict[str, Company]) -> Location:
        located = self.from_address(
            postcode=winner.get("postcode"),
            town=winner.get("town"),
            nuts=winner.get("nuts"),
            country=winner.get("country"),
        )
        if located.known:
            return located
        business_id = normalise_business_id(_text(winner.get("business_id")))
        return self.from_register(companies.get(business_id or ""))


def location_class(winner: Location, buyer: Location) -> str:
    """The winner's exclusive class relative to the buyer (:data:`LOCATION_CLASSES`)."""
    if winner.abroad:
        return "abroad"
    if winner.maakunta is None:
        return "unknown"
    if winner.municipality is not None and winner.municipality == buyer.municipality:
        return "municipality"
    if winner.subregion is not None and winner.subregion == buyer.subregion:
        return "subregion"
    if winner.maakunta == KANTA_HAME:
        return "region"
    return "finland"


# -- reading the awards ------------------------------------------------------------------------


def load_procedures(session: Session, locator: Locator | None = None) -> list[Procedure]:
    """Every tender of a Kanta-Häme buyer with lot results, from its latest award notice per lot."""
    locator = locator or Locator()
    rows = session.execute(
        select(Notice, Buyer)
        .join(Buyer, Notice.buyer_id == Buyer.id)
        .where(Notice.status == "ok", Notice.kind.in_(_AWARD_KINDS), Notice.tender_id.is_not(None))
        .order_by(Notice.tender_id, Notice.published_at, Notice.id)
    ).all()
    buyer_places: dict[int, Location] = {}
    latest: dict[tuple[int, str], tuple[Notice, list[dict[str, Any]]]] = {}
    for notice, buyer in rows:
        if not notice.awards:
            continue
        place = buyer_places.get(buyer.id)
        if place is None:
            place = buyer_places[buyer.id] = locator.from_address(
                postcode=buyer.postcode, town=buyer.town, nuts=buyer.nuts, country=buyer.country
            )
        if place.maakunta != KANTA_HAME:
            continue
        by_lot: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for award in notice.awards:
            if isinstance(award, dict):
                by_lot[_text(award.get("lot_id")) or ""].append(award)
        for lot_id, awards in by_lot.items():
            latest[(notice.tender_id, lot_id)] = (notice, awards)  # rows are in publication order: the last wins

    business_ids = {
        _text((award.get("winner") or {}).get("business_id"))
        for _, awards in latest.values()
        for award in awards
        if isinstance(award.get("winner"), dict)
    }
    companies = company_locations(session, business_ids)
    tender_ids = sorted({tender_id for tender_id, _ in latest})
    sectors = _main_sectors(session, tender_ids)
    titles = (
        dict(session.execute(select(Tender.id, Tender.title).where(Tender.id.in_(tender_ids))).all())
        if tender_ids
        else {}
    )

    lots_by_tender: dict[int, list[tuple[Notice, str, list[dict[str, Any]]]]] = defaultdict(list)
    for (tender_id, lot_id), (notice, awards) in sorted(latest.items(), key=lambda item: (item[0][0], item[0][1])):
        lots_by_tender[tender_id].append((notice, lot_id, awards))

    procedures = []
    for tender_id, lots in lots_by_tender.items():
        newest = max((notice for notice, _, _ in lots), key=lambda n: (n.published_at or datetime.min, n.id))
        buyer = newest.buyer
        assert buyer is not None
        buyer_place = buyer_places[buyer.id]
        sector = sectors.get(tender_id)
        results = []
        for notice, lot_id, awards in lots:
            framework = _lot_framework(notice, lot_id)
            contracts = []
            for award in awards:
                winner = award.get("winner")
                if not isinstance(winner, dict):
                    continue
                location = locator.winner(winner, companies)
                contracts.append(
                    Contract(
                        tender_id=tender_id,
                        notice_id=notice.id,
                        lot_id=lot_id,
                        buyer_name=buyer.name,
                        buyer_municipality=buyer_place.municipality,
                        buyer_subregion=buyer_place.subregion,
                        sector=sector,
                        day=_award_day(award, notice),
                        winner_name=_text(winner.get("name")),
                        winner_business_id=normalise_business_id(_text(winner.get("business_id"))),
                        location=location,
                        location_class=location_class(location, buyer_place),
                        value=_euro(award.get("value"), award.get("currency") or notice.awarded_currency),
                        size=_text(winner.get("size")),
                        framework=framework,
                    )
                )
            days = [contract.day for contract in contracts] or [_award_day(awards[0], notice)]
            results.append(LotResult(tender_id, lot_id, min(days), _tenders_received(awards), tuple(contracts)))
        procedures.append(
            Procedure(
                tender_id=tender_id,
                title=titles.get(tender_id),
                buyer_id=buyer.id,
                buyer_name=buyer.name,
                buyer_municipality=buyer_place.municipality,
                buyer_subregion=buyer_place.subregion,
                sector=sector,
                day=min(result.day for result in results),
                lots_in_notice=max(len(newest.lots or []), len(results)),
                statistics=dict(newest.statistics or {}),
                lots=tuple(results),
            )
        )
    return procedures


def _main_sectors(session: Session, tender_ids: Sequence[int]) -> dict[int, str]:
    if not tender_ids:
        return {}
    rows = session.execute(
        select(TenderSector.tender_id, TenderSector.slug)
        .where(TenderSector.tender_id.in_(tender_ids), TenderSector.rank == 1)
        .order_by(TenderSector.tender_id, TenderSector.slug)
    ).all()
    sectors: dict[int, str] = {}
    for tender_id, slug in rows:
        sectors.setdefault(tender_id, slug)
    return sectors


def _lot_framework(notice: Notice, lot_id: str) -> bool:
    for lot in notice.lots or []:
        if isinstance(lot, dict) and lot.get("id") == lot_id and lot.get("framework_agreement") is not None:
            return bool(lot.get("framework_agreement"))
    return bool(notice.framework_agreement)


def _award_day(award: dict[str, Any], notice: Notice) -> date:
    """BT-145 when given, else the notice's publication day in Helsinki."""
    given = _text(award.get("contract_date"))
    if given:
        try:
            return date.fromisoformat(given[:10])
        except ValueError:
            pass
    published = notice.published_at or notice.fetched_at
    return published.astimezone(HELSINKI).date()


def _tenders_received(awards: list[dict[str, Any]]) -> int | None:
    counts = [award.get("tenders_received") for award in awards if isinstance(award.get("tenders_received"), int)]
    return max(counts) if counts else None


def _euro(value: Any, currency: Any) -> Decimal | None:
    if value is None or (currency not in (None, "") and str(currency).upper() != "EUR"):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# -- periods, filters and groups ---------------------------------------------------------------


def period_of(day: date, kind: str) -> str:
    """``2025`` or ``2025 Q3``."""
    return str(day.year) if kind == "year" else f"{day.year} Q{(day.month - 1) // 3 + 1}"


def filtered(procedures: Iterable[Procedure], filters: Filters) -> list[Procedure]:
    """The procedures the filters keep; a procedure's lots outside the chosen period are dropped."""
    kept = []
    for procedure in procedures:
        if filters.subregion and procedure.buyer_subregion != filters.subregion:
            continue
        if filters.municipality and procedure.buyer_municipality != filters.municipality:
            continue
        if filters.sector and procedure.sector != filters.sector:
            continue
        if filters.buyer_id is not None and procedure.buyer_id != filters.buyer_id:
            continue
        if filters.period_value:
            lots = tuple(lot for lot in procedure.lots if period_of(lot.day, filters.period) == filters.period_value)
            if not lots:
                continue
            if len(lots) != len(procedure.lots):
                procedure = replace(procedure, lots=lots)
        kept.append(procedure)
    return kept


def group_key(
    dimension: str, filters: Filters, regions: RegionData | None = None
) -> Callable[[Procedure, LotResult], str]:
    """A function giving the group name of a lot of a procedure along ``dimension``."""
    regions = regions or load_region_data()
    names = sector_names()
    if dimension == "buyer":
        return lambda procedure, lot: procedure.buyer_name
    if dimension == "municipality":
        return lambda procedure, lot: _place_name(regions, "municipality", procedure.buyer_municipality)
    if dimension == "subregion":
        return lambda procedure, lot: _place_name(regions, "subregion", procedure.buyer_subregion)
    if dimension == "sector":
        return lambda procedure, lot: names.get(procedure.sector or "", UNKNOWN_GROUP)
    if dimension == "period":
        return lambda procedure, lot: period_of(lot.day, filters.period)
    raise ValueError(f"unknown dimension {dimension!r}")


def _place_name(regions: RegionData, level: str, code: str | None) -> str:
    return regions.place_name(level, code) if code else UNKNOWN_GROUP


def indicators(
    procedures: Iterable[Procedure], key: Callable[[Procedure, LotResult], str] | None = None
) -> list[Indicators]:
    """The figures per group (one group "Yhteensä" without ``key``), groups in name order.

    A procedure whose lots fall into several groups (periods) counts as a procedure in
    each of them; its contracts and lots are counted once, in their own group.
    """
    groups: dict[str, Indicators] = {}
    for procedure in procedures:
        seen: set[str] = set()
        for lot in procedure.lots:
            name = key(procedure, lot) if key else "Yhteensä"
            figures = groups.setdefault(name, Indicators(group=name))
            if name not in seen:
                seen.add(name)
                _count_procedure(figures, procedure)
            _count_lot(figures, lot)
    return [groups[name] for name in sorted(groups, key=_group_order)]


def _group_order(name: str) -> tuple[bool, str]:
    return (name == UNKNOWN_GROUP, name)


def _count_procedure(figures: Indicators, procedure: Procedure) -> None:
    figures.procedures += 1
    if procedure.lots_in_notice > 1:
        figures.divided += 1
    figures.sustainability[_answer(procedure.statistics, SUSTAINABILITY_FLAGS)] += 1
    figures.sme_flag[_answer(procedure.statistics, (SME_FLAG,))] += 1


def _answer(statistics: dict[str, Any], flags: Sequence[str]) -> str:
    """yes when any flag is true, no when some are answered and none true, else unanswered."""
    answers = [statistics[flag] for flag in flags if isinstance(statistics.get(flag), bool)]
    if any(answers):
        return "yes"
    return "no" if answers else "unanswered"


def _count_lot(figures: Indicators, lot: LotResult) -> None:
    if lot.tenders_received is not None:
        figures.lots_with_count += 1
        figures.tenders_received += lot.tenders_received
        if lot.tenders_received == 1:
            figures.single_tender_lots += 1
    for contract in lot.contracts:
        figures.contracts += 1
        figures.contracts_by_class[contract.location_class] += 1
        if contract.value is None:
            figures.contracts_without_value += 1
        else:
            figures.value += contract.value
            figures.value_by_class[contract.location_class] += contract.value
        if contract.size in SME_SIZES:
            figures.sme += 1
        elif contract.size == "large":
            figures.large += 1
        else:
            figures.size_unknown += 1


def yearly_by_municipality(procedures: Iterable[Procedure], regions: RegionData | None = None) -> list[Indicators]:
    """One group per buyer municipality and year ("Hämeenlinna 2025"), for the yearly comparison."""
    regions = regions or load_region_data()
    year = Filters(period="year")

    def key(procedure: Procedure, lot: LotResult) -> str:
        return f"{_place_name(regions, 'municipality', procedure.buyer_municipality)} {period_of(lot.day, year.period)}"

    return indicators(procedures, key)


def periods(procedures: Iterable[Procedure], kind: str) -> list[str]:
    """The periods that have lot results, newest first (the dashboard's period menu)."""
    return sorted({period_of(lot.day, kind) for procedure in procedures for lot in procedure.lots}, reverse=True)
