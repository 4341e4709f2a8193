"""The procurement calendar on the sample of ``make demo``, recomputed independently from the sample's specs.

The sample is stored as the crawlers store it (HILMA index documents joined to their
eForms XML, TED search fields joined to TED's XML, through :func:`crawler.store.store_items`),
then the pages are read. The expected calendar is computed here in plain Python from the
:class:`~crawler.standins.specs.NoticeSpec` list (``load_sample``): which procedures are
still upcoming, of what kind, on what date. Nothing here counts entries: another helper is
extending the sample, and the test follows whatever it holds.

Which tenders belong to a sub-region takes the buyer's address from the specs and the
place from the stored classification (the classifier has its own tests); everything else
(kinds, dates, what is past) is recomputed.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pypdfium2
import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.classification.region_data import load_region_data
from crawler.items import Organisation, Place
from crawler.standins import load_sample
from crawler.standins.sample import SampleData
from crawler.standins.specs import NoticeSpec
from models.db import session_scope
from models.notice import Notice
from models.tender import Tender, TenderRegion, TenderSector
from tests.sample_store import store_sample
from tests.web.conftest import Store, sign_in

HELSINKI = ZoneInfo("Europe/Helsinki")
SUBREGIONS = {"051": "hameenlinnan-seutu", "052": "riihimaen-seutu", "053": "forssan-seutu"}
SCREENSHOTS = Path("test-artifacts/screenshots")


# --- storing the sample as the crawlers do ---------------------------------------------------


# --- the independent recomputation -----------------------------------------------------------


def months_later(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def procedures(specs: list[NoticeSpec]) -> list[list[NoticeSpec]]:
    """Each procedure's notices in publication order (a plan is a procedure of its own)."""
    groups: dict[str, list[NoticeSpec]] = defaultdict(list)
    for spec in specs:
        key = spec.procedure_id or f"plan:{spec.hilma.plan_id if spec.hilma else id(spec)}"
        groups[key].append(spec)
    return [sorted(group, key=lambda s: s.hilma.published_at if s.hilma else s.issued_at) for group in groups.values()]


def published_day(spec: NoticeSpec) -> date:
    moment = spec.hilma.published_at if spec.hilma else spec.issued_at
    return moment.astimezone(HELSINKI).date()


def expected_entry(group: list[NoticeSpec], today: date, now: datetime) -> tuple[str, date] | None:
    """(kind, date) the calendar should show for one procedure, or None (past, cancelled, unawarded, undated)."""
    if any(spec.kind == "cancellation" for spec in group):
        return None
    last = [spec for spec in group if spec.kind != "correction"][-1]
    if last.kind == "contract_notice":
        deadline = [spec.deadline for spec in group if spec.deadline is not None][-1]
        return ("open_call", deadline.astimezone(HELSINKI).date()) if deadline > now else None
    if last.kind == "plan":
        end = months_later(published_day(last), 12)
        return ("plan", end) if end >= today else None
    if last.kind == "prior_information":
        when = last.planned_date or months_later(published_day(last), 12)
        return ("prior_information", when) if when >= today else None
    ends = []
    for award in last.awards:
        if not award.winners:
            continue
        lot = next(lot for lot in last.lots if lot.id == award.lot_id)
        if not lot.duration_months:
            continue
        signed = [tender.contract_date for tender in award.winners if tender.contract_date]
        start = signed[0] if signed else published_day(last)
        ends.append(months_later(start, lot.duration_months))
    running = [end for end in ends if end >= today]
    return ("contract_ending", min(running)) if running else None


def expected_calendar(
    sample: SampleData, sessions: sessionmaker[Session], subregion: str, now: datetime
) -> set[tuple[int, str, str]]:
    """(tender id, kind, ISO date) of every entry the sub-region's page should list."""
    data = load_region_data()
    towns = {code for code, town in data.municipalities.items() if town.subregion == subregion}
    today = now.astimezone(HELSINKI).date()
    expected = set()
    with sessions() as session:
        for group in procedures(sample.specs):
            entry = expected_entry(group, today, now)
            if entry is None:
                continue
            tender = tender_of(session, group[-1])
            buyer_here = data.postcodes.get(group[-1].buyer.postcode or "") in towns
            placed_here = session.scalar(
                select(TenderRegion.code).where(
                    TenderRegion.tender_id == tender,
                    ((TenderRegion.level == "municipality") & TenderRegion.code.in_(towns))
                    | ((TenderRegion.level == "subregion") & (TenderRegion.code == subregion)),
                )
            )
            if buyer_here or placed_here:
                expected.add((tender, entry[0], entry[1].isoformat()))
    return expected


def tender_of(session: Session, spec: NoticeSpec) -> int:
    """The stored tender of a spec: by its eForms notice id, or a plan by its HILMA search id."""
    if spec.notice_id:
        condition = Notice.notice_id == spec.notice_id
    else:
        assert spec.hilma is not None
        condition = Notice.source_id == spec.hilma.search_id
    return session.scalars(select(Notice.tender_id).where(condition)).first()


def shown(html: str) -> set[tuple[int, str, str]]:
    page = lxml.html.fromstring(html)
    return {
        (int(item.get("data-tender")), item.get("data-kind"), item.get("data-expected"))
        for item in page.xpath("//li[contains(@class, 'calendar-entry')]")
    }


# --- tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return load_sample()


@pytest.fixture
def stored(sample: SampleData, session_factory: sessionmaker[Session]) -> SampleData:
    with session_scope(session_factory) as session:
        store_sample(session, sample)
    return sample


def test_each_subregion_page_shows_what_the_specs_say_is_coming(
    stored: SampleData, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    kinds_seen = set()
    for code, slug in SUBREGIONS.items():
        now = datetime.now(UTC)
        expected = expected_calendar(stored, session_factory, code, now)
        page = client.get(f"/kalenteri/{slug}")
        assert page.status_code == 200
        assert shown(page.text) == expected, code
        dates = [entry[2] for entry in sorted(shown(page.text), key=lambda e: page.text.index(f'data-tender="{e[0]}"'))]
        assert dates == sorted(dates), "entries are ordered by expected time"
        kinds_seen |= {kind for _, kind, _ in expected}
    # the sample has all four kinds in Kanta-Häme; if it ever loses one, this test no longer covers it
    assert kinds_seen == {"plan", "prior_information", "open_call", "contract_ending"}


def test_the_index_links_the_three_kanta_hame_subregions(client: FlaskClient) -> None:
    page = lxml.html.fromstring(client.get("/kalenteri").text)
    links = {link.get("href") for link in page.xpath("//ul[@class='calendar-regions']/li/a[1]")}
    assert links == {f"/kalenteri/{slug}" for slug in SUBREGIONS.values()}
    assert client.get("/kalenteri/ei-tallaista-seutua").status_code == 404


def test_sector_and_buyer_filters_keep_only_their_entries(
    stored: SampleData, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    everything = shown(client.get("/kalenteri/hameenlinnan-seutu").text)
    with session_factory() as session:
        sector_of = {
            tender: session.scalar(
                select(TenderSector.slug).where(TenderSector.tender_id == tender, TenderSector.rank == 1)
            )
            for tender, _, _ in everything
        }
        buyer_of = {tender: session.get(Tender, tender).buyer_id for tender, _, _ in everything}
    sector = max(set(sector_of.values()) - {None}, key=lambda slug: list(sector_of.values()).count(slug))
    by_sector = shown(client.get(f"/kalenteri/hameenlinnan-seutu?toimiala={sector}").text)
    assert by_sector == {entry for entry in everything if sector_of[entry[0]] == sector}
    assert 0 < len(by_sector) < len(everything)
    buyer = max(set(buyer_of.values()), key=lambda b: list(buyer_of.values()).count(b))
    by_buyer = shown(client.get(f"/kalenteri/hameenlinnan-seutu?hankkija={buyer}").text)
    assert by_buyer == {entry for entry in everything if buyer_of[entry[0]] == buyer}
    assert 0 < len(by_buyer) < len(everything)
    # an unknown value is ignored, not an error
    assert shown(client.get("/kalenteri/hameenlinnan-seutu?toimiala=ei-ole&hankkija=x").text) == everything


def test_the_feed_has_one_all_day_event_per_entry_with_stable_uids(
    stored: SampleData, client: FlaskClient
) -> None:
    page = shown(client.get("/kalenteri/forssan-seutu").text)
    first = client.get("/kalenteri/forssan-seutu.ics")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    feed = Calendar.from_ical(first.data)
    events = list(feed.walk("VEVENT"))
    assert {(str(event["uid"]), event.decoded("dtstart").isoformat()) for event in events} == {
        (f"hankinta-{tender}@hankintavahti.test", day) for tender, _, day in page
    }
    for event in events:
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert type(start) is date and end == start + timedelta(days=1)  # all-day
        assert str(event["url"]).startswith("https://hankintavahti.test/hankinnat/")
    again = Calendar.from_ical(client.get("/kalenteri/forssan-seutu.ics").data)
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == [str(e["uid"]) for e in events]


def test_the_handout_pdf_is_one_page_that_is_not_blank(stored: SampleData, client: FlaskClient) -> None:
    for slug in SUBREGIONS.values():
        html = client.get(f"/kalenteri/{slug}/tuloste")
        assert html.status_code == 200
        answer = client.get(f"/kalenteri/{slug}/tuloste.pdf")
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/pdf"
        pdf = pypdfium2.PdfDocument(answer.data)
        assert len(pdf) == 1, f"{slug}: {len(pdf)} pages"
        image = pdf[0].render(scale=1.5).to_pil().convert("L")
        dark = sum(image.histogram()[:128])
        assert dark > 0.005 * image.width * image.height, "the page is blank"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        image.save(SCREENSHOTS / f"calendar_handout_{slug.replace('-', '_')}.png")
        text = pdf[0].get_textpage().get_text_range()
        assert "Hankintatreffit" in text
        # every buyer the HTML handout lists is on the printed page
        buyers = [h2.text.strip() for h2 in lxml.html.fromstring(html.text).xpath("//section/h2")]
        assert all(re.sub(r"\s+", " ", buyer) in re.sub(r"\s+", " ", text) for buyer in buyers)
        pdf.close()


def test_the_staff_calendar_needs_a_login_and_covers_any_area(
    stored: SampleData, client: FlaskClient, staff_user: str, session_factory: sessionmaker[Session]
) -> None:
    answer = client.get("/henkilokunta/kalenteri")
    assert answer.status_code == 302 and "/henkilokunta/kirjaudu" in answer.headers["Location"]
    sign_in(client)
    whole = shown(client.get("/henkilokunta/kalenteri").text)  # default: all of Kanta-Häme
    for code, slug in SUBREGIONS.items():
        assert shown(client.get(f"/kalenteri/{slug}").text) <= whole
        assert shown(client.get(f"/henkilokunta/kalenteri?alue=seutukunta:{code}").text) == shown(
            client.get(f"/kalenteri/{slug}").text
        )
    forssa = shown(client.get("/henkilokunta/kalenteri?alue=kunta:061").text)
    assert forssa and forssa <= shown(client.get("/kalenteri/forssan-seutu").text)
    endings = shown(client.get("/henkilokunta/kalenteri?laji=contract_ending").text)
    assert endings == {entry for entry in whole if entry[1] == "contract_ending"}
    page = client.get("/henkilokunta/kalenteri?alue=seutukunta:051").text
    assert "Peruste:" in page and 'href="/kalenteri/hameenlinnan-seutu/tuloste.pdf"' in page


def test_a_handout_too_long_for_a_page_gets_small_type_then_says_how_many_more(
    client: FlaskClient, store: Store
) -> None:
    forssa = Organisation(name="Forssan kaupunki", business_id="0732707-3", postcode="30100", town="Forssa")
    for number in range(60):
        store(
            f"Forssan kaupungin hankinta numero {number}: kiinteistöjen huolto ja kunnossapito",
            buyers=[forssa],
            places=[Place(town="Forssa", postcode="30100")],
            deadline=datetime.now(UTC) + timedelta(days=5 + number),
        )
    html = client.get("/kalenteri/forssan-seutu/tuloste").text
    page = lxml.html.fromstring(html)
    assert "handout-compact" in page.xpath("//main")[0].get("class")
    listed = len(page.xpath("//tbody/tr"))
    more = page.xpath("//p[@class='handout-more']")[0].text_content()
    assert 10 < listed < 60
    assert f"… ja {60 - listed} muuta osoitteessa https://hankintavahti.test/kalenteri/forssan-seutu" in more
    pdf = pypdfium2.PdfDocument(client.get("/kalenteri/forssan-seutu/tuloste.pdf").data)
    assert len(pdf) == 1
    assert f"ja {60 - listed} muuta" in pdf[0].get_textpage().get_text_range()
    pdf.close()


def test_each_handout_lists_the_next_six_months_the_specs_give(
    stored: SampleData, client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    """The handout is the calendar up to six months ahead, plus plans whose year is running (no date of their own)."""
    now = datetime.now(UTC)
    today = now.astimezone(HELSINKI).date()
    until = months_later(today, 6)
    with session_factory() as session:
        undated = set()
        for group in procedures(stored.specs):
            last = [spec for spec in group if spec.kind != "correction"][-1]
            if last.kind == "plan" or (last.kind == "prior_information" and not last.planned_date):
                undated.add(tender_of(session, last))
    listed_somewhere = False
    for code, slug in SUBREGIONS.items():
        expected = {
            tender
            for tender, _, day in expected_calendar(stored, session_factory, code, now)
            if tender in undated or date.fromisoformat(day) <= until
        }
        page = lxml.html.fromstring(client.get(f"/kalenteri/{slug}/tuloste").text)
        assert not page.xpath("//p[@class='handout-more']"), f"{slug}: the sample fits one page"
        assert {int(row.get("data-tender")) for row in page.xpath("//tr[@data-tender]")} == expected, slug
        listed_somewhere |= bool(expected)
    assert listed_somewhere
