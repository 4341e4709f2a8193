"""The vitality meter over the stored sample: its figures equal an independent recount of the sample's notices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from crawler.classification.region_data import load_region_data
from crawler.standins.sample import SampleData, load_sample
from models.company import Company
from models.db import session_scope
from models.vitality import (
    LOCATION_CLASSES,
    Filters,
    Indicators,
    Location,
    Locator,
    Procedure,
    filtered,
    group_key,
    indicators,
    load_procedures,
    location_class,
    yearly_by_municipality,
)
from tests.sample_store import store_sample
from tests.web.test_vitality_expected import Figures, expected_figures

#: Saaren Kiinteistöpalvelu Oy: Hattula's award notice gives only its name, business ID and country.
SAAREN = "2145061-7"
#: Kotihoidon Apuvälinepalvelu Oy: no address in the notice and (in these tests) not in the register.
KOTIHOIDON = "1095597-8"


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return load_sample()


@pytest.fixture
def stored(session_factory: sessionmaker[Session], sample: SampleData) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        store_sample(session, sample)
    return session_factory


def add_company(session: Session, business_id: str, **fields: object) -> None:
    values = {"result": "found", "fetched_at": datetime.now(UTC), **fields}
    session.add(Company(business_id=business_id, **values))


def assert_same(shown: Indicators, expected: Figures) -> None:
    assert shown.procedures == expected.procedures
    assert shown.contracts_by_class == {name: expected.contracts[name] for name in LOCATION_CLASSES}
    assert shown.value_by_class == expected.values
    assert shown.contracts_without_value == expected.without_value
    assert (shown.sme, shown.large, shown.size_unknown) == (
        expected.sizes["sme"],
        expected.sizes["large"],
        expected.sizes["unknown"],
    )
    assert (shown.lots_with_count, shown.tenders_received, shown.single_tender_lots) == (
        expected.lots_with_count,
        expected.tenders,
        expected.single,
    )
    assert shown.divided == expected.divided
    assert shown.sustainability == {key: expected.green[key] for key in ("yes", "no", "unanswered")}
    assert shown.sme_flag == {key: expected.sme_flag[key] for key in ("yes", "no", "unanswered")}


@pytest.mark.parametrize("period", ["year", "quarter"])
def test_the_meter_equals_a_recount_of_the_sample_per_period(
    stored: sessionmaker[Session], sample: SampleData, period: str
) -> None:
    with session_scope(stored) as session:
        # the register knows Saaren Kiinteistöpalvelu (Forssa) and not the other firm without an address
        add_company(session, SAAREN, municipality_code="061", postal_municipality_code="061", country="FI")
        add_company(session, KOTIHOIDON, result="not_found")
    with session_scope(stored) as session:
        procedures = load_procedures(session)
        shown = {f.group: f for f in indicators(procedures, group_key("period", Filters(period=period)))}
    expected = expected_figures(sample, register={SAAREN: "061"}, period=period)
    assert set(shown) == set(expected) and len(shown) >= 2
    for name, figures in expected.items():
        assert_same(shown[name], figures)


def test_only_kanta_hame_buyers_and_each_lot_once_from_its_latest_notice(stored: sessionmaker[Session]) -> None:
    with session_scope(stored) as session:
        procedures = load_procedures(session)
    buyers = {procedure.buyer_name for procedure in procedures}
    assert "Lahden kaupunki" not in buyers and "Oulun kaupunki" not in buyers  # their awards are outside the region
    assert {"Forssan kaupunki", "Hattulan kunta", "Hämeen ammattikorkeakoulu Oy"} <= buyers
    # Forssa's cleaning award was corrected a week later: the corrected value counts, once
    cleaning = [c for p in procedures for c in p.contracts if c.winner_name == "Forssan Siivous Kivelä Oy"]
    assert [contract.value for contract in cleaning] == [Decimal("431000")]


def test_every_winner_of_a_framework_lot_is_a_contract_with_its_own_value(stored: sessionmaker[Session]) -> None:
    with session_scope(stored) as session:
        procedures = load_procedures(session)
    [ict] = [p for p in procedures if p.buyer_name == "Hämeenlinnan kaupunki" and p.sector == "ict"]
    [lot] = ict.lots
    assert lot.tenders_received == 7
    assert sorted((c.location_class, c.value) for c in lot.contracts) == [
        ("abroad", Decimal("250000")),
        ("finland", Decimal("900000")),
        ("municipality", Decimal("300000")),
    ]
    figures = indicators([ict])[0]
    assert figures.contracts == 3 and figures.local_value_share("municipality") == pytest.approx(300000 / 1450000)


def test_a_framework_without_values_counts_in_contract_shares_and_not_in_value_shares(
    stored: sessionmaker[Session],
) -> None:
    with session_scope(stored) as session:
        procedures = load_procedures(session)
    [hattula] = [p for p in procedures if p.buyer_name == "Hattulan kunta" and p.sector == "kiinteistonhoito"]
    figures = indicators([hattula])[0]
    assert figures.contracts == 2 and figures.contracts_without_value == 2
    assert figures.value == 0 and figures.value_share("subregion") is None  # no value: no share, not 0 %
    assert figures.contract_share("subregion") == 0.5


def test_a_winner_the_notice_does_not_place_is_placed_by_the_register_or_stays_unknown(
    stored: sessionmaker[Session],
) -> None:
    def saaren() -> tuple[str, str]:
        with session_scope(stored) as session:
            [contract] = [c for p in load_procedures(session) for c in p.contracts if c.winner_business_id == SAAREN]
            return contract.location_class, contract.location.source

    assert saaren() == ("unknown", "none")  # not looked up yet: unknown, never guessed from the buyer
    with session_scope(stored) as session:
        add_company(session, SAAREN, result="not_found")
    assert saaren() == ("unknown", "none")
    with session_scope(stored) as session:
        company = session.get(Company, SAAREN)
        assert company is not None
        company.result, company.postal_municipality_code = "found", "061"  # only the postal address is known
    assert saaren() == ("region", "register")  # Forssa: Kanta-Häme, not Hattula's sub-region
    with session_scope(stored) as session:
        company = session.get(Company, SAAREN)
        assert company is not None
        company.municipality_code = "082"  # the visiting address (Hattula) wins over the postal one
    assert saaren() == ("municipality", "register")


def test_a_swedish_notice_places_winners_by_swedish_town_names(stored: sessionmaker[Session]) -> None:
    with session_scope(stored) as session:
        procedures = load_procedures(session)
    [hamk] = [p for p in procedures if p.buyer_name == "Hämeen ammattikorkeakoulu Oy" and p.sector == "asiantuntija"]
    places = {c.winner_name: (c.location_class, c.location.source) for c in hamk.contracts}
    assert places == {
        "Tavastehus Språkservice Ab": ("municipality", "town"),  # "Tavastehus" is Hämeenlinna
        "Översättningsbyrå Lindqvist Ab": ("finland", "postcode"),  # Ekenäs, Raasepori
    }


def test_filters_and_the_yearly_comparison_per_municipality(stored: sessionmaker[Session]) -> None:
    with session_scope(stored) as session:
        procedures = load_procedures(session)
    forssa_region = filtered(procedures, Filters(subregion="053"))
    assert {p.buyer_municipality for p in forssa_region} <= {"061", "103", "169", "834", "981"}
    assert {p.buyer_name for p in filtered(procedures, Filters(municipality="061"))} == {"Forssan kaupunki"}
    food = filtered(procedures, Filters(sector="elintarvikkeet"))
    assert {p.buyer_name for p in food} == {"Riihimäen kaupunki", "Jokioisten kunta"}
    years = {p.day.year for p in procedures}
    latest = str(max(years))
    in_year = filtered(procedures, Filters(period="year", period_value=latest))
    assert in_year and all(lot.day.year == max(years) for p in in_year for lot in p.lots)
    rows = {row.group: row for row in yearly_by_municipality(procedures)}
    assert f"Forssa {latest}" in rows or any(name.startswith("Forssa ") for name in rows)
    assert sum(row.contracts for row in rows.values()) == sum(len(p.contracts) for p in procedures)


# -- locating without the database ---------------------------------------------------------------

REGIONS = load_region_data()
LOCATOR = Locator(REGIONS)


@given(postcode=st.sampled_from(sorted(REGIONS.postcodes)), town=st.text(max_size=12), nuts=st.text(max_size=5))
def test_a_finnish_postcode_decides_over_town_and_nuts(postcode: str, town: str, nuts: str) -> None:
    located = LOCATOR.from_address(postcode=postcode, town=town, nuts=nuts, country="FIN")
    assert (located.municipality, located.source) == (REGIONS.postcodes[postcode], "postcode")


@given(town=st.text(max_size=20), country=st.sampled_from([None, "FIN", "FI"]))
def test_an_unknown_town_without_postcode_or_nuts_is_never_given_a_place(town: str, country: str | None) -> None:
    located = LOCATOR.from_address(town=town, country=country)
    if " ".join(town.split()).casefold() in REGIONS.towns:
        assert located.source == "town"
    else:
        assert located == Location()


@given(
    winner=st.sampled_from(sorted(REGIONS.municipalities)),
    buyer=st.sampled_from(sorted(m for m, data in REGIONS.municipalities.items() if data.maakunta == "05")),
)
def test_local_classes_nest(winner: str, buyer: str) -> None:
    """Same municipality ⇒ the buyer's; same sub-region ⇒ sub-region; Kanta-Häme ⇒ region; else Finland."""
    w, b = LOCATOR.municipality(winner, "postcode"), LOCATOR.municipality(buyer, "postcode")
    kind = location_class(w, b)
    expected = (
        "municipality"
        if winner == buyer
        else "subregion"
        if w.subregion == b.subregion
        else "region"
        if w.maakunta == "05"
        else "finland"
    )
    assert kind == expected
    assert location_class(Location(maakunta="05", source="nuts"), b) == "region"  # maakunta only: no finer credit
    assert location_class(Location(abroad=True, source="country"), b) == "abroad"
    assert location_class(Location(), b) == "unknown"


def test_a_procedure_split_over_periods_counts_once_in_each() -> None:
    """Lots decided in two quarters: the procedure is in both groups, each lot in its own."""
    from models.vitality import LotResult

    lots = (
        LotResult(1, "LOT-0001", datetime(2025, 3, 30).date(), 2, ()),
        LotResult(1, "LOT-0002", datetime(2025, 4, 2).date(), 1, ()),
    )
    procedure = Procedure(1, "x", 1, "Forssan kaupunki", "061", "053", None, lots[0].day, 2, {}, lots)
    groups = {f.group: f for f in indicators([procedure], group_key("period", Filters(period="quarter")))}
    assert {name: (f.procedures, f.lots_with_count, f.single_tender_lots) for name, f in groups.items()} == {
        "2025 Q1": (1, 1, 0),
        "2025 Q2": (1, 1, 1),
    }


def test_the_flags_the_meter_reads_are_flags_the_hilma_mapper_keeps() -> None:
    """A misspelt flag name here would read as "not answered" for every procedure, silently."""
    from crawler.hilma_json import STATISTICS_FLAGS
    from models.vitality import SME_FLAG, SUSTAINABILITY_FLAGS

    assert set(SUSTAINABILITY_FLAGS) <= set(STATISTICS_FLAGS) and SME_FLAG in STATISTICS_FLAGS
