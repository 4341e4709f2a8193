"""The company register's answers as ``companies`` rows: the location the meter reads, and nothing guessed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import PayloadError
from crawler.classification.region_data import load_region_data
from crawler.items import UNSAFE_CHARACTERS
from crawler.prh_json import CompanyAnswer, map_company_response, parse_last_modified, valid_business_id
from crawler.standins.prh import company_record, sample_companies, sample_organisations
from tests.crawler.test_fuzz_mappers import mutated

HELSINKI = ZoneInfo("Europe/Helsinki")
BUSINESS_ID = "2471684-7"


def office(city: str, language: str, code: str | None) -> dict[str, Any]:
    return {"city": city, "languageCode": language, "municipalityCode": code}


def company(**overrides: Any) -> dict[str, Any]:
    """A register record of a firm that works in Forssa and gets its post through a box in Helsinki."""
    record: dict[str, Any] = {
        "businessId": {"value": BUSINESS_ID, "registrationDate": "2012-03-01", "source": "3"},
        "names": [
            {"name": "Forssan Vanha Nimi Oy", "type": "1", "registrationDate": "2012-03-01", "endDate": "2019-05-31",
             "version": 2, "source": "1"},
            {"name": "Lounais-Hämeen Kuljetus Oy", "type": "1", "registrationDate": "2019-06-01", "version": 1,
             "source": "1"},
            {"name": "LH Kuljetus", "type": "3", "registrationDate": "2019-06-01", "version": 1, "source": "1"},
        ],
        "addresses": [
            {"type": 2, "street": "", "postCode": "00101", "postOfficeBox": "418",
             "postOffices": [office("HELSINGFORS", "2", "091"), office("HELSINKI", "1", "091")]},
            {"type": 1, "street": "Saksankatu", "buildingNumber": "12", "entrance": "", "postCode": "30100",
             "postOffices": [office("FORSSA", "2", "061"), office("FORSSA", "1", "061")], "co": None},
        ],
        "tradeRegisterStatus": "1",
        "lastModified": "2026-08-19T10:04:06",
    }
    record.update(overrides)
    return record


def answer(*companies: Any, business_id: str = BUSINESS_ID, total: int | None = None) -> CompanyAnswer:
    body = {"totalResults": len(companies) if total is None else total, "companies": list(companies)}
    return map_company_response(json.dumps(body).encode(), business_id)


def test_the_visiting_address_says_where_the_firm_works_and_the_postal_one_is_kept_beside_it() -> None:
    found = answer(company())
    assert found.result == "found" and found.business_id == BUSINESS_ID
    assert found.name == "Lounais-Hämeen Kuljetus Oy"  # the current trade name, not the former or an auxiliary one
    assert (found.municipality_code, found.postal_municipality_code) == ("061", "091")
    assert (found.postcode, found.town, found.country) == ("30100", "Forssa", "FI")
    assert found.last_modified == datetime(2026, 8, 19, 10, 4, 6, tzinfo=HELSINKI)
    assert found.record is not None and found.record["names"][1]["name"] == "Lounais-Hämeen Kuljetus Oy"


def test_without_a_visiting_address_the_postal_one_gives_postcode_and_town_but_not_the_firms_municipality() -> None:
    record = company()
    record["addresses"] = [record["addresses"][0]]
    found = answer(record)
    assert (found.municipality_code, found.postal_municipality_code) == (None, "091")
    assert (found.postcode, found.town) == ("00101", "Helsinki")


def test_the_finnish_post_office_is_preferred_and_any_other_code_of_the_address_is_taken() -> None:
    record = company()
    record["addresses"][1]["postOffices"] = [
        {"city": "TAMMISAARI", "languageCode": "1", "municipalityCode": None, "active": True, "postCode": "10600"},
        {"city": "EKENÄS", "languageCode": "2", "municipalityCode": "710", "active": True, "postCode": "10600"},
    ]
    record["addresses"][1]["type"] = "1"  # a string type reads the same as the schema's integer
    found = answer(record)
    assert (found.municipality_code, found.town) == ("710", "Tammisaari")


@pytest.mark.parametrize("empty", [None, "", "absent"])
def test_absent_null_and_empty_fields_mean_not_given(empty: Any) -> None:
    record = company()
    for address in record["addresses"]:
        for key in ("postCode", "country"):
            if empty == "absent":
                address.pop(key, None)
            else:
                address[key] = empty
        for post_office in address["postOffices"]:
            post_office["municipalityCode"] = None if empty == "absent" else empty
    record["names"] = [] if empty == "absent" else [{"name": empty, "type": "1"}]
    record["lastModified"] = None if empty == "absent" else empty
    found = answer(record)
    assert found.result == "found"
    assert (found.name, found.municipality_code, found.postal_municipality_code, found.postcode) == (None,) * 4
    assert found.country is None  # without a municipality code nothing says the address is in Finland
    assert found.last_modified is None


def test_a_foreign_address_keeps_its_country() -> None:
    record = company(
        addresses=[{"type": 1, "country": "se", "freeAddressLine": "Norgårdsvägen_3 _ SE-451_75 Uddevalla"}]
    )
    found = answer(record)
    assert (found.country, found.municipality_code, found.postcode) == ("SE", None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-21 01:49:24", datetime(2024, 11, 21, 1, 49, 24, tzinfo=HELSINKI)),  # the older schema
        ("2026-08-19T10:04:06", datetime(2026, 8, 19, 10, 4, 6, tzinfo=HELSINKI)),  # the newer one
        ("2026-02-30T10:04:06", None),
        ("eilen", None),
        (20260819, None),
    ],
)
def test_last_modified_is_read_in_both_formats_as_finnish_time(text: Any, expected: datetime | None) -> None:
    assert parse_last_modified(text) == expected


def test_an_unknown_id_is_not_found_and_so_is_an_answer_about_another_firm() -> None:
    assert answer().result == "not_found"
    other = company(businessId={"value": "0112038-9"})
    assert answer(other).result == "not_found"  # the total alone is not trusted
    assert answer(other, company()).result == "found"


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE html><html><body><h1>Huoltokatko</h1></body></html>',
        b'{"totalResults":1,"companies":[{"businessId":{"value":"2471684-7"},"names":[{"na',
        b"[]",
        b'{"totalResults":0}',
        b'{"totalResults":1,"companies":[]}',  # says it found one, shows none: broken, not "not found"
        b'{"totalResults":1,"companies":["2471684-7"]}',
        b'{"totalResults":NaN,"companies":[]}',
        b"\xff\xfe\x00",
        b"",
    ],
    ids=["html", "truncated", "list", "no-companies", "emptied", "not-an-object", "nan", "not-utf8", "empty"],
)
def test_a_body_that_is_not_the_envelope_is_refused_by_name(body: bytes) -> None:
    with pytest.raises(PayloadError):
        map_company_response(body, BUSINESS_ID)


def test_the_retired_v1_envelope_of_a_404_is_read_as_not_found() -> None:
    body = {"type": "fi.prh.opendata.bis", "version": "1", "totalResults": 0, "results": []}
    assert map_company_response(json.dumps(body), BUSINESS_ID).result == "not_found"


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_exactly_one_check_digit_makes_a_valid_business_id_unless_the_remainder_is_one(digits: str) -> None:
    remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    valid = [check for check in "0123456789" if valid_business_id(f"{digits}-{check}")]
    assert valid == ([] if remainder == 1 else [str(0 if remainder == 0 else 11 - remainder)])
    assert not valid_business_id(digits + (valid[0] if valid else "0"))  # the hyphen is part of the form


@pytest.mark.parametrize("value", ["0112038-9", "3466646-8", "2471684-7"])
def test_real_business_ids_are_valid(value: str) -> None:
    assert valid_business_id(value)


@pytest.mark.parametrize("value", [None, "", "112038-9", "0112038-8", "FI01120389", "0112038-9 ", "０112038-9"])
def test_other_spellings_and_wrong_check_digits_are_not(value: Any) -> None:
    assert not valid_business_id(value)


# -- any answer ------------------------------------------------------------------------------------------------------

#: Records of every shape the stand-in serves, and the hand-made one above.
RECORDS = [company(), *sample_companies()[:12]]


def mutated_envelope() -> st.SearchStrategy[Any]:
    """An answer whose record has values replaced or keys removed anywhere, a few times over."""
    return mutated([{"totalResults": 1, "companies": [record]} for record in RECORDS])


def business_id_in(document: Any) -> str:
    try:
        return str(document["companies"][0]["businessId"]["value"])
    except (KeyError, IndexError, TypeError):
        return BUSINESS_ID


def check_answer(found: CompanyAnswer) -> None:
    """What the ``companies`` table and the pages rely on in any answer."""
    assert found.result in ("found", "not_found")
    for code in (found.municipality_code, found.postal_municipality_code):
        assert code is None or (len(code) == 3 and code.isascii() and code.isdigit())
    assert found.country is None or (len(found.country) == 2 and found.country.isascii() and found.country.isupper())
    assert found.postcode is None or 0 < len(found.postcode) <= 16
    for text in (found.name, found.town, found.postcode):
        assert text is None or (text.strip() == text and text and not UNSAFE_CHARACTERS.search(text))
    if found.record is not None:
        stored = json.dumps(found.record, ensure_ascii=False, allow_nan=False).encode("utf-8")
        assert not UNSAFE_CHARACTERS.search(stored.decode("utf-8"))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_envelope())
def test_any_mutated_answer_maps_or_is_refused_by_name(document: Any) -> None:
    body = json.dumps(document, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
    try:
        found = map_company_response(body, business_id_in(document))
    except PayloadError as error:
        assert str(error)
        return
    check_answer(found)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_any_bytes_map_or_are_refused_by_name(body: bytes) -> None:
    try:
        found = map_company_response(body, BUSINESS_ID)
    except PayloadError:
        return
    check_answer(found)


def test_every_finnish_sample_organisation_is_served_with_the_municipality_of_its_postcode_or_town() -> None:
    region = load_region_data()
    organisations = {
        organisation["business_id"]: organisation
        for organisation in sample_organisations().values()
        if organisation.get("country") in (None, "FIN") and valid_business_id(organisation.get("business_id"))
    }
    served = {record["businessId"]["value"]: record for record in sample_companies()}
    assert served.keys() == organisations.keys()
    located = 0
    for business_id, record in served.items():
        organisation = organisations[business_id]
        found = answer(record, business_id=business_id)
        assert found.name == organisation["name"]
        expected = region.postcodes.get(organisation.get("postcode") or "") or region.towns.get(
            (organisation.get("town") or "").casefold()
        )
        assert found.municipality_code == expected, business_id  # None when the sample gives neither
        located += expected is not None
    assert located >= len(served) - 3


def test_an_organisation_whose_postcode_and_town_are_unknown_gets_no_municipality_code() -> None:
    organisation = {"name": "Tuntematon Oy", "business_id": BUSINESS_ID, "street": "Tie 1", "postcode": "00000",
                    "town": "Eiolemassa"}
    record = company_record("tuntematon", organisation, load_region_data())
    found = answer(record)
    assert found.result == "found" and found.municipality_code is None and found.postal_municipality_code is None
