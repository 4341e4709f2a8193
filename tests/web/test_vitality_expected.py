"""The vitality meter's figures recomputed from the sample itself, and the sample stored as a crawl stores it.

:func:`expected_figures` reads the sample's specs (what each notice says) and the
sample's organisations (where each firm really is), in plain Python, without the
meter's code: if the meter reads the stored notices wrongly, the two disagree.
The rules it follows are the methodology page's, written out a second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crawler.classification.region_data import load_region_data
from crawler.standins.sample import SampleData, load_sample
from crawler.standins.specs import NoticeSpec, OrganisationSpec

HELSINKI = ZoneInfo("Europe/Helsinki")
CLASSES = ("municipality", "subregion", "region", "finland", "abroad", "unknown")
GREEN_AND_SOCIAL = (
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


@dataclass
class Figures:
    procedures: int = 0
    contracts: Counter[str] = field(default_factory=Counter)
    values: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CLASSES, Decimal(0)))
    without_value: int = 0
    sizes: Counter[str] = field(default_factory=Counter)  # sme, large, unknown
    lots_with_count: int = 0
    tenders: int = 0
    single: int = 0
    divided: int = 0
    green: Counter[str] = field(default_factory=Counter)  # yes, no, unanswered
    sme_flag: Counter[str] = field(default_factory=Counter)


def expected_figures(sample: SampleData, register: dict[str, str], period: str = "year") -> dict[str, Figures]:
    """Figures per period ("2025" or "2025 Q3") for Kanta-Häme buyers' awards in the sample.

    ``register`` maps business IDs to the municipality code the company register gives
    (the test puts the same rows in the ``companies`` table); a firm whose notice leaves
    its address out and that is not in ``register`` is unknown.
    """
    regions = load_region_data()
    full = {org.business_id: org for org in sample.organisations.values() if org.business_id}

    def place(org: OrganisationSpec) -> tuple[str | None, str | None, str | None, bool]:
        """(municipality, sub-region, maakunta, abroad) from what the notice shows, else the register."""
        if not org.address_in_notice:
            code = register.get(org.business_id or "")
            if code is None:
                return None, None, None, False
            municipality = regions.municipalities[code]
            return code, municipality.subregion, municipality.maakunta, False
        if org.country != "FIN":
            return None, None, None, True
        code = regions.postcodes.get(org.postcode or "") or regions.towns.get((org.town or "").casefold())
        if code:
            municipality = regions.municipalities[code]
            return code, municipality.subregion, municipality.maakunta, False
        if org.nuts:
            return None, None, regions.nuts[org.nuts], False
        return None, None, None, False

    # the latest notice per procedure and lot, among the HILMA notices with lot results
    latest: dict[tuple[str, str], tuple[NoticeSpec, object]] = {}
    for spec in sorted(
        (s for s in sample.specs if s.hilma is not None and s.awards),
        key=lambda s: s.hilma.published_at,  # type: ignore[union-attr]
    ):
        assert spec.procedure_id is not None
        for award in spec.awards:
            latest[(spec.procedure_id, award.lot_id)] = (spec, award)

    figures: dict[str, Figures] = {}
    counted: set[tuple[str, str]] = set()
    for (procedure_id, _), (spec, award) in sorted(latest.items()):
        buyer_code = regions.postcodes[spec.buyer.postcode or ""]
        buyer = regions.municipalities[buyer_code]
        if buyer.maakunta != "05":
            continue
        published = spec.hilma.published_at.astimezone(HELSINKI).date()  # type: ignore[union-attr]
        days = [tender.contract_date or published for tender in award.winners] or [published]  # type: ignore[attr-defined]
        name = _period(min(days), period)
        group = figures.setdefault(name, Figures())
        if (procedure_id, name) not in counted:
            counted.add((procedure_id, name))
            newest = max(
                (s for (p, _), (s, _) in latest.items() if p == procedure_id), key=lambda s: s.hilma.published_at
            )  # type: ignore[union-attr]
            group.procedures += 1
            group.divided += len(newest.lots) > 1
            flags = newest.hilma.statistic_values()  # type: ignore[union-attr]
            group.green[_answer([flags[f] for f in GREEN_AND_SOCIAL])] += 1
            group.sme_flag[_answer([flags["smeParticipationConsidered"]])] += 1
        if award.tenders_received is not None:  # type: ignore[attr-defined]
            group.lots_with_count += 1
            group.tenders += award.tenders_received  # type: ignore[attr-defined]
            group.single += award.tenders_received == 1  # type: ignore[attr-defined]
        for tender in award.winners:  # type: ignore[attr-defined]
            shown = tender.winner
            where = place(shown if shown.address_in_notice else full[shown.business_id])
            municipality, subregion, maakunta, abroad = where
            if abroad:
                kind = "abroad"
            elif maakunta is None:
                kind = "unknown"
            elif municipality == buyer.code:
                kind = "municipality"
            elif subregion is not None and subregion == buyer.subregion:
                kind = "subregion"
            elif maakunta == "05":
                kind = "region"
            else:
                kind = "finland"
            group.contracts[kind] += 1
            if tender.value is None:
                group.without_value += 1
            else:
                group.values[kind] += tender.value
            group.sizes["sme" if shown.size in ("micro", "small", "medium") else shown.size or "unknown"] += 1
    return figures


def _period(day: date, kind: str) -> str:
    return str(day.year) if kind == "year" else f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _answer(values: list[bool | int | None]) -> str:
    answered = [value for value in values if isinstance(value, bool)]
    return "yes" if any(answered) else "no" if answered else "unanswered"


def test_the_sample_has_every_case_the_meter_must_tell_apart(sample_today: SampleData) -> None:
    """Winners in each class, a value-less framework, a single tender, a lot without winner, flags unanswered."""
    figures = expected_figures(sample_today, register={})
    total = Figures()
    for group in figures.values():
        total.contracts.update(group.contracts)
        total.without_value += group.without_value
        total.single += group.single
        total.green.update(group.green)
        total.sizes.update(group.sizes)
    assert set(total.contracts) == set(CLASSES)
    assert total.without_value == 2 and total.single >= 2
    assert total.green["unanswered"] >= 1 and total.green["yes"] >= 3 and total.green["no"] >= 3
    assert set(total.sizes) == {"sme", "large", "unknown"}
    assert len({name for name in figures}) >= 2  # the awards span two calendar years at least


@pytest.fixture(scope="module")
def sample_today() -> SampleData:
    return load_sample()
