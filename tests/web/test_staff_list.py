"""The staff tender list: access control, each filter, sorting, pages, free text in inflected forms, exports.

Tenders are stored as the crawler stores them (``store_item``), relative to the real
clock, because statuses and windows are read against now.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Organisation, Place
from models.db import session_scope
from models.review import TenderReview
from tests.web.conftest import Store, tender_id
from web.staff import EXPORT_COLUMNS, neutralised

FORSSA = {
    "places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")],
    "buyers": [Organisation(name="Forssan kaupunki", business_id="0145209-5", town="Forssa", nuts="FI1C2")],
}
LAHTI = {
    "places": [Place(nuts="FI1C3", town="Lahti", postcode="15100")],
    "buyers": [Organisation(name="Lahden kaupunki", business_id="0158651-7", town="Lahti", nuts="FI1C3")],
}
TAMPERE = {
    "places": [Place(nuts="FI197", town="Tampere", postcode="33100")],
    "buyers": [Organisation(name="Tampereen kaupunki", business_id="0211675-2", town="Tampere", nuts="FI197")],
}
ICT = {"cpv_main": "72000000", "descriptions": {"fi": "Ohjelmistokehitys ja ylläpito."}}


def titles(page: str) -> list[str]:
    """The tender titles listed on a page, in order."""
    return re.findall(r'class="tender-title" href="/henkilokunta/hankinnat/\d+">([^<]*)</a>', page)


def count(page: str) -> str:
    found = re.search(r'<p id="count"[^>]*>\s*(.*?)\s*</p>', page, re.S)
    assert found
    return " ".join(found.group(1).split())


def review(session_factory: sessionmaker[Session], tender: int, relevance: str | None, note: str | None = None) -> None:
    with session_scope(session_factory) as session:
        session.add(
            TenderReview(
                tender_id=tender, relevance=relevance, note=note, reviewed_by="maija", reviewed_at=datetime.now(UTC)
            )
        )


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/henkilokunta/", "/henkilokunta/vienti.csv", "/henkilokunta/vienti.xlsx?haku=a"])
def test_logged_out_staff_go_to_the_login_page(client: FlaskClient, path: str) -> None:
    refused = client.get(path)
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/henkilokunta/kirjaudu?seuraava=")


def test_the_list_page_has_a_title_labels_and_links_to_the_detail(
    staff: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    store(titles={"fi": "Forssan koulujen siivous"}, **FORSSA)
    page = staff.get("/henkilokunta/")
    assert page.status_code == 200
    assert "<title>Hankinnat – Hankintavahti</title>" in page.text
    for field in re.findall(r'<(?:select|input) [^>]*id="([^"]+)"', page.text):
        assert f'<label for="{field}">' in page.text, field
    detail = tender_id(session_factory, "Forssan koulujen siivous")
    assert f'href="/henkilokunta/hankinnat/{detail}">Forssan koulujen siivous</a>' in page.text
    assert "Forssan kaupunki" in page.text and "Forssa" in page.text and "Siivous" in page.text
    assert "Arvioimatta" in page.text and "Avoin" in page.text
    assert count(page.text) == "1 hankinta."


# --- filters ----------------------------------------------------------------------------------


def test_region_filters_at_each_level(staff: FlaskClient, store: Store) -> None:
    store(titles={"fi": "Forssan hankinta"}, **FORSSA)
    store(titles={"fi": "Lahden hankinta"}, **LAHTI)
    store(titles={"fi": "Tampereen hankinta"}, **TAMPERE)
    assert titles(staff.get("/henkilokunta/?maakunta=05").text) == ["Forssan hankinta"]
    assert titles(staff.get("/henkilokunta/?maakunta=07").text) == ["Lahden hankinta"]
    assert titles(staff.get("/henkilokunta/?seutukunta=053").text) == ["Forssan hankinta"]
    assert titles(staff.get("/henkilokunta/?kunta=837").text) == ["Tampereen hankinta"]
    assert titles(staff.get("/henkilokunta/?maakunta=05&kunta=837").text) == []
    # an unknown code is dropped, not an error: a stale bookmark still opens
    assert len(titles(staff.get("/henkilokunta/?maakunta=99").text)) == 3


def test_sector_kind_and_status_filters(staff: FlaskClient, store: Store) -> None:
    now = datetime.now(UTC)
    store(titles={"fi": "Siivous"}, **FORSSA)
    store(titles={"fi": "Ohjelmisto"}, **ICT, **FORSSA)
    store(titles={"fi": "Päättynyt"}, published_at=now - timedelta(days=30), deadline=now - timedelta(days=2))
    store(titles={"fi": "Ennakko"}, kind="prior_information", deadline=None)
    assert titles(staff.get("/henkilokunta/?toimiala=ict").text) == ["Ohjelmisto"]
    assert titles(staff.get("/henkilokunta/?laji=prior_information").text) == ["Ennakko"]
    assert titles(staff.get("/henkilokunta/?tila=closed").text) == ["Päättynyt"]
    assert sorted(titles(staff.get("/henkilokunta/?tila=open").text)) == ["Ohjelmisto", "Siivous"]
    assert titles(staff.get("/henkilokunta/?toimiala=ict&tila=closed").text) == []


def test_deadline_and_published_windows(staff: FlaskClient, store: Store) -> None:
    now = datetime.now(UTC)
    store(titles={"fi": "Pian"}, deadline=now + timedelta(days=3))
    store(titles={"fi": "Myöhemmin"}, deadline=now + timedelta(days=40), published_at=now - timedelta(days=20))
    soon = (now + timedelta(days=10)).date().isoformat()
    assert titles(staff.get(f"/henkilokunta/?maaraaika_asti={soon}").text) == ["Pian"]
    assert titles(staff.get(f"/henkilokunta/?maaraaika_alkaen={soon}").text) == ["Myöhemmin"]
    week_ago = (now - timedelta(days=7)).date().isoformat()
    assert titles(staff.get(f"/henkilokunta/?julkaistu_alkaen={week_ago}").text) == ["Pian"]
    assert titles(staff.get(f"/henkilokunta/?julkaistu_asti={week_ago}").text) == ["Myöhemmin"]
    assert len(titles(staff.get("/henkilokunta/?julkaistu_asti=2026-13-45").text)) == 2  # a bad day is dropped


def test_review_status_filter(staff: FlaskClient, store: Store, session_factory: sessionmaker[Session]) -> None:
    for title in ("Hyvä", "Huono", "Vain muistiinpano", "Koskematon"):
        store(titles={"fi": title})
    review(session_factory, tender_id(session_factory, "Hyvä"), "relevant")
    review(session_factory, tender_id(session_factory, "Huono"), "not_relevant")
    review(session_factory, tender_id(session_factory, "Vain muistiinpano"), None, "katso myöhemmin")
    assert titles(staff.get("/henkilokunta/?arvio=relevant").text) == ["Hyvä"]
    assert titles(staff.get("/henkilokunta/?arvio=not_relevant").text) == ["Huono"]
    assert sorted(titles(staff.get("/henkilokunta/?arvio=unreviewed").text)) == ["Koskematon", "Vain muistiinpano"]
    page = staff.get("/henkilokunta/?arvio=relevant").text
    assert 'class="review-mark relevant">Relevantti<' in page


def test_free_text_finds_inflected_forms_and_needs_every_word(staff: FlaskClient, store: Store) -> None:
    store(titles={"fi": "Ylläpitosiivouksen hankinta"}, descriptions={"fi": "Koulujen tilat Forssassa."})
    store(titles={"fi": "Lumen auraus"}, descriptions={"fi": "Kaupungin katujen talvikunnossapito."})
    store(titles={"fi": "Hankinta 100%_valmis"}, descriptions={"fi": "Ei mitään."})
    assert titles(staff.get("/henkilokunta/?haku=siivous").text) == ["Ylläpitosiivouksen hankinta"]
    assert titles(staff.get("/henkilokunta/?haku=SIIVOUS+koulu").text) == ["Ylläpitosiivouksen hankinta"]
    assert titles(staff.get("/henkilokunta/?haku=siivous+auraus").text) == []
    assert titles(staff.get("/henkilokunta/?haku=katu").text) == ["Lumen auraus"]  # katujen, in the description
    assert titles(staff.get("/henkilokunta/?haku=%25").text) != []  # no letters: no text filter
    assert titles(staff.get("/henkilokunta/?haku=100+valmis").text) == ["Hankinta 100%_valmis"]


# --- sorting and pages ------------------------------------------------------------------------


def test_sorting(staff: FlaskClient, store: Store) -> None:
    now = datetime.now(UTC)
    store(titles={"fi": "Beta"}, deadline=now + timedelta(days=5), published_at=now - timedelta(days=3), **LAHTI)
    store(titles={"fi": "Alfa"}, deadline=now + timedelta(days=9), published_at=now - timedelta(days=1), **TAMPERE)
    store(titles={"fi": "Gamma"}, deadline=now + timedelta(days=7), published_at=now - timedelta(days=2), **FORSSA)
    assert titles(staff.get("/henkilokunta/").text) == ["Alfa", "Gamma", "Beta"]  # newest first
    assert titles(staff.get("/henkilokunta/?jarjestys=published").text) == ["Beta", "Gamma", "Alfa"]
    assert titles(staff.get("/henkilokunta/?jarjestys=deadline").text) == ["Beta", "Gamma", "Alfa"]
    assert titles(staff.get("/henkilokunta/?jarjestys=-deadline").text) == ["Alfa", "Gamma", "Beta"]
    assert titles(staff.get("/henkilokunta/?jarjestys=title").text) == ["Alfa", "Beta", "Gamma"]
    assert titles(staff.get("/henkilokunta/?jarjestys=-title").text) == ["Gamma", "Beta", "Alfa"]
    assert titles(staff.get("/henkilokunta/?jarjestys=buyer").text) == ["Gamma", "Beta", "Alfa"]  # Forssa, Lahti…
    assert titles(staff.get("/henkilokunta/?jarjestys=-buyer").text) == ["Alfa", "Beta", "Gamma"]


def test_pages_of_fifty_with_the_total_and_filters_kept(staff: FlaskClient, store: Store) -> None:
    now = datetime.now(UTC)
    for number in range(53):
        store(titles={"fi": f"Hankinta {number:02d}"}, published_at=now - timedelta(hours=number + 1), **FORSSA)
    first = staff.get("/henkilokunta/?maakunta=05").text
    assert count(first) == "53 hankintaa, näytetään 1–50."
    assert len(titles(first)) == 50 and titles(first)[0] == "Hankinta 00"
    assert 'href="?maakunta=05&amp;sivu=2" rel="next"' in first
    assert "Sivu 1 / 2" in first
    second = staff.get("/henkilokunta/?maakunta=05&sivu=2").text
    assert titles(second) == ["Hankinta 50", "Hankinta 51", "Hankinta 52"]
    assert count(second) == "53 hankintaa, näytetään 51–53."
    assert 'href="?maakunta=05&amp;sivu=1" rel="prev"' in second
    assert titles(staff.get("/henkilokunta/?sivu=9").text) == []
    assert len(titles(staff.get("/henkilokunta/?sivu=x").text)) == 50  # a bad page number is page 1


def test_a_free_text_search_counts_only_so_far_and_says_over(
    staff: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.staff.PER_PAGE", 2)
    monkeypatch.setattr("web.staff.TEXT_COUNT_CAP", 3)
    now = datetime.now(UTC)
    for number in range(6):
        store(titles={"fi": f"Ikkunanpesu {number}"}, published_at=now - timedelta(hours=number + 1), **FORSSA)
    store(titles={"fi": "Lumityöt"}, **FORSSA)
    first = staff.get("/henkilokunta/?haku=ikkunanpesu").text
    assert count(first) == "Yli 3 hankintaa, näytetään 1–2."
    assert titles(first) == ["Ikkunanpesu 0", "Ikkunanpesu 1"]
    assert "<span>Sivu 1</span>" in first and 'href="?haku=ikkunanpesu&amp;sivu=2" rel="next"' in first
    last = staff.get("/henkilokunta/?haku=ikkunanpesu&sivu=3").text  # counted as far as this page: exact again
    assert count(last) == "6 hankintaa, näytetään 5–6."
    assert titles(last) == ["Ikkunanpesu 4", "Ikkunanpesu 5"]
    assert "Sivu 3 / 3" in last and 'rel="next"' not in last
    assert count(staff.get("/henkilokunta/?maakunta=05").text) == "7 hankintaa, näytetään 1–2."  # no text: exact


# --- exports ----------------------------------------------------------------------------------


def test_the_export_links_keep_the_filters(staff: FlaskClient, store: Store) -> None:
    page = staff.get("/henkilokunta/?maakunta=05&haku=siivous&jarjestys=title").text
    assert 'href="/henkilokunta/vienti.csv?maakunta=05&amp;haku=siivous&amp;jarjestys=title"' in page
    assert 'href="/henkilokunta/vienti.xlsx?maakunta=05&amp;haku=siivous&amp;jarjestys=title"' in page


def _exported(staff: FlaskClient, store: Store, session_factory: sessionmaker[Session]) -> None:
    store(titles={"fi": "Forssan siivous"}, **FORSSA)
    store(titles={"fi": '=HYPERLINK("https://paha.example")'}, **FORSSA)
    store(titles={"fi": "Lahden siivous"}, **LAHTI)
    review(session_factory, tender_id(session_factory, "Forssan siivous"), "relevant", "Soita; tärkeä")


def test_csv_export_is_the_whole_filtered_list_for_finnish_excel(
    staff: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    _exported(staff, store, session_factory)
    response = staff.get("/henkilokunta/vienti.csv?maakunta=05&jarjestys=title")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [record["Otsikko"] for record in records] == ['\'=HYPERLINK("https://paha.example")', "Forssan siivous"]
    record = records[1]
    assert record["Hankkija"] == "Forssan kaupunki" and record["Y-tunnus"] == "0145209-5"
    assert record["Kunnat"] == "Forssa" and record["Seutukunnat"] == "Forssan seutukunta"
    assert record["Maakunnat"] == "Kanta-Häme" and record["Toimialat"] == "Siivous ja puhtaanapito"
    assert record["Tila"] == "avoin" and record["Arvio"] == "Relevantti" and record["Muistiinpano"] == "Soita; tärkeä"
    assert record["Arvioitu arvo"] == "240000"
    assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}", record["Määräaika"])
    assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", record["Julkaistu"])
    assert record["Ilmoituksen linkki"].startswith("https://www.hankintailmoitukset.fi/")
    assert record["Asiakirjat"] == "https://tarjouspalvelu.fi/hameenlinna"


def test_xlsx_export_opens_with_typed_cells_and_no_formulas(
    staff: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    _exported(staff, store, session_factory)
    response = staff.get("/henkilokunta/vienti.xlsx?maakunta=05&jarjestys=title")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) == 3
    hostile, record = (dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows[1:])
    assert hostile["Otsikko"] == '=HYPERLINK("https://paha.example")'
    assert sheet.cell(row=2, column=1).data_type == "s"  # text, not a formula
    assert record["Otsikko"] == "Forssan siivous" and record["Muistiinpano"] == "Soita; tärkeä"
    assert isinstance(record["Määräaika"], datetime) and record["Arvioitu arvo"] == 240000
    assert record["Kunnat"] == "Forssa" and record["Maakunnat"] == "Kanta-Häme"


def test_an_empty_export_has_the_header_only(staff: FlaskClient) -> None:
    rows = list(csv.reader(io.StringIO(staff.get("/henkilokunta/vienti.csv").data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [list(EXPORT_COLUMNS)]


@pytest.mark.parametrize("text", ["=1+1", "+358", "-2", "@SUM(A1)", "\tx", "tavallinen"])
def test_neutralised_text_never_starts_a_formula(text: str) -> None:
    assert not neutralised(text).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert neutralised(text).endswith(text)


# --- hostile text ------------------------------------------------------------------------------


def test_notice_text_renders_escaped(staff: FlaskClient, store: Store) -> None:
    store(titles={"fi": "<script>alert('x')</script> siivous"}, buyers=[Organisation(name="<b>Paha</b> Oy")])
    page = staff.get("/henkilokunta/?haku=%3Cscript%3E").text
    assert "<script>alert" not in page and "<b>Paha" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; siivous" in page
    assert "&lt;b&gt;Paha&lt;/b&gt; Oy" in page
    reflected = staff.get('/henkilokunta/?haku="><script>x</script>').text
    assert "<script>x" not in reflected


def test_the_less_used_filters_fold_away_until_one_is_set(staff: FlaskClient) -> None:
    plain = staff.get("/henkilokunta/?maakunta=05").text
    assert '<details class="more-filters">' in plain
    assert plain.index('id="haku"') < plain.index("<summary>") < plain.index('id="kunta"')
    assert '<details class="more-filters" open>' in staff.get("/henkilokunta/?tila=open").text
    assert '<details class="more-filters" open>' in staff.get("/henkilokunta/?julkaistu_asti=2026-11-01").text
