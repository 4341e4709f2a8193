"""The HILMA index mapper turns each kind of index document into the one item shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import PayloadError
from crawler.hilma_json import map_index_document

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hilma"
FIXTURE = FIXTURES / "search_response_forssa_cleaning_plan_award_correction.json"


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    return {doc["id"]: doc for doc in json.loads(FIXTURE.read_text(encoding="utf-8"))["value"]}


def test_a_national_contract_notice_keeps_its_identity_dates_buyer_and_lots(documents):
    item = map_index_document(documents["EF-71234"])
    assert (item.source, item.source_id) == ("hilma", "EF-71234")
    assert item.url == "https://www.hankintailmoitukset.fi/fi/public/procedure/40511/enotice/71234/"
    assert item.kind == "contract_notice" and item.subtype == "E3" and item.national is True
    assert item.published_at == datetime(2026, 11, 2, 8, 15, 30, 120000, tzinfo=UTC)
    assert item.deadline == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert item.notice_id == "a3f9c0de-1111-4c2b-9e7f-5a6b7c8d9e01" and item.notice_version == "01"
    assert item.hilma_procedure_id == 40511 and item.hilma_notice_number == "2026-071234"
    assert item.title == "Forssan kaupungin kiinteistöjen ylläpitosiivous 2027–2030"
    assert not item.description.endswith(",")
    assert item.cpv_main == "90911200" and item.cpv_additional == ["90919200"]
    assert item.estimated_value == Decimal("480000.0") and item.currency == "EUR"
    buyer = item.buyer
    assert (buyer.name, buyer.business_id, buyer.street, buyer.postcode, buyer.town, buyer.country) == (
        "Forssan kaupunki", "0137605-0", "Turuntie 18", "30100", "Forssa", "FIN",
    )
    assert [lot.id for lot in item.lots] == ["LOT-0001", "LOT-0002"]
    assert item.lots[1].estimated_value == Decimal("180000.0")
    assert [place.nuts for place in item.places] == ["FI1C2"]
    assert item.documents_url.startswith("https://tarjouspalvelu.fi/")
    assert json.loads(item.payloads["hilma-index"])["id"] == "EF-71234"


def test_a_plan_is_a_plan_without_a_public_notice_page(documents):
    item = map_index_document(documents["PLAN-1187"])
    assert item.kind == "plan" and item.url is None and item.notice_id is None
    assert item.buyer.business_id == "0133226-9"


def test_an_award_gives_each_lot_its_winners_and_splits_no_framework_value(documents):
    item = map_index_document(documents["EF-71301"])
    assert item.kind == "award" and item.publication_number == "712345-2026"
    by_lot = [(a.lot_id, a.winner.name, a.winner.business_id, a.value, a.tenders_received) for a in item.awards]
    assert by_lot == [
        ("LOT-0001", "Riihimäen Taksipalvelu Oy", "2345678-0", None, 4),
        ("LOT-0001", "Hausjärven Liikenne Oy", "1234567-1", None, 4),
        ("LOT-0002", "Hausjärven Liikenne Oy", "1234567-1", Decimal("100000.0"), 0),
    ]
    assert [w.name for w in item.winners] == ["Riihimäen Taksipalvelu Oy", "Hausjärven Liikenne Oy"]
    assert item.awarded_value == Decimal("310000.0")


def test_a_corrigendum_points_at_the_notice_it_changes(documents):
    item = map_index_document(documents["EF-71490"])
    assert item.kind == "correction"
    assert item.changed_notice == "a3f9c0de-1111-4c2b-9e7f-5a6b7c8d9e01-01"
    assert item.deadline == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_a_cancelled_original_stays_a_contract_notice_marked_cancelled(documents):
    item = map_index_document({**documents["EF-71234"], "isCancelled": True})
    assert item.kind == "contract_notice" and item.cancelled is True


def test_a_cancelled_corrigendum_is_the_cancellation_itself(documents):
    item = map_index_document({**documents["EF-71490"], "isCancelled": True})
    assert item.kind == "cancellation" and item.cancelled is False


def test_the_same_document_served_again_hashes_the_same_whatever_its_search_score(documents):
    first = map_index_document(documents["EF-71234"])
    again = map_index_document({**documents["EF-71234"], "@search.score": 0.01})
    assert first.content_hash() == map_index_document(documents["EF-71234"]).content_hash()
    assert again.content_hash() == first.content_hash()


@pytest.mark.parametrize("value", [None, [], "EF-1", {"noticeId": 1}, {"id": 5}])
def test_what_is_not_an_index_document_is_refused_by_name(value):
    with pytest.raises(PayloadError):
        map_index_document(value)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["datePublished", "deadline", "estimatedValue", "lots", "cpvCodes", "winnerOrganisations",
                         "organisationAddress", "procedureId", "isPlan", "fullEFormsId", "type"]),
        st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(), st.booleans(),
                  st.lists(st.one_of(st.text(max_size=5), st.dictionaries(st.text(max_size=5), st.text(max_size=5)))),
                  ),
    )
)
def test_any_field_values_map_or_are_refused_by_name_never_crash(fields):
    document = {"id": "EF-1", **fields}
    try:
        item = map_index_document(document)
    except PayloadError:
        return
    item.content_hash()


def test_statistics_flags_are_kept_as_given_and_unanswered_ones_left_out(documents):
    document = dict(documents["EF-71301"], lowCarbon=None, howManyOpportunitiesIsEstimated=3, circularEconomy="true")
    document["lots"] = [dict(lot, innovationConsidered=True) for lot in document["lots"]]
    item = map_index_document(document)
    assert item.statistics["smeParticipationConsidered"] is True
    assert "lowCarbon" not in item.statistics  # null: the buyer did not answer, which is not "no"
    assert item.statistics["howManyOpportunitiesIsEstimated"] == 3
    assert item.statistics["circularEconomy"] is True
    assert all(lot.statistics["innovationConsidered"] is True for lot in item.lots)
