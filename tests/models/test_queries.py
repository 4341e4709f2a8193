"""Listing tenders and their public record (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from crawler.items import NoticeItem
from models.ingest import store_failure, store_notice
from models.queries import (
    RECORD_KEYS,
    STAFF_SORTS,
    count_tenders,
    known_publication_numbers,
    notices_missing_enrichment,
    select_tenders,
    stored_payloads,
    tender_page,
    tender_record,
)
from models.tender import Tender, TenderRegion, TenderSector

MakeNotice = Callable[..., NoticeItem]
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
HELSINKI = ZoneInfo("Europe/Helsinki")


def tender(session: Session, make_notice: MakeNotice, title: str, **overrides: object) -> Tender:
    values: dict[str, object] = {"titles": {"fi": title}, "published_at": NOW - timedelta(days=10)}
    values.update(overrides)
    stored = store_notice(session, make_notice(**values)).tender
    assert stored is not None
    return stored


def titles(session: Session, **filters: object) -> list[str | None]:
    options: dict[str, object] = {"open_only": False, "now": NOW, "region": None, "sector": None}
    options.update(filters)
    return [row.title for row in session.scalars(select_tenders(**options))]  # type: ignore[arg-type]


def test_open_only_keeps_open_tenders_whose_deadline_is_ahead(session: Session, make_notice: MakeNotice) -> None:
    tender(session, make_notice, "Lumityöt", deadline=NOW + timedelta(days=3))
    tender(session, make_notice, "Koulukuljetukset", deadline=None)
    tender(session, make_notice, "Siivous", deadline=NOW - timedelta(minutes=1))
    tender(session, make_notice, "Tilintarkastus", kind="cancellation", deadline=NOW + timedelta(days=9))
    tender(session, make_notice, "Ruokapalvelut", kind="prior_information", deadline=NOW + timedelta(days=9))
    assert titles(session, open_only=True) == ["Lumityöt", "Koulukuljetukset"]
    assert len(titles(session, open_only=False)) == 5


def test_tenders_are_listed_by_deadline_then_newest_first(session: Session, make_notice: MakeNotice) -> None:
    tender(session, make_notice, "later", deadline=NOW + timedelta(days=9))
    tender(session, make_notice, "no deadline, older", deadline=None, published_at=NOW - timedelta(days=5))
    tender(session, make_notice, "sooner", deadline=NOW + timedelta(days=2))
    tender(session, make_notice, "no deadline, newer", deadline=None, published_at=NOW - timedelta(days=1))
    assert titles(session) == ["sooner", "later", "no deadline, newer", "no deadline, older"]


def test_a_region_matches_at_any_level_and_a_sector_by_slug(session: Session, make_notice: MakeNotice) -> None:
    forssa = tender(session, make_notice, "Forssa")
    forssa.regions = [TenderRegion(level="region", code="05"), TenderRegion(level="municipality", code="061")]
    forssa.sectors = [TenderSector(slug="siivous", rank=1)]
    lahti = tender(session, make_notice, "Lahti")
    lahti.regions = [TenderRegion(level="region", code="07")]
    lahti.sectors = [TenderSector(slug="rakentaminen", rank=1), TenderSector(slug="siivous", rank=2)]
    session.flush()
    assert titles(session, region="05") == ["Forssa"]
    assert titles(session, region="061") == ["Forssa"]
    assert titles(session, region="07", sector="siivous") == ["Lahti"]
    assert sorted(titles(session, sector="siivous")) == ["Forssa", "Lahti"]
    assert titles(session, region="09") == []


def test_the_record_has_the_public_keys_and_local_iso_datetimes(session: Session, make_notice: MakeNotice) -> None:
    item = make_notice(
        source_id="EF-48640",
        published_at=datetime(2026, 5, 8, 14, 51, 10, tzinfo=UTC),
        deadline=datetime(2026, 5, 26, 9, 0, tzinfo=UTC),
        cpv_main="90911200",
        cpv_additional=["90919200", "90911200"],
    )
    stored = store_notice(session, item).tender
    assert stored is not None
    stored.regions = [
        TenderRegion(level="municipality", code="109"),
        TenderRegion(level="region", code="05"),
        TenderRegion(level="subregion", code="051"),
    ]
    stored.sectors = [TenderSector(slug="kiinteistopalvelut", rank=2), TenderSector(slug="siivous", rank=1)]
    session.flush()
    record = tender_record(stored, HELSINKI, now=NOW)
    assert tuple(record) == RECORD_KEYS
    assert record == {
        "id": stored.id,
        "source": "hilma",
        "source_id": "EF-48640",
        "title": "Koulujen ja päiväkotien siivouspalvelut",
        "buyer": "Koulutuskuntayhtymä Tavastia",
        "buyer_business_id": "0205303-4",
        "published_at": "2026-05-08T17:51:10+03:00",
        "deadline": "2026-05-26T12:00:00+03:00",
        "kind": "contract_notice",
        "status": "open",
        "cpv": ["90911200", "90919200"],
        "estimated_value": 240000.0,
        "currency": "EUR",
        "url": item.url,
        "documents_url": "https://tarjouspalvelu.fi/hameenlinna",
        "regions": ["05"],
        "subregions": ["051"],
        "municipalities": ["109"],
        "nationwide": False,
        "sectors": ["siivous", "kiinteistopalvelut"],
    }
    json.dumps(record)  # plain JSON, nothing to convert


def test_the_record_of_an_open_tender_past_its_deadline_says_closed(session: Session, make_notice: MakeNotice) -> None:
    stored = tender(session, make_notice, "Siivous", deadline=NOW - timedelta(hours=1))
    assert stored.status == "open"
    record = tender_record(stored, ZoneInfo("UTC"), now=NOW)
    assert (record["status"], record["deadline"]) == ("closed", "2026-05-20T11:00:00+00:00")


def test_the_record_names_the_latest_notice_of_the_tender(session: Session, make_notice: MakeNotice) -> None:
    first = make_notice(published_at=NOW - timedelta(days=10))
    correction = dataclasses.replace(
        make_notice(kind="correction", published_at=NOW - timedelta(days=2)), procedure_id=first.procedure_id
    )
    store_notice(session, first)
    stored = store_notice(session, correction).tender
    assert stored is not None
    record = tender_record(stored, HELSINKI, now=NOW)
    assert (record["source_id"], record["kind"]) == (correction.source_id, "correction")
    assert record["published_at"] == (NOW - timedelta(days=10)).astimezone(HELSINKI).isoformat()


def test_notices_missing_their_eforms_xml_are_listed_newest_first(session: Session, make_notice: MakeNotice) -> None:
    older = make_notice(published_at=NOW - timedelta(days=3))
    newer = make_notice(published_at=NOW - timedelta(days=1))
    enriched = make_notice(payloads={"hilma-index": b"{}", "eforms": b"<ContractNotice/>"})
    plan = make_notice(kind="plan", notice_id=None, source_id="PLAN-1200")
    from_ted = make_notice(source="ted", source_id="1-2026", hilma_notice_number=None)
    for item in (older, newer, enriched, plan, from_ted):
        store_notice(session, item)
    missing = notices_missing_enrichment(session, "hilma", limit=10)
    assert [notice.source_id for notice in missing] == [newer.source_id, older.source_id]
    assert [notice.source_id for notice in notices_missing_enrichment(session, "hilma", limit=1)] == [newer.source_id]
    upgraded = dataclasses.replace(older, payloads={**older.payloads, "eforms": b"<ContractNotice/>"})
    assert store_notice(session, upgraded).notice.enrichment == "complete"
    assert [notice.source_id for notice in notices_missing_enrichment(session, "hilma", limit=10)] == [newer.source_id]


def test_the_spiders_word_on_enrichment_counts_unless_the_xml_is_there(
    session: Session, make_notice: MakeNotice
) -> None:
    tried = make_notice(enrichment="missing")
    legacy = make_notice(source_id="OLD-52994", notice_id=None)
    no_xml_needed = make_notice(enrichment="not_needed")
    with_xml = make_notice(enrichment="missing", payloads={"eforms": b"<ContractNotice/>"})
    states = [store_notice(session, item).notice.enrichment for item in (tried, legacy, no_xml_needed, with_xml)]
    assert states == ["missing", "not_needed", "not_needed", "complete"]


def test_the_stored_payloads_of_a_notice_are_found_by_its_source_id(session: Session, make_notice: MakeNotice) -> None:
    item = make_notice(payloads={"hilma-index": b'{"id": "EF-7"}', "eforms": b"<ContractNotice/>"})
    store_notice(session, item)
    store_failure(session, source="hilma", source_id="EF-8", payloads={"eforms": b"<"}, error="broken")
    assert stored_payloads(session, "hilma", item.source_id) == item.payloads
    assert stored_payloads(session, "hilma", "EF-8") == {}
    assert stored_payloads(session, "ted", item.source_id) == {}


def test_known_publication_numbers_name_the_publisher_whose_row_holds_them(
    session: Session, make_notice: MakeNotice
) -> None:
    store_notice(session, make_notice(publication_number="216129-2026"))
    store_notice(session, make_notice(source="ted", source_id="134140-2025", publication_number="134140-2025"))
    store_failure(session, source="ted", source_id="999-2026", payloads={"ted-search": b"{"}, error="broken")
    numbers = ["216129-2026", "134140-2025", "999-2026", "1-2026"]
    assert known_publication_numbers(session, numbers) == {"216129-2026": "hilma", "134140-2025": "ted"}
    assert known_publication_numbers(session, []) == {}


@pytest.fixture
def assorted(session: Session, make_notice: MakeNotice) -> None:
    """Tenders with ties and missing values in every sorted column, some with a buyer and some without."""
    for number in range(12):
        tender(
            session,
            make_notice,
            f"Hankinta {number % 4}" if number % 5 else None,  # type: ignore[arg-type]
            source_id=f"EF-{number}",
            published_at=NOW - timedelta(days=number % 3) if number % 7 else None,
            deadline=NOW + timedelta(days=number % 4) if number % 3 else None,
            buyers=[] if number % 4 == 0 else make_notice().buyers,
        )
    session.flush()


@pytest.mark.parametrize("sort", STAFF_SORTS)
def test_a_page_lists_what_the_whole_list_lists_at_that_position(session: Session, assorted: None, sort: str) -> None:
    filters = {"open_only": False, "now": NOW, "sort": sort}
    whole = [row.id for row in session.scalars(select_tenders(**filters))]  # type: ignore[arg-type]
    assert len(whole) == 12
    paged = [row.id for offset in range(0, 15, 5) for row in tender_page(session, offset=offset, limit=5, **filters)]
    assert paged == whole


def test_a_capped_count_stops_at_the_cap(session: Session, assorted: None) -> None:
    assert session.scalar(count_tenders(open_only=False, now=NOW)) == 12
    assert session.scalar(count_tenders(open_only=False, now=NOW, cap=5)) == 5
    assert session.scalar(count_tenders(open_only=False, now=NOW, cap=50)) == 12


@pytest.mark.postgresql
def test_postgresql_serves_the_default_order_and_free_text_from_indexes(
    session: Session, assorted: None, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the indexes exist on PostgreSQL only")
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))

    def plan(statement: object) -> str:
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))

    assert "ix_tenders_newest_first" in plan(select_tenders(open_only=False, now=NOW, sort="-published").limit(50))
    assert "ix_tenders_search_trgm" in plan(count_tenders(open_only=False, now=NOW, text="ylläpitosiivous"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(word=st.text(alphabet="aäkstu%_\\.*+?()[]{}|^$-'", min_size=2, max_size=10).filter(str.strip))
def test_free_text_finds_any_word_as_written_whatever_its_punctuation(session: Session, word: str) -> None:
    """Wildcards and regular-expression characters in a search are literal text on both databases."""
    session.query(Tender).delete()
    session.add(Tender(key="found", title=f"Hankinta {word} nyt", kind="contract_notice", status="open"))
    session.add(Tender(key="other", title="Öljy", kind="contract_notice", status="open"))  # none of the letters
    session.flush()
    found = sorted(str(title) for title in titles(session, text=word))
    if any(char.isalnum() for char in word):
        assert found == [f"Hankinta {word} nyt"]
    else:
        assert found == sorted([f"Hankinta {word} nyt", "Öljy"])  # no letters: no text filter
