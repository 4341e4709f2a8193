"""The HILMA stand-in answers like api.hankintailmoitukset.fi: search, filters, paging, eForms reads, the gateway."""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crawler.standins import HilmaStandIn
from crawler.standins.eforms_builder import NAMESPACES
from crawler.standins.hilma_index import utc_millis
from crawler.standins.sample import SampleData
from tests.standins.standin_http import API_KEY, Reply, http

Search = Callable[..., Reply]
INVALID_KEY_BODY = {
    "statusCode": 401,
    "message": "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription.",
}


def crawl(search: Search, filter_text: str | None, top: int | str = 7) -> list[dict[str, Any]]:
    """Page through a filter the way the spiders do: skip += top until a short page."""
    found: list[dict[str, Any]] = []
    skip = 0
    while True:
        body = {"search": "*", "orderby": "datePublished asc", "top": top, "skip": skip, "count": "true"}
        if filter_text:
            body["filter"] = filter_text
        reply = search(body)
        assert reply.status == 200, reply.body
        page = reply.json()["value"]
        found += page
        if len(page) < int(top):
            return found
        skip += int(top)


def ids(documents: list[dict[str, Any]]) -> list[str]:
    return [document["id"] for document in documents]


# -- the gateway -------------------------------------------------------------------------------


def test_a_search_without_the_subscription_key_is_refused_by_the_gateway(search: Search) -> None:
    reply = search({"search": "*"}, key=None)
    assert reply.status == 401
    assert "missing subscription key" in reply.json()["message"]


def test_a_wrong_subscription_key_gets_apims_invalid_key_answer(search: Search) -> None:
    reply = search({"search": "*"}, key="not-the-key")
    assert (reply.status, reply.json()) == (401, INVALID_KEY_BODY)


def test_the_key_may_also_come_as_the_subscription_key_query_parameter(hilma: HilmaStandIn) -> None:
    url = f"{hilma.base_url}/avp/eformnotices/docs/search?subscription-key={API_KEY}"
    assert http("POST", url, json_body={"search": "*", "top": 1}).status == 200


def test_an_unknown_path_is_apims_404_even_without_a_key(hilma: HilmaStandIn) -> None:
    reply = http("GET", f"{hilma.base_url}/avp/notices/nothing-here")
    assert (reply.status, reply.json()) == (404, {"statusCode": 404, "message": "Resource not found"})


def test_more_requests_than_the_rate_limit_get_429_until_the_window_passes(sample: SampleData) -> None:
    with HilmaStandIn(
        sample.hilma_documents, {}, api_key=API_KEY, rate_limit_per_minute=3, rate_limit_window=1.0
    ) as server:
        url = f"{server.base_url}/avp/eformnotices/docs/search"
        headers = {"Ocp-Apim-Subscription-Key": API_KEY}
        replies = [http("POST", url, json_body={"top": 1}, headers=headers) for _ in range(4)]
        assert [reply.status for reply in replies] == [200, 200, 200, 429]
        assert replies[3].header("Retry-After") == "1"
        assert replies[3].body.decode() == "Rate limit is exceeded. Try again in 1 seconds."
        time.sleep(1.05)
        assert http("POST", url, json_body={"top": 1}, headers=headers).status == 200


# -- search ------------------------------------------------------------------------------------


def test_the_search_answer_is_azures_envelope_with_a_score_on_every_document(
    search: Search, sample: SampleData
) -> None:
    reply = search({"search": "*", "count": True, "top": 3})
    body = reply.json()
    assert reply.header("Content-Type") == "application/json; odata.metadata=minimal"
    assert reply.header("OData-Version") == "4.0"
    assert body["@odata.context"].endswith("indexes('eformnotices-v2')/$metadata#docs(*)")
    assert body["@odata.count"] == len(sample.hilma_documents)
    assert len(body["value"]) == 3
    assert all(document["@search.score"] == 1.0 for document in body["value"])


@settings(max_examples=15, deadline=None)
@given(top=st.integers(1, 25), as_string=st.booleans())
def test_paging_with_skip_and_top_returns_every_document_once_in_ascending_order(
    search: Search, sample: SampleData, top: int, as_string: bool
) -> None:
    found = crawl(search, None, top=str(top) if as_string else top)
    assert sorted(ids(found)) == sorted(ids(sample.hilma_documents))
    assert len(set(ids(found))) == len(found)
    published = [document["datePublished"] for document in found]
    assert published == sorted(published)


def test_a_watermark_filter_returns_exactly_the_later_notices(search: Search, sample: SampleData) -> None:
    ordered = sorted(sample.hilma_documents, key=lambda document: document["datePublished"])
    watermark = ordered[20]["datePublished"]
    found = crawl(search, f"datePublished gt {watermark} and isPlan eq false")
    expected = [d for d in ordered[21:] if not d["isPlan"]]
    assert ids(found) == ids(expected)


def test_date_literals_with_an_offset_compare_as_instants(search: Search, sample: SampleData) -> None:
    document = sample.hilma_documents[5]
    moment = datetime.fromisoformat(document["datePublished"]).astimezone().isoformat()
    found = crawl(search, f"datePublished ge {moment} and datePublished le {moment}")
    assert ids(found) == [document["id"]]


def test_or_and_not_and_parentheses_combine_like_odata(search: Search, sample: SampleData) -> None:
    found = crawl(search, "(type eq 'E3' or type eq '16') and not isCorrigendum and isPlan eq false")
    expected = [d for d in sample.hilma_documents if d["type"] in ("E3", "16") and not d["isCorrigendum"]]
    assert sorted(ids(found)) == sorted(ids(expected))


def test_search_in_matches_any_of_the_listed_values(search: Search, sample: SampleData) -> None:
    found = crawl(search, "search.in(mainType, 'ContractAwardNotices|PriorInformationNotices', '|')")
    expected = [
        d for d in sample.hilma_documents if d["mainType"] in ("ContractAwardNotices", "PriorInformationNotices")
    ]
    assert sorted(ids(found)) == sorted(ids(expected))


def test_integers_null_and_ne_filter_as_azure_does(search: Search, sample: SampleData) -> None:
    target = sample.hilma_documents[0]
    assert ids(crawl(search, f"noticeId eq {target['noticeId']}")) == [target["id"]]
    without_deadline = crawl(search, "deadline eq null")
    assert sorted(ids(without_deadline)) == sorted(ids([d for d in sample.hilma_documents if d["deadline"] is None]))
    not_services = crawl(search, "procurementTypeCode ne 'services'")
    assert all(document["procurementTypeCode"] != "services" for document in not_services) and not_services


def test_search_ismatch_finds_a_cpv_code_inside_the_space_separated_field(search: Search, sample: SampleData) -> None:
    found = crawl(search, "search.ismatch('90620000', 'cpvCodes')")
    expected = [d for d in sample.hilma_documents if "90620000" in d["cpvCodes"].split()]
    assert sorted(ids(found)) == sorted(ids(expected)) and expected


def test_simple_search_words_match_titles_and_descriptions(search: Search, sample: SampleData) -> None:
    found = search({"search": "siivous*", "top": 100}).json()["value"]
    assert found
    assert all("siivo" in (d["titleFi"] + d["descriptionFi"]).lower() for d in found)


def test_orderby_descending_and_select_shape_the_answer(search: Search, sample: SampleData) -> None:
    reply = search({"search": "*", "orderby": "datePublished desc", "select": "id,datePublished", "top": 1000})
    found = reply.json()["value"]
    assert [d["datePublished"] for d in found] == sorted((d["datePublished"] for d in found), reverse=True)
    assert set(found[0]) == {"@search.score", "id", "datePublished"}


def test_the_cancelled_notice_is_found_by_its_later_modification_time(search: Search, sample: SampleData) -> None:
    cancelled = [d for d in sample.hilma_documents if d["isCancelled"] and not d["isCorrigendum"]]
    assert len(cancelled) == 1
    original = cancelled[0]
    found = crawl(
        search, f"dateModified gt {original['datePublished']} and datePublished le {original['datePublished']}"
    )
    assert original["id"] in ids(found)


def test_a_filter_on_an_unknown_field_is_a_400_problem(search: Search) -> None:
    reply = search({"search": "*", "filter": "colour eq 'red'"})
    body = reply.json()
    assert reply.status == 400
    assert (body["type"], body["status"]) == ("Hilma API Error", 400)
    assert "colour" in body["detail"]


def test_a_broken_filter_a_wrong_literal_and_an_unknown_parameter_are_400s(search: Search) -> None:
    for body in (
        {"filter": "datePublished gt"},
        {"filter": "datePublished gt '2026-01-01'"},
        {"filter": "isPlan eq false and"},
        {"filter": "deadline gt 2026-13-01T00:00:00Z"},
        {"filter": "lots/any(l: l/deadline gt 2026-01-01T00:00:00Z)"},
        {"search": "titleFi:(siivous)", "queryType": "full"},
        {"top": "many"},
        {"searchMagic": True},
    ):
        assert search(body).status == 400, body


def test_skip_beyond_azures_limit_is_refused(search: Search) -> None:
    reply = search({"search": "*", "skip": 100_001})
    assert reply.status == 400
    assert "$skip" in reply.json()["detail"]
    assert search({"search": "*", "skip": 100_000}).status == 200


def test_a_page_is_capped_at_1000_documents_with_azures_continuation(sample: SampleData) -> None:
    template = sample.hilma_documents[0]
    documents = []
    for n in range(1100):
        document = copy.deepcopy(template)
        document["id"] = f"EF-{900000 + n}"
        documents.append(document)
    with HilmaStandIn(documents, {}, api_key=API_KEY) as server:
        reply = http(
            "POST",
            f"{server.base_url}/avp/eformnotices/docs/search",
            json_body={"search": "*", "top": 1500},
            headers={"Ocp-Apim-Subscription-Key": API_KEY},
        ).json()
    assert len(reply["value"]) == 1000
    assert reply["@odata.nextPageParameters"] == {"search": "*", "top": 500, "skip": 1000}


def test_a_notice_published_between_two_crawls_is_found_by_the_second(sample: SampleData) -> None:
    newest = max(sample.hilma_documents, key=lambda document: document["datePublished"])
    with HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=API_KEY) as server:

        def post(body: dict[str, Any]) -> Reply:
            return http(
                "POST",
                f"{server.base_url}/avp/eformnotices/docs/search",
                json_body=body,
                headers={"Ocp-Apim-Subscription-Key": API_KEY},
            )

        first = crawl(post, "isPlan eq false")
        watermark = first[-1]["datePublished"]
        fresh = copy.deepcopy(newest)
        fresh.update(id="EF-99001", noticeId=99001, datePublished=utc_millis(datetime.now().astimezone()))
        server.publish(fresh, xml=sample.hilma_eforms[newest["noticeId"]])
        second = crawl(post, f"datePublished gt {watermark} and isPlan eq false")
        envelope = http(
            "GET",
            f"{server.base_url}/avp-eforms/external-read/v1/notice/99001",
            headers={"Ocp-Apim-Subscription-Key": API_KEY},
        )
    assert ids(second) == ["EF-99001"]
    assert envelope.status == 200


# -- eForms read API ---------------------------------------------------------------------------


def read(hilma: HilmaStandIn, path: str) -> Reply:
    return http(
        "GET", f"{hilma.base_url}/avp-eforms/external-read/v1/{path}", headers={"Ocp-Apim-Subscription-Key": API_KEY}
    )


def test_a_single_notice_comes_as_an_envelope_with_base64_eforms_xml(hilma: HilmaStandIn, sample: SampleData) -> None:
    document = next(d for d in sample.hilma_documents if d["isEForms"] and d["lots"])
    envelope = read(hilma, f"notice/{document['noticeId']}").json()
    assert set(envelope) == {"id", "procedureId", "eForm", "hilmaStatistics", "dateCreated", "dateModified"}
    assert (envelope["id"], envelope["procedureId"]) == (document["noticeId"], document["procedureId"])
    assert set(envelope["hilmaStatistics"]) == {lot["id"] for lot in document["lots"]}
    root = etree.fromstring(base64.b64decode(envelope["eForm"]))
    assert root.findtext("cbc:ID", namespaces=NAMESPACES) == document["eFormsId"]
    created = datetime.fromisoformat(envelope["dateCreated"])
    assert created == datetime.fromisoformat(document["datePublished"]) - timedelta(minutes=5)


def test_an_unknown_notice_and_a_plan_have_no_eforms_content(hilma: HilmaStandIn) -> None:
    assert read(hilma, "notice/1").status == 404
    assert read(hilma, "notice/0").status == 404
    assert read(hilma, "notice/abc").status == 400


def test_the_batch_read_leaves_out_ids_without_xml_and_keeps_the_order(hilma: HilmaStandIn, sample: SampleData) -> None:
    first, second = list(sample.hilma_eforms)[:2]
    envelopes = read(hilma, f"notices?id={second}&id=1&id={first}").json()
    assert [envelope["id"] for envelope in envelopes] == [second, first]


def test_the_batch_read_takes_at_most_50_ids(hilma: HilmaStandIn, sample: SampleData) -> None:
    known = list(sample.hilma_eforms)
    fifty = (known * 2)[:50]
    assert read(hilma, "notices?" + "&".join(f"id={n}" for n in fifty)).status == 200
    reply = read(hilma, "notices?" + "&".join(f"id={n}" for n in range(1, 52)))
    assert reply.status == 400
    assert "50" in reply.json()["detail"]


def test_the_index_definition_lists_every_field_of_the_documents(hilma: HilmaStandIn, sample: SampleData) -> None:
    definition = http(
        "GET", f"{hilma.base_url}/avp/eformnotices", headers={"Ocp-Apim-Subscription-Key": API_KEY}
    ).json()
    assert definition["name"] == "eformnotices-v2"
    names = [field["name"] for field in definition["fields"]]
    assert names == list(sample.hilma_documents[0])
    by_name = {field["name"]: field for field in definition["fields"]}
    assert by_name["id"]["key"] is True
    assert by_name["datePublished"]["type"] == "Edm.DateTimeOffset"
    assert by_name["lots"]["type"] == "Collection(Edm.ComplexType)"
