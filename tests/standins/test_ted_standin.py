"""The TED stand-in answers like api.ted.europa.eu v3: validation, expert queries, both paging modes, XML."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.standins import TedStandIn
from crawler.standins.sample import SampleData
from crawler.standins.ted_fields import TedSampleNotice
from tests.standins.standin_http import Reply, http

Search = Callable[[dict[str, Any]], Reply]
FIELDS = ["publication-number", "publication-date", "notice-title", "buyer-country", "place-of-performance"]
FINNISH = "buyer-country = FIN OR place-of-performance IN (FIN)"


def iterate(search: Search, query: str, limit: int) -> list[dict[str, Any]]:
    """Follow iterationNextToken to the end, as the TED spider does."""
    found: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": query, "fields": FIELDS, "limit": limit, "paginationMode": "ITERATION"}
    while True:
        reply = search(body)
        assert reply.status == 200, reply.body
        page = reply.json()
        found += page["notices"]
        if page["iterationNextToken"] is None:
            return found
        assert len(page["notices"]) == limit
        body = {**body, "iterationNextToken": page["iterationNextToken"]}


def numbers(notices: list[dict[str, Any]]) -> list[str]:
    return [notice["publication-number"] for notice in notices]


def matching(sample: SampleData, keep: Callable[[TedSampleNotice], bool]) -> list[str]:
    return sorted(notice.publication_number for notice in sample.ted_notices if keep(notice))


# -- request validation ------------------------------------------------------------------------


def test_empty_fields_are_a_validation_error_naming_the_field(ted_search: Search) -> None:
    reply = ted_search({"query": FINNISH, "fields": []})
    assert reply.status == 400
    assert reply.json() == {
        "message": "Validation error",
        "error": [{"objectName": "publicExpertSearchRequestV1", "field": "fields", "message": "must not be empty"}],
    }
    assert ted_search({"query": FINNISH}).status == 400


def test_an_unknown_top_level_key_is_an_unrecognized_field(ted_search: Search) -> None:
    reply = ted_search({"query": FINNISH, "fields": FIELDS, "pageSize": 10})
    assert reply.status == 400
    assert reply.json()["message"].startswith('Unrecognized field "pageSize"')


def test_a_limit_above_250_is_refused(ted_search: Search) -> None:
    reply = ted_search({"query": FINNISH, "fields": FIELDS, "limit": 251})
    assert reply.status == 400
    assert reply.json()["error"][0]["field"] == "limit"
    assert ted_search({"query": FINNISH, "fields": FIELDS, "limit": 250}).status == 200


def test_an_unknown_field_name_is_refused_but_bt_ids_are_accepted(ted_search: Search) -> None:
    assert (
        ted_search({"query": FINNISH, "fields": ["favourite-colour"]}).json()["error"]["type"] == "QUERY_UNKNOWN_FIELD"
    )
    assert ted_search({"query": FINNISH, "fields": ["BT-5071-Lot", "BT-131(d)-Lot"]}).status == 200


def test_query_errors_carry_teds_error_types(ted_search: Search) -> None:
    def error_type(query: str) -> str:
        reply = ted_search({"query": query, "fields": FIELDS})
        assert reply.status == 400, query
        return reply.json()["error"]["type"]

    assert error_type("buyer-country") == "QUERY_SYNTAX_ERROR"
    assert error_type("buyer-country = FIN AND") == "QUERY_SYNTAX_ERROR"
    assert error_type("(buyer-country = FIN") == "QUERY_SYNTAX_ERROR"
    assert error_type("buyer-country = FIN SORT BY publication-date ASC") == "QUERY_SYNTAX_ERROR"
    assert error_type("favourite-colour = red") == "QUERY_UNKNOWN_FIELD"
    assert error_type("publication-date >= 2026-01-01") == "QUERY_UNSUPPORTED_FIELD_VALUE"
    assert error_type("buyer-country = FI") == "QUERY_UNSUPPORTED_FIELD_VALUE"


def test_a_syntax_error_message_points_at_the_column(ted_search: Search) -> None:
    message = ted_search({"query": "buyer-country", "fields": FIELDS}).json()["message"]
    assert message.startswith("Syntax error in expert query at line 1, col 14:")


def test_check_query_syntax_only_validates(ted_search: Search) -> None:
    reply = ted_search({"query": FINNISH, "fields": FIELDS, "checkQuerySyntax": True}).json()
    assert (reply["notices"], reply["totalNoticeCount"]) == ([], None)


# -- expert queries -----------------------------------------------------------------------------


def test_buyer_country_finds_finnish_buyers_only(ted_search: Search, sample: SampleData) -> None:
    found = ted_search({"query": "buyer-country = FIN", "fields": FIELDS, "limit": 250}).json()["notices"]
    assert sorted(numbers(found)) == matching(sample, lambda n: n.fields["buyer-country"] == ["FIN"])
    assert all(notice["buyer-country"] == ["FIN"] for notice in found)


def test_place_of_performance_matches_countries_and_nuts_prefixes(ted_search: Search, sample: SampleData) -> None:
    def found(query: str) -> list[str]:
        return sorted(numbers(ted_search({"query": query, "fields": FIELDS, "limit": 250}).json()["notices"]))

    places = {n.publication_number: n.fields.get("place-of-performance", []) for n in sample.ted_notices}
    in_hame = sorted(number for number, codes in places.items() if {"FI1C2", "FI1C6"} & set(codes))
    assert found("place-of-performance IN (FI1C2 FI1C6)") == in_hame
    assert found("place-of-performance IN (FI1C)") == sorted(
        n for n, c in places.items() if any(x.startswith("FI1C") for x in c)
    )
    assert found("place-of-performance IN (FIN)") == sorted(n for n, c in places.items() if "FIN" in c)
    swedish_buyer_in_finland = found("place-of-performance IN (FIN) AND NOT buyer-country = FIN")
    assert len(swedish_buyer_in_finland) == 1


def test_publication_date_compares_with_dates_and_today(ted_search: Search, sample: SampleData) -> None:
    week_ago = sample.today - timedelta(days=7)
    by_today = ted_search({"query": "publication-date >= today(-7)", "fields": FIELDS, "limit": 250}).json()
    literal = f"PD >= {week_ago:%Y%m%d}"
    by_literal = ted_search({"query": literal, "fields": FIELDS, "limit": 250}).json()
    expected = matching(sample, lambda n: n.publication_date >= week_ago)
    assert sorted(numbers(by_today["notices"])) == expected == sorted(numbers(by_literal["notices"]))
    assert by_today["totalNoticeCount"] == len(expected)


def test_sort_by_publication_date_desc_reverses_the_order(ted_search: Search) -> None:
    query = f"({FINNISH}) SORT BY publication-date DESC"
    found = ted_search({"query": query, "fields": FIELDS, "limit": 250}).json()["notices"]
    dates = [notice["publication-date"][:10] for notice in found]
    assert dates == sorted(dates, reverse=True)


def test_a_notice_carries_only_the_requested_fields_and_links(ted_search: Search, ted: TedStandIn) -> None:
    fields = ["publication-number", "winner-name", "total-value"]
    found = ted_search({"query": "notice-type = cn-standard", "fields": fields, "limit": 250}).json()["notices"]
    assert found
    assert all(set(notice) == {"publication-number", "links"} for notice in found)  # empty fields are left out
    awards = ted_search({"query": "form-type = result", "fields": fields, "limit": 250}).json()["notices"]
    assert all(set(notice) == {*fields, "links"} for notice in awards)
    links = found[0]["links"]
    assert links["xml"]["MUL"] == f"{ted.base_url}/en/notice/{found[0]['publication-number']}/xml"
    assert "FIN" in links["html"]


def test_page_number_mode_pages_by_page_and_limit(ted_search: Search) -> None:
    def page(number: int) -> list[str]:
        body = {"query": FINNISH, "fields": FIELDS, "limit": 5, "page": number}
        return numbers(ted_search(body).json()["notices"])

    everything = numbers(ted_search({"query": FINNISH, "fields": FIELDS, "limit": 250}).json()["notices"])
    assert page(1) + page(2) == everything[:10]


# -- iteration -----------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(limit=st.integers(1, 12))
def test_iteration_covers_every_notice_once_in_order_and_ends_with_a_null_token(
    ted_search: Search, sample: SampleData, limit: int
) -> None:
    found = iterate(ted_search, f"{FINNISH} SORT BY publication-date", limit)
    finnish = matching(
        sample, lambda n: n.fields["buyer-country"] == ["FIN"] or "FIN" in n.fields.get("place-of-performance", [])
    )
    assert sorted(numbers(found)) == finnish
    assert len(set(numbers(found))) == len(found)
    dates = [notice["publication-date"][:10] for notice in found]
    assert dates == sorted(dates)


def test_a_token_only_continues_the_identical_query(ted_search: Search) -> None:
    body = {"query": FINNISH, "fields": FIELDS, "limit": 3, "paginationMode": "ITERATION"}
    token = ted_search(body).json()["iterationNextToken"]
    assert token
    other_query = ted_search({**body, "query": "buyer-country = FIN", "iterationNextToken": token})
    assert other_query.status == 400
    assert other_query.json()["error"]["type"] == "INVALID_ITERATION_TOKEN"
    assert ted_search({**body, "iterationNextToken": "made-up"}).status == 400
    assert ted_search({**body, "paginationMode": "PAGE_NUMBER", "iterationNextToken": token}).status == 400
    again = [ted_search({**body, "iterationNextToken": token}).json()["notices"] for _ in range(2)]
    assert again[0] == again[1]  # a lost answer can be asked for again


def test_a_notice_published_during_an_iteration_neither_repeats_nor_hides_others(sample: SampleData) -> None:
    with TedStandIn(sample.ted_notices, today=lambda: sample.today) as server:

        def post(body: dict[str, Any]) -> Reply:
            return http("POST", f"{server.base_url}/v3/notices/search", json_body=body)

        body = {"query": FINNISH, "fields": FIELDS, "limit": 4, "paginationMode": "ITERATION"}
        first = post(body).json()
        newest = max(sample.ted_notices, key=lambda n: n.publication_date)
        server.publish(
            TedSampleNotice(
                "999999-2099",
                newest.publication_date,
                {**newest.fields, "publication-number": "999999-2099"},
                newest.xml,
            )
        )
        rest = iterate(post, FINNISH, 4)  # a fresh iteration sees it …
        continued: list[dict[str, Any]] = list(first["notices"])
        token = first["iterationNextToken"]
        while token:
            page = post({**body, "iterationNextToken": token}).json()
            continued += page["notices"]
            token = page["iterationNextToken"]
    assert "999999-2099" in numbers(rest)
    assert len(set(numbers(continued))) == len(continued)  # … and the old one goes on without repeats
    assert set(numbers(continued)) >= set(numbers(rest)) - {"999999-2099"}


# -- notice XML ----------------------------------------------------------------------------------


def test_the_xml_is_served_for_padded_and_unpadded_publication_numbers(ted: TedStandIn, sample: SampleData) -> None:
    notice = sample.ted_notices[0]
    serial, year = notice.publication_number.split("-")
    plain = http("GET", f"{ted.base_url}/en/notice/{notice.publication_number}/xml")
    padded = http("GET", f"{ted.base_url}/en/notice/{int(serial):08d}-{year}/xml")
    assert plain.status == padded.status == 200
    assert plain.body == padded.body == notice.xml
    assert plain.header("Content-Type") == "application/xml"


def test_an_unknown_publication_number_is_404(ted: TedStandIn) -> None:
    assert http("GET", f"{ted.base_url}/en/notice/1-1999/xml").status == 404
    assert http("GET", f"{ted.base_url}/v3/notices/nothing").status == 404


def test_the_active_scope_leaves_out_results_closed_and_superseded_notices(
    ted_search: Search, sample: SampleData
) -> None:
    found = ted_search(
        {"query": FINNISH, "fields": ["publication-number", "form-type"], "limit": 250, "scope": "ACTIVE"}
    ).json()["notices"]
    changed = {i for n in sample.ted_notices for i in n.fields.get("change-notice-version-identifier", [])}
    by_number = {n.publication_number: n for n in sample.ted_notices}
    for notice in found:
        full = by_number[notice["publication-number"]]
        assert notice["form-type"] != "result"
        assert f"{full.fields['notice-identifier']}-01" not in changed
        deadlines = [date.fromisoformat(d[:10]) for d in full.fields.get("deadline-receipt-tender-date-lot", [])]
        assert not deadlines or max(deadlines) >= sample.today
