"""The calendar's rules on stored notices: which tenders an area gets, of what kind, dated how, and what is past."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from crawler.classification.region_data import load_region_data
from crawler.classification.sectors import sector_names
from crawler.items import Award, Lot, NoticeItem, Organisation, Place
from crawler.store import store_item
from models.calendar import (
    CalendarEntry,
    CalendarQuery,
    Expected,
    add_duration,
    area_by_key,
    subregion_area,
    subregion_by_slug,
    subregion_slug,
    upcoming,
)
from models.db import session_scope
from tests.conftest import MakeNotice

HELSINKI = ZoneInfo("Europe/Helsinki")
DATA = load_region_data()
FORSSA_BUYER = Organisation(name="Forssan kaupunki", business_id="0732707-3", postcode="30100", town="Forssa")
HELSINKI_BUYER = Organisation(name="Väylävirasto", business_id="1010547-1", postcode="00520", town="Helsinki")
WINNER = Organisation(name="Urakoitsija Oy", business_id="1234567-8", postcode="30100", town="Forssa")


def today() -> date:
    return datetime.now(HELSINKI).date()


def entries(sessions: sessionmaker[Session], key: str = "seutukunta:053", **query: Any) -> list[CalendarEntry]:
    area = area_by_key(DATA, key)
    assert area is not None
    with sessions() as session:
        return upcoming(
            session,
            CalendarQuery(area=area, **query),
            data=DATA,
            sector_labels=sector_names(),
            now=datetime.now(UTC),
            timezone=HELSINKI,
        )


def put(sessions: sessionmaker[Session], *items: NoticeItem) -> None:
    with session_scope(sessions) as session:
        for item in items:
            store_item(session, item)


def award(make_notice: MakeNotice, title: str, lots: list[Lot], awards: list[Award], **fields: Any) -> NoticeItem:
    values: dict[str, Any] = {
        "kind": "award",
        "subtype": "E4",
        "deadline": None,
        "titles": {"fi": title},
        "buyers": [FORSSA_BUYER],
        "places": [Place(town="Forssa", postcode="30100")],
        "published_at": datetime.now(UTC) - timedelta(days=3),
        "lots": lots,
        "awards": awards,
    }
    values.update(fields)
    return make_notice(**values)


def won(lot: str, contract_date: date | None = None) -> Award:
    return Award(lot_id=lot, result="selec-w", winner=WINNER, contract_date=contract_date and contract_date.isoformat())


# --- arithmetic ------------------------------------------------------------------------------


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 240))
def test_a_duration_in_months_lands_in_the_right_month_on_the_same_day_or_the_months_last(
    start: date, months: int
) -> None:
    end = add_duration(start, f"P{months}M")
    assert end is not None
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])
    if months % 12 == 0:
        assert add_duration(start, f"P{months // 12}Y") == end


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("P2Y6M", date(2029, 7, 31)), ("P30D", date(2027, 3, 2)), ("P2W", date(2027, 2, 14)), ("", None), ("24", None)],
)
def test_durations_mix_units_and_unknown_forms_give_none(duration: str, expected: date | None) -> None:
    assert add_duration(date(2027, 1, 31), duration) == expected


def test_a_month_or_quarter_is_past_only_after_its_last_day() -> None:
    assert Expected(date(2027, 2, 3), "month").last_day() == date(2027, 2, 28)
    assert Expected(date(2027, 5, 3), "quarter").last_day() == date(2027, 6, 30)
    assert Expected(date(2027, 5, 3), "day").last_day() == date(2027, 5, 3)


def test_subregions_have_addresses_from_their_names() -> None:
    assert subregion_slug("Hämeenlinnan seutukunta") == "hameenlinnan-seutu"
    for code in ("051", "052", "053", "071"):
        area = subregion_area(DATA, code)
        assert area is not None and subregion_by_slug(DATA, subregion_slug(area.name)) == area
    assert subregion_by_slug(DATA, "hameenlinna") is None
    assert area_by_key(DATA, "kunta:061").municipalities == frozenset({"061"})  # type: ignore[union-attr]
    assert area_by_key(DATA, "seutukunta:999") is None and area_by_key(DATA, "x") is None


# --- stored notices --------------------------------------------------------------------------


def test_contract_end_comes_from_the_end_else_start_plus_duration_else_signing_else_publication(
    session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    day = today()
    published = datetime.now(UTC) - timedelta(days=3)
    put(
        session_factory,
        award(
            make_notice,
            "Päättymispäivä",
            [Lot(id="LOT-0001", contract_end=(day + timedelta(days=400)).isoformat(), duration="P1M")],
            [won("LOT-0001")],
        ),
        award(
            make_notice,
            "Alku ja kesto",
            [Lot(id="LOT-0001", contract_start="2026-01-15", duration="P48M")],
            [won("LOT-0001", date(2025, 12, 1))],
        ),
        award(
            make_notice,
            "Sopimuspäivä ja kesto",
            [Lot(id="LOT-0001", duration="P36M")],
            [won("LOT-0001", date(2026, 3, 10))],
        ),
        award(
            make_notice,
            "Julkaisu ja kesto",
            [Lot(id="LOT-0001", duration="P2Y")],
            [won("LOT-0001")],
            published_at=published,
        ),
        award(make_notice, "Ei kestoa", [Lot(id="LOT-0001")], [won("LOT-0001", date(2026, 3, 10))]),
    )
    found = {entry.title: (entry.kind, entry.expected, entry.basis) for entry in entries(session_factory)}
    published_day = published.astimezone(HELSINKI).date()
    assert found == {
        "Päättymispäivä": ("contract_ending", Expected(day + timedelta(days=400), "day"), "contract_end"),
        "Alku ja kesto": ("contract_ending", Expected(date(2030, 1, 15), "day"), "start_duration"),
        "Sopimuspäivä ja kesto": ("contract_ending", Expected(date(2029, 3, 10), "month"), "contract_date_duration"),
        "Julkaisu ja kesto": (
            "contract_ending",
            Expected(add_duration(published_day, "P24M"), "quarter"),  # type: ignore[arg-type]
            "published_duration",
        ),
    }


def test_past_entries_are_not_shown(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> None:
    now = datetime.now(UTC)
    day = today()
    common = {"buyers": [FORSSA_BUYER], "places": [Place(town="Forssa", postcode="30100")]}
    put(
        session_factory,
        make_notice(titles={"fi": "Määräaika mennyt"}, deadline=now - timedelta(hours=1), **common),
        make_notice(titles={"fi": "Määräaika tulossa"}, deadline=now + timedelta(days=5), **common),
        award(
            make_notice,
            "Sopimus päättyi",
            [Lot(id="LOT-0001", contract_end=(day - timedelta(days=1)).isoformat())],
            [won("LOT-0001")],
        ),
        award(
            make_notice, "Sopimus päättyy tänään", [Lot(id="LOT-0001", contract_end=day.isoformat())], [won("LOT-0001")]
        ),
        # two lots: the first has ended, so the second one's end is what is coming
        award(
            make_notice,
            "Kaksi osaa",
            [
                Lot(id="LOT-0001", contract_end=(day - timedelta(days=30)).isoformat()),
                Lot(id="LOT-0002", contract_end=(day + timedelta(days=90)).isoformat(), framework_agreement=True),
            ],
            [won("LOT-0001"), won("LOT-0002")],
        ),
        make_notice(
            titles={"fi": "Ennakko mennyt"},
            kind="prior_information",
            subtype="E2",
            deadline=None,
            lots=[Lot(id="PAR-0000", contract_start=(day - timedelta(days=70)).isoformat())],
            **common,
        ),
        make_notice(
            titles={"fi": "Ennakko tulossa"},
            kind="prior_information",
            subtype="E2",
            deadline=None,
            lots=[Lot(id="PAR-0000", contract_start=(day + timedelta(days=70)).isoformat())],
            **common,
        ),
    )
    found = {entry.title: entry for entry in entries(session_factory)}
    assert set(found) == {"Määräaika tulossa", "Sopimus päättyy tänään", "Kaksi osaa", "Ennakko tulossa"}
    assert found["Kaksi osaa"].expected == Expected(day + timedelta(days=90), "day") and found["Kaksi osaa"].framework
    assert found["Ennakko tulossa"].expected == Expected(day + timedelta(days=70), "month")
    assert found["Ennakko tulossa"].basis == "contract_start"
    assert found["Määräaika tulossa"].kind == "open_call"


def test_a_cancelled_or_unawarded_procedure_gives_no_entry(
    session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    common = {"buyers": [FORSSA_BUYER], "places": [Place(town="Forssa", postcode="30100")]}
    put(
        session_factory,
        make_notice(titles={"fi": "Peruttu"}, cancelled=True, **common),
        award(
            make_notice,
            "Ei voittajaa",
            [Lot(id="LOT-0001", duration="P12M")],
            [Award(lot_id="LOT-0001", result="clos-nw")],
        ),
    )
    assert entries(session_factory) == []


def test_an_area_has_its_own_buyers_and_the_work_placed_in_it(
    session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    soon = datetime.now(UTC) + timedelta(days=10)
    put(
        session_factory,
        make_notice(titles={"fi": "Forssan oma, ei paikkaa"}, buyers=[FORSSA_BUYER], places=[], deadline=soon),
        make_notice(
            titles={"fi": "Valtion silta Forssassa"},
            deadline=soon,
            buyers=[HELSINKI_BUYER],
            places=[Place(town="Forssa", postcode="30100")],
        ),
        make_notice(
            titles={"fi": "Valtion tie Tampereella"},
            deadline=soon,
            buyers=[HELSINKI_BUYER],
            places=[Place(town="Tampere", postcode="33100")],
        ),
    )
    assert {entry.title for entry in entries(session_factory)} == {"Forssan oma, ei paikkaa", "Valtion silta Forssassa"}
    assert {entry.title for entry in entries(session_factory, "kunta:061")} == {
        "Forssan oma, ei paikkaa",
        "Valtion silta Forssassa",
    }
    assert entries(session_factory, "seutukunta:051") == []
    bridge = next(e for e in entries(session_factory) if e.title == "Valtion silta Forssassa")
    assert bridge.municipality == "Forssa" and bridge.buyer == "Väylävirasto"


def test_filters_by_sector_buyer_kind_and_horizon(
    session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    now = datetime.now(UTC)
    common = {"buyers": [FORSSA_BUYER], "places": [Place(town="Forssa", postcode="30100")]}
    put(
        session_factory,
        make_notice(
            titles={"fi": "Koulujen siivous"}, cpv_main="90911200", deadline=now + timedelta(days=10), **common
        ),
        make_notice(
            titles={"fi": "Katujen asfaltointi"}, cpv_main="45233222", deadline=now + timedelta(days=300), **common
        ),
        make_notice(
            titles={"fi": "Valtion silta Forssassa"},
            buyers=[HELSINKI_BUYER],
            cpv_main="45221111",
            deadline=now + timedelta(days=20),
            places=[Place(town="Forssa", postcode="30100")],
        ),
    )
    everything = entries(session_factory)
    assert [entry.title for entry in everything] == [
        "Koulujen siivous",
        "Valtion silta Forssassa",
        "Katujen asfaltointi",
    ]
    assert {e.title for e in entries(session_factory, sector="siivous")} == {"Koulujen siivous"}
    state = next(e.buyer_id for e in everything if e.buyer == "Väylävirasto")
    assert {e.title for e in entries(session_factory, buyer_id=state)} == {"Valtion silta Forssassa"}
    assert {e.title for e in entries(session_factory, until=today() + timedelta(days=180))} == {
        "Koulujen siivous",
        "Valtion silta Forssassa",
    }
    assert entries(session_factory, kinds=frozenset({"plan"})) == []
