"""The vitality meter's pages: what staff see and download equals an independent recount of the sample."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import lxml.html
import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins.sample import SampleData, load_sample
from models.company import Company
from models.db import session_scope
from models.vitality import LOCATION_LABELS
from tests.sample_store import store_sample
from tests.web.test_accessibility import problems
from tests.web.test_vitality_expected import CLASSES, expected_figures

SAAREN = "2145061-7"  # Hattula's framework winner whose notice gives no address; the register says Forssa


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return load_sample()


@pytest.fixture
def stored(session_factory: sessionmaker[Session], sample: SampleData) -> None:
    with session_scope(session_factory) as session:
        store_sample(session, sample)
        session.add(
            Company(
                business_id=SAAREN, result="found", municipality_code="061", country="FI", fetched_at=datetime.now(UTC)
            )
        )


def read_csv(answer: object) -> list[dict[str, str]]:
    data = answer.data  # type: ignore[attr-defined]
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the BOM
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", ".")) if text else Decimal(0)


@pytest.mark.parametrize("period", ["vuosi", "neljannes"])
def test_the_exported_figures_equal_a_recount_of_the_sample(
    staff: FlaskClient, stored: None, sample: SampleData, period: str
) -> None:
    answer = staff.get(f"/henkilokunta/elinvoima/jaksot.csv?jakso={period}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = {row["Ajanjakso"]: row for row in read_csv(answer)}
    expected = expected_figures(sample, register={SAAREN: "061"}, period="year" if period == "vuosi" else "quarter")
    assert set(rows) == set(expected)
    for name, figures in expected.items():
        row = rows[name]
        assert int(row["Hankintoja"]) == figures.procedures
        for kind in CLASSES:
            assert int(row[f"Sopimuksia: {LOCATION_LABELS[kind]}"]) == figures.contracts[kind], (name, kind)
            assert number(row[f"Arvo: {LOCATION_LABELS[kind]} (€)"]) == figures.values[kind], (name, kind)
        assert int(row["Sopimuksia ilman arvoa"]) == figures.without_value
        assert (
            int(row["PK-yrityksiä"]) == figures.sizes["sme"]
            and int(row["Koko ei tiedossa"]) == figures.sizes["unknown"]
        )
        assert int(row["Osia, joiden tarjousmäärä tiedossa"]) == figures.lots_with_count
        if figures.lots_with_count:
            average = Decimal(figures.tenders) / figures.lots_with_count
            assert number(row["Tarjouksia osaa kohden"]) == round(average, 1)
        assert int(row["Osiin jaettuja hankintoja"]) == figures.divided
        assert int(row["Kestävyys: ei vastausta"]) == figures.green["unanswered"]
        assert int(row["PK-yritykset huomioitu: kyllä"]) == figures.sme_flag["yes"]
        contracts = sum(figures.contracts.values())
        local = figures.contracts["municipality"] + figures.contracts["subregion"] + figures.contracts["region"]
        assert number(row["Sopimuksista Kanta-Hämeessä (%)"]) == round(Decimal(100 * local) / contracts, 1)


def test_the_dashboard_shows_the_totals_and_each_chart_has_a_table_and_words(
    staff: FlaskClient, stored: None, sample: SampleData
) -> None:
    page = lxml.html.fromstring(staff.get("/henkilokunta/elinvoima").text)
    expected = expected_figures(sample, register={SAAREN: "061"})
    contracts = sum(sum(f.contracts.values()) for f in expected.values())
    summary = {
        div.findtext("dt"): div.findtext("dd") for div in page.xpath("//dl[contains(@class, 'vitality-summary')]/div")
    }
    assert summary["Sopimuksia (voittaja × osa)"] == str(contracts)
    assert summary["Hankintoja"] == str(sum(f.procedures for f in expected.values()))
    charts = page.xpath("//figure[contains(@class, 'vitality-chart')]")
    assert len(charts) >= 4
    for chart in charts:
        image = chart.find("img")
        assert image.get("alt").startswith("Pinottu pylväskaavio") and "taulukossa" in image.get("alt")
        assert chart.getnext().get("role") == "region" and chart.getnext().find(".//table") is not None
    links = page.xpath("//a[contains(@href, '.csv')]/@href")
    assert any("/vuosivertailu.csv" in link for link in links) and any("/sopimukset.csv" in link for link in links)
    assert page.xpath("//a[@href='/elinvoimamittari/menetelmat']")
    assert problems(staff.get("/henkilokunta/elinvoima?jakso=neljannes&seutukunta=051").text) == []


def test_charts_are_svg_without_inline_styles_and_name_their_groups(staff: FlaskClient, stored: None) -> None:
    for measure in ("arvo", "sopimukset"):
        answer = staff.get(f"/henkilokunta/elinvoima/kuva/seutukunnat.svg?mitta={measure}")
        assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
        root = etree.fromstring(answer.data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not root.xpath("//*[@style]") and not root.xpath("//*[local-name()='style']")  # the CSP forbids both
        texts = " ".join(root.itertext())
        assert "Hämeenlinnan seutukunta" in texts and "Sama kunta" in texts
    assert staff.get("/henkilokunta/elinvoima/kuva/hankkijat.svg").status_code == 404  # a table-only figure
    assert staff.get("/henkilokunta/elinvoima/kuva/jaksot.svg?mitta=x").status_code == 404


def test_filters_narrow_every_figure_and_unknown_values_are_ignored(staff: FlaskClient, stored: None) -> None:
    forssa = read_csv(staff.get("/henkilokunta/elinvoima/hankkijat.csv?seutukunta=053"))
    assert {row["Hankintayksikkö"] for row in forssa} == {
        "Forssan kaupunki",
        "Jokioisten kunta",
        "Tammelan kunta",
        "Ypäjän kunta",
    }
    everything = read_csv(staff.get("/henkilokunta/elinvoima/hankkijat.csv"))
    ignored = read_csv(staff.get("/henkilokunta/elinvoima/hankkijat.csv?seutukunta=999&toimiala=%3Cx%3E&aika=1999"))
    assert ignored == everything
    latest = max(row["Ajanjakso"] for row in read_csv(staff.get("/henkilokunta/elinvoima/jaksot.csv")))
    in_year = read_csv(staff.get(f"/henkilokunta/elinvoima/jaksot.csv?aika={latest}"))
    assert [row["Ajanjakso"] for row in in_year] == [latest]


def test_the_yearly_comparison_and_the_contract_list(staff: FlaskClient, stored: None, sample: SampleData) -> None:
    yearly = read_csv(staff.get("/henkilokunta/elinvoima/vuosivertailu.csv"))
    assert all(row["Kunta ja vuosi"].rsplit(" ", 1)[1].isdigit() for row in yearly)
    assert sum(int(row["Sopimuksia"]) for row in yearly) == sum(
        sum(f.contracts.values()) for f in expected_figures(sample, register={SAAREN: "061"}).values()
    )
    contracts = {row["Toimittaja"]: row for row in read_csv(staff.get("/henkilokunta/elinvoima/sopimukset.csv"))}
    saaren = contracts["Saaren Kiinteistöpalvelu Oy"]
    assert (saaren["Sijainti"], saaren["Sijainnin lähde"], saaren["Toimittajan kunta"]) == (
        "Muu Kanta-Häme",
        "yritysrekisteri",
        "Forssa",
    )
    assert saaren["Arvo (€)"] == "" and saaren["Puitejärjestely"] == "kyllä"
    unknown = contracts["Kotihoidon Apuvälinepalvelu Oy"]
    assert (unknown["Sijainti"], unknown["Sijainnin lähde"]) == ("Ei tiedossa", "ei tietoa")
    assert contracts["Tavastehus Språkservice Ab"]["Sijainnin lähde"] == "postitoimipaikka"
    assert contracts["Hämeen Sähköasennus Oy"]["Sijainnin lähde"] == "NUTS-alue (vain maakunta)"


def test_staff_pages_need_a_login_and_the_methodology_is_public(client: FlaskClient, stored: None) -> None:
    for path in (
        "/henkilokunta/elinvoima",
        "/henkilokunta/elinvoima/kuva/jaksot.svg",
        "/henkilokunta/elinvoima/jaksot.csv",
    ):
        answer = client.get(path)
        assert answer.status_code == 302 and "/henkilokunta/kirjaudu" in answer.headers["Location"], path
    page = client.get("/elinvoimamittari/menetelmat")
    assert page.status_code == 200
    text = lxml.html.fromstring(page.text).text_content()
    for phrase in ("valintaperusteena", "Puitejärjestelyt", "KL-Kuntahankin", "Hansel", "Myöhässä julkaistut"):
        assert phrase in text
