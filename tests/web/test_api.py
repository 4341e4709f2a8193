"""GET /api/tenders on SQLite and PostgreSQL: the CLI's records, every filter, pages, and 400s that say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from crawler.items import Organisation, Place
from models.db import session_scope
from models.queries import RECORD_KEYS, select_tenders, tender_record
from tests.web.conftest import Store

NOW = datetime.now(UTC)

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
LAHTI = {
    "places": [Place(nuts="FI1C3", town="Lahti", postcode="15100")],
    "buyers": [Organisation(name="Lahden kaupunki", business_id="0158651-7", town="Lahti", nuts="FI1C3")],
}
TAMPERE = {
    "places": [Place(nuts="FI197", town="Tampere", postcode="33100")],
    "buyers": [Organisation(name="Tampereen kaupunki", business_id="0211675-2", town="Tampere", nuts="FI197")],
}
BUILDING = {"cpv_main": "45210000", "titles": {"fi": "Koulun peruskorjaus"}, "descriptions": {"fi": "Rakennustyöt."}}


def titles(client: FlaskClient, **params: Any) -> list[str]:
    response = client.get("/api/tenders", query_string=params)
    assert response.status_code == 200, response.json
    return [item["title"] for item in response.json["items"]]


def error(client: FlaskClient, query: str) -> str:
    response = client.get(f"/api/tenders?{query}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    return response.json["error"]


def test_items_are_the_records_the_cli_prints_in_its_key_order(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    store("Siivous Forssassa", **FORSSA)
    store("Peruskorjaus Lahdessa", **LAHTI, **{k: v for k, v in BUILDING.items() if k != "titles"})
    response = client.get("/api/tenders")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert list(response.json) == ["items", "page", "per_page", "total", "pages"]
    with session_scope(session_factory) as session:
        statement = select_tenders(open_only=True, now=datetime.now(UTC))
        expected = [tender_record(tender, settings.timezone) for tender in session.scalars(statement)]
    assert response.json["items"] == expected
    assert all(list(item) == list(RECORD_KEYS) for item in response.json["items"])
    assert '"title": "Siivous Forssassa"' in response.text  # key order kept, Finnish letters unescaped
    assert response.json["total"] == 2 and response.json["pages"] == 1 and "Link" not in response.headers


def test_only_open_tenders_unless_all_is_asked(client: FlaskClient, store: Store) -> None:
    store("Avoin")
    store("Päättynyt", published_at=NOW - timedelta(days=30), deadline=NOW - timedelta(days=2))
    store("Peruttu", kind="cancellation")
    assert titles(client) == ["Avoin"]
    assert sorted(titles(client, all=1)) == ["Avoin", "Peruttu", "Päättynyt"]
    assert titles(client, all="true") == titles(client, all=1) and titles(client, all=0) == ["Avoin"]


def test_a_region_by_code_or_name_at_any_level(client: FlaskClient, store: Store) -> None:
    store("Forssa", **FORSSA)
    store("Lahti", **LAHTI)
    store("Tampere", **TAMPERE)
    assert titles(client, region="061") == ["Forssa"]
    assert titles(client, region="Forssa") == ["Forssa"]
    assert titles(client, region="053") == ["Forssa"]  # the Forssa sub-region
    assert titles(client, region="Päijät-Häme") == ["Lahti"]
    assert sorted(titles(client, region="05")) == ["Forssa"]
    assert titles(client, region="Inari") == []


def test_sectors_and_kinds_repeat_as_any_of(client: FlaskClient, store: Store) -> None:
    store("Siivous")
    store("Peruskorjaus", **{k: v for k, v in BUILDING.items() if k != "titles"})
    store("Ennakkotieto", kind="prior_information")  # planned: listed with all=1
    assert sorted(titles(client, all=1, sector="siivous")) == ["Ennakkotieto", "Siivous"]
    assert titles(client, all=1, sector="rakentaminen") == ["Peruskorjaus"]
    assert len(titles(client, all=1, sector=["siivous", "rakentaminen"])) == 3
    assert titles(client, all=1, kind="prior_information") == ["Ennakkotieto"]
    assert len(titles(client, all=1, kind=["prior_information", "contract_notice"])) == 3
    assert titles(client, all=1, kind="award") == []
    assert titles(client, all=1, sector="rakentaminen", kind="prior_information") == []


def test_status_is_the_effective_one_including_closed(client: FlaskClient, store: Store) -> None:
    store("Avoin")
    store("Päättynyt", published_at=NOW - timedelta(days=30), deadline=NOW - timedelta(days=2))
    store("Peruttu", kind="cancellation")
    assert titles(client, all=1, status="closed") == ["Päättynyt"]
    assert titles(client, all=1, status="open") == ["Avoin"]
    assert sorted(titles(client, all=1, status=["closed", "cancelled"])) == ["Peruttu", "Päättynyt"]
    assert titles(client, status="closed") == []  # open only and closed: nothing


def test_date_windows_are_inclusive_helsinki_days(client: FlaskClient, store: Store) -> None:
    # 22.30 UTC on 9 March is 00.30 on 10 March in Helsinki
    store("Yöllä julkaistu", published_at=datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
    store("Päivällä julkaistu", published_at=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    store("Myöhään päättyvä", deadline=datetime(2026, 6, 1, 20, 59, tzinfo=UTC))  # 23.59 in Helsinki
    store("Aamulla päättyvä", deadline=datetime(2026, 6, 1, 21, 0, tzinfo=UTC))  # 00.00 on 2 June
    assert titles(client, all=1, published_from="2026-03-10", published_to="2026-03-10") == ["Yöllä julkaistu"]
    assert titles(client, all=1, published_from="2026-03-09", published_to="2026-03-09") == ["Päivällä julkaistu"]
    assert titles(client, all=1, deadline_from="2026-06-01", deadline_to="2026-06-01") == ["Myöhään päättyvä"]
    assert titles(client, all=1, deadline_from="2026-06-02", deadline_to="2026-06-02") == ["Aamulla päättyvä"]
    assert len(titles(client, all=1, deadline_to="2026-06-02")) == 2
    assert len(titles(client, all=1, published_from="0001-01-01", published_to="9999-12-31")) == 4


def test_sort_orders(client: FlaskClient, store: Store) -> None:
    store("B", published_at=NOW - timedelta(days=3), deadline=NOW + timedelta(days=5))
    store("A", published_at=NOW - timedelta(days=1), deadline=NOW + timedelta(days=20))
    store("C", published_at=NOW - timedelta(days=2), deadline=NOW + timedelta(days=1))
    assert titles(client) == ["C", "B", "A"]
    assert titles(client, sort="deadline") == ["C", "B", "A"]
    assert titles(client, sort="-deadline") == ["A", "B", "C"]
    assert titles(client, sort="published") == ["B", "C", "A"]
    assert titles(client, sort="-published") == ["A", "C", "B"]


def test_pages_with_a_link_to_the_next_keeping_the_filters(client: FlaskClient, store: Store) -> None:
    for day in range(5):
        store(f"Hankinta {day}", deadline=NOW + timedelta(days=day + 1))
    first = client.get("/api/tenders?sector=siivous&per_page=2")
    body = first.json
    assert [body["page"], body["per_page"], body["total"], body["pages"]] == [1, 2, 5, 3]
    assert [item["title"] for item in body["items"]] == ["Hankinta 0", "Hankinta 1"]
    assert first.headers["Link"].endswith('; rel="next"') and 'rel="prev"' not in first.headers["Link"]
    next_url = first.headers["Link"].removeprefix("<").split(">")[0]
    parts = urlsplit(next_url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://hankintavahti.test" and parts.path == "/api/tenders"
    assert parse_qs(parts.query) == {"sector": ["siivous"], "per_page": ["2"], "page": ["2"]}
    second = client.get(f"{parts.path}?{parts.query}")
    assert [item["title"] for item in second.json["items"]] == ["Hankinta 2", "Hankinta 3"]
    assert 'rel="next"' in second.headers["Link"] and 'rel="prev"' in second.headers["Link"]
    last = client.get("/api/tenders?sector=siivous&per_page=2&page=3")
    assert [item["title"] for item in last.json["items"]] == ["Hankinta 4"]
    assert 'rel="next"' not in last.headers["Link"]
    beyond = client.get("/api/tenders?per_page=2&page=9")
    assert beyond.status_code == 200 and beyond.json["items"] == [] and beyond.json["total"] == 5
    empty = client.get("/api/tenders?kind=award")
    assert empty.json == {"items": [], "page": 1, "per_page": 50, "total": 0, "pages": 0}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("region=Atlantis", "region"),
        ("region=", "region"),
        ("sector=kaivostoiminta", "sector"),
        ("kind=tarjouspyynto", "kind"),
        ("status=ready", "status"),
        ("sort=title", "sort"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=%EF%BC%92", "page"),  # a full-width digit
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("published_from=2026-02-30", "published_from"),
        ("published_to=20260301", "published_to"),
        ("deadline_from=1.6.2026", "deadline_from"),
        ("deadline_from=2026-06-02&deadline_to=2026-06-01", "deadline_from"),
        ("all=kyllä", "all"),
        ("page=1&page=2", "page"),
        ("regoin=05", "regoin"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client: FlaskClient, query: str, named: str) -> None:
    message = error(client, query)
    assert named in message and "\n" not in message


@pytest.mark.filterwarnings("ignore")
def test_no_query_string_gives_a_server_error(client: FlaskClient, store: Store) -> None:
    store("Siivous", **FORSSA)
    names = st.sampled_from(
        [
            "all",
            "region",
            "sector",
            "kind",
            "status",
            "sort",
            "page",
            "per_page",
            "published_from",
            "published_to",
            "deadline_from",
            "deadline_to",
            "x",
        ]
    )
    values = st.one_of(
        st.text(max_size=12),
        st.from_regex(r"-?[0-9]{1,30}", fullmatch=True),
        st.dates().map(date_text),
        st.sampled_from(["05", "061", "Forssa", "siivous", "open", "closed", "-published", "kunta:051", "1"]),
    )

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(names, values), max_size=5), st.text(max_size=40))
    def check(params: list[tuple[str, str]], raw: str) -> None:
        for query in (urlencode(params), raw):
            response = client.get(f"/api/tenders?{query}")
            assert response.status_code in (200, 400), (query, response.status_code)
            assert response.mimetype == "application/json"
            assert ("items" if response.status_code == 200 else "error") in response.json

    check()


def date_text(day: Any) -> str:
    return day.isoformat()
