"""The TED search mapper reads TED's shapes: language dicts, unaligned lists, mixed place codes."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import PayloadError
from crawler.ted_json import map_search_notice, xml_link

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ted" / "search_response_two_finnish_notices.json"


@pytest.fixture(scope="module")
def notices() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["notices"]


def test_an_award_listing_keeps_ids_title_without_prefix_and_places(notices):
    item = map_search_notice(notices[0])
    assert (item.source, item.source_id, item.publication_number) == ("ted", "712345-2026", "712345-2026")
    assert item.kind == "award" and item.notice_type == "can-standard"
    assert item.titles["fi"] == "Riihimäen kaupungin koulukuljetukset 2027–2029"
    assert item.cpv_main == "60130000" and item.cpv_additional == ["60140000"]
    assert [p.nuts for p in item.places] == ["FI1C2"]
    assert item.buyer.name == "Riihimäen kaupunki" and item.buyer.country == "FIN"
    assert item.published_at == datetime(2026, 11, 5, tzinfo=timezone(timedelta(hours=1)))
    assert item.url == "https://ted.europa.eu/fi/notice/-/detail/712345-2026"
    assert xml_link(notices[0]) == "https://ted.europa.eu/en/notice/712345-2026/xml"


def test_a_swedish_call_unpads_its_number_and_takes_the_earliest_lot_deadline(notices):
    item = map_search_notice(notices[1])
    assert item.source_id == "733001-2026"
    assert item.kind == "contract_notice"
    assert item.titles == {"sv": "Städtjänster för Hangö stad"} and item.title == "Städtjänster för Hangö stad"
    assert item.buyer.name == "Hangö stad"
    assert item.deadline.date().isoformat() == "2026-12-10"
    assert item.estimated_value == Decimal("120000") and item.currency == "EUR"
    assert [p.country for p in item.places] == ["FIN"]


@pytest.mark.parametrize("value", [None, [], {"publication-number": "x"}, {"notice-title": {}}])
def test_a_listing_without_a_publication_number_is_refused_by_name(value):
    with pytest.raises(PayloadError):
        map_search_notice(value)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["notice-title", "buyer-name", "classification-cpv", "place-of-performance",
                         "deadline-receipt-tender-date-lot", "publication-date", "estimated-value-proc", "links"]),
        st.recursive(st.one_of(st.none(), st.text(max_size=12), st.integers(), st.booleans()),
                     lambda inner: st.one_of(st.lists(inner, max_size=3),
                                             st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                     max_leaves=6),
    )
)
def test_any_field_shapes_map_or_are_refused_by_name_never_crash(fields):
    with contextlib.suppress(PayloadError):
        map_search_notice({"publication-number": "1-2026", **fields})
