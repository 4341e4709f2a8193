"""The PRH (YTJ v3) stand-in over loopback HTTP: the register's answers, errors, limit and the sample's firms."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.standins.prh import COMPANIES_PATH, PrhStandIn, prh_standin, sample_companies
from crawler.standins.sample import SAMPLE_FILE
from tests.standins.standin_http import Reply, http

HAMEENLINNA = "0139797-8"
UNKNOWN = "1234567-1"


@pytest.fixture(scope="module")
def prh() -> Iterator[PrhStandIn]:
    with prh_standin() as server:
        yield server


def lookup(server: PrhStandIn, query: str) -> Reply:
    return http("GET", f"{server.api_url}/companies?{query}")


def test_a_known_business_id_answers_the_search_envelope_with_its_one_company(prh: PrhStandIn) -> None:
    reply = lookup(prh, f"businessId={HAMEENLINNA}")
    assert reply.status == 200 and (reply.header("Content-Type") or "").startswith("application/json")
    body = reply.json()
    assert body["totalResults"] == 1 and len(body["companies"]) == 1
    (company,) = body["companies"]
    assert company["businessId"]["value"] == HAMEENLINNA
    assert company["names"][0] == {**company["names"][0], "name": "Hämeenlinnan kaupunki", "type": "1"}
    visiting = next(address for address in company["addresses"] if address["type"] == 1)
    assert visiting["postCode"] == "13100" and visiting["street"] == "Wetterhoffinkatu"
    assert {office["municipalityCode"] for office in visiting["postOffices"]} == {"109"}
    assert {office["languageCode"]: office["city"] for office in visiting["postOffices"]} == {
        "1": "HÄMEENLINNA",
        "2": "HÄMEENLINNA",  # Posti's Swedish name of the post office 13100
    }
    (raseborg,) = lookup(prh, "businessId=1853941-8").json()["companies"]
    offices = raseborg["addresses"][0]["postOffices"]
    assert {office["languageCode"]: office["city"] for office in offices} == {"1": "TAMMISAARI", "2": "EKENÄS"}
    assert {office["municipalityCode"] for office in offices} == {"710"}  # Raasepori


def test_an_unknown_business_id_is_zero_results_not_a_404(prh: PrhStandIn) -> None:
    reply = lookup(prh, f"businessId={UNKNOWN}")
    assert (reply.status, reply.json()) == (200, {"totalResults": 0, "companies": []})


@pytest.mark.parametrize("value", ["01397978", "139797-8", "0139797-8x", "", "FI01397978"])
def test_a_malformed_business_id_is_a_400_with_prhs_error_response(prh: PrhStandIn, value: str) -> None:
    reply = lookup(prh, f"businessId={value}")
    assert reply.status == 400
    body = reply.json()
    assert set(body) == {"timestamp", "message", "errorcode"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["timestamp"])
    assert "businessId" in body["message"] and isinstance(body["errorcode"], int)


def test_other_searches_are_refused_by_name_and_there_is_no_path_per_company(prh: PrhStandIn) -> None:
    reply = lookup(prh, "name=Nokia&location=Espoo")
    assert reply.status == 400 and "location, name" in reply.json()["message"]
    assert http("GET", f"{prh.api_url}/companies/{HAMEENLINNA}").status == 404
    assert http("POST", f"{prh.api_url}/companies?businessId={HAMEENLINNA}", json_body={}).status == 404


def test_the_request_log_shows_which_firms_were_asked(prh: PrhStandIn) -> None:
    prh.clear_requests()
    lookup(prh, f"businessId={HAMEENLINNA}")
    lookup(prh, f"businessId={UNKNOWN}&page=1")
    assert prh.lookups() == [HAMEENLINNA, UNKNOWN]


def test_a_404_variant_shows_a_client_tolerates_it() -> None:
    with PrhStandIn([], not_found_status=404) as server:
        reply = lookup(server, f"businessId={UNKNOWN}")
    assert (reply.status, reply.json()) == (404, {"totalResults": 0, "companies": []})


def test_the_rate_limit_answers_429_in_plain_text_and_lifts_after_its_window() -> None:
    with PrhStandIn([], rate_limit_per_minute=2, rate_limit_window=1.0) as server:
        statuses = [lookup(server, f"businessId={UNKNOWN}").status for _ in range(2)]
        limited = lookup(server, f"businessId={UNKNOWN}")
        assert statuses == [200, 200] and limited.status == 429
        assert limited.header("Content-Type").startswith("text/plain")  # type: ignore[union-attr]
        assert limited.header("Retry-After") == "1"
        time.sleep(1.1)
        assert lookup(server, f"businessId={UNKNOWN}").status == 200
    with PrhStandIn([], rate_limit_per_minute=1, retry_after=False) as quiet:
        lookup(quiet, f"businessId={UNKNOWN}")
        limited = lookup(quiet, f"businessId={UNKNOWN}")
        assert limited.status == 429 and limited.header("Retry-After") is None  # as PRH documents it


def test_faults_break_lookups_as_the_other_stand_ins_do(prh: PrhStandIn) -> None:
    prh.add_fault(COMPANIES_PATH, kind="retry_after", seconds=3)
    prh.add_fault(COMPANIES_PATH, kind="truncate", after=1)
    try:
        throttled = lookup(prh, f"businessId={HAMEENLINNA}")
        truncated = lookup(prh, f"businessId={HAMEENLINNA}")
    finally:
        prh.clear_faults()
    assert throttled.status == 429 and throttled.header("Retry-After") == "3"
    assert truncated.status == 200
    with pytest.raises(ValueError):
        json.loads(truncated.body)
    assert lookup(prh, f"businessId={HAMEENLINNA}").json()["totalResults"] == 1


def test_firms_added_while_serving_and_to_the_sample_file_are_served(tmp_path: Path) -> None:
    document = json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))
    document["organisations"]["uusi-voittaja"] = {
        "name": "Uusi Voittaja Oy",
        "business_id": UNKNOWN,
        "street": "Kutomonkatu 4",
        "postcode": "30100",
        "town": "Forssa",
    }
    sample = tmp_path / "notices.json"
    sample.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with prh_standin(sample) as server:
        (company,) = lookup(server, f"businessId={UNKNOWN}").json()["companies"]
        assert company["names"][0]["name"] == "Uusi Voittaja Oy"
        assert company["addresses"][0]["postOffices"][0]["municipalityCode"] == "061"
        server.remove_company(UNKNOWN)
        assert lookup(server, f"businessId={UNKNOWN}").json()["totalResults"] == 0
        server.add_company(company)
        assert lookup(server, f"businessId={UNKNOWN}").json()["totalResults"] == 1


def test_only_the_samples_finnish_organisations_are_in_the_register(prh: PrhStandIn) -> None:
    organisations = [o for o in json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))["organisations"].values()]
    with_id = [o for o in organisations if o.get("business_id")]
    foreign = {o["business_id"] for o in with_id if o.get("country") not in (None, "FIN")}
    assert foreign, "the sample has foreign firms"
    assert not foreign & set(prh.business_ids)
    assert set(prh.business_ids) == {o["business_id"] for o in with_id if o.get("country") in (None, "FIN")}


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, element in value.items():
            yield key, element
            yield from walk(element)
    elif isinstance(value, list):
        for element in value:
            yield from walk(element)


def test_the_registers_quirks_are_all_in_the_sample_records() -> None:
    records = sample_companies()
    last_modified = {record["lastModified"][10] for record in records}
    assert last_modified == {"T", " "}  # both formats
    addresses = [address for record in records for address in record["addresses"]]
    assert {type(address["type"]) for address in addresses} == {int}
    assert any(address.get("postOfficeBox") and address["street"] == "" for address in addresses)
    offices = [office for address in addresses for office in address["postOffices"]]
    assert any("active" in office and "postCode" in office for office in offices)
    assert any("active" not in office for office in offices)
    entrances = [address.get("entrance", "absent") for address in addresses if address["type"] == 1]
    assert {"", None, "absent"} <= set(entrances)
    codes = [value for record in records for key, value in walk(record) if key in ("type", "languageCode")]
    assert "16" in codes and "1" in codes  # numeric-string codes beside the integer address types
    assert any(len(record["addresses"]) == 0 for record in records)  # a firm without a known address
    assert any(len(record["addresses"]) == 1 for record in records)
