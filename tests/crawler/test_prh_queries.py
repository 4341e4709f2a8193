"""Which firms the register is asked about, and the answers kept for the meter, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.orm import Session

from crawler.items import Award, Organisation
from crawler.prh_json import CompanyAnswer, map_company_response, valid_business_id
from crawler.store import store_item
from models.company import (
    REASK_NOT_FOUND_AFTER,
    Company,
    business_ids_to_look_up,
    company_locations,
    store_company,
    winner_to_look_up,
)
from models.notice import Notice
from tests.conftest import MakeNotice

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
FIRMS = ("2471684-7", "0359468-4", "2520545-9", "1234567-1", "0112038-9")


def award(business_id: str | None, **location: str) -> Award:
    winner = Organisation(name="Voittaja Oy", business_id=business_id, **location)
    return Award(lot_id="LOT-0001", result="selec-w", winner=winner)


def store_award(session: Session, make_notice: MakeNotice, *awards: Award, **fields: Any) -> Notice:
    item = make_notice(kind="award", deadline=None, **fields)
    item.awards = list(awards)
    store_item(session, item)
    session.flush()
    return session.query(Notice).filter_by(source_id=item.source_id).one()


def found(business_id: str, code: str | None = "109") -> CompanyAnswer:
    return CompanyAnswer(
        business_id=business_id,
        result="found",
        name="Voittaja Oy",
        municipality_code=code,
        postcode="13100",
        town="Hämeenlinna",
        country="FI",
        record={"businessId": {"value": business_id}},
    )


def test_only_winners_of_stored_awards_without_a_location_are_asked_about(
    session: Session, make_notice: MakeNotice
) -> None:
    store_award(
        session,
        make_notice,
        award(FIRMS[0]),
        award("FI" + FIRMS[1].replace("-", "")),  # the VAT spelling is the same firm
        award(FIRMS[2], postcode="33100"),
        award(FIRMS[3], town="Tampere"),
        award(FIRMS[4], nuts="FI1B1"),
        award("556812-4471", country="SWE"),
        award("1234567-2"),  # wrong check digit
        award(None),
        Award(lot_id="LOT-0002", result="clos-nw"),  # no winner
    )
    store_award(session, make_notice, award(FIRMS[0]), award(FIRMS[4]))  # FIRMS[4] without a location this time
    contract_notice = make_notice()
    contract_notice.awards = [award("2617489-3")]  # not an award notice: not the meter's business
    store_item(session, contract_notice)
    quarantined = store_award(session, make_notice, award("2617489-3"))
    session.execute(update(Notice).where(Notice.id == quarantined.id).values(status="quarantined"))

    assert business_ids_to_look_up(session, now=NOW) == sorted([FIRMS[0], FIRMS[1], FIRMS[4]])
    assert business_ids_to_look_up(session, now=NOW, limit=2) == sorted([FIRMS[0], FIRMS[1], FIRMS[4]])[:2]


def test_firms_with_an_answer_are_not_asked_again_until_a_not_found_is_old(
    session: Session, make_notice: MakeNotice
) -> None:
    store_award(session, make_notice, *(award(firm) for firm in FIRMS[:4]))
    store_company(session, found(FIRMS[0]), fetched_at=NOW - timedelta(days=3000))  # found: never again
    store_company(session, CompanyAnswer(FIRMS[1], "not_found"), fetched_at=NOW - REASK_NOT_FOUND_AFTER)
    store_company(session, CompanyAnswer(FIRMS[2], "not_found"), fetched_at=NOW - REASK_NOT_FOUND_AFTER - timedelta(1))
    assert business_ids_to_look_up(session, now=NOW) == sorted([FIRMS[2], FIRMS[3]])


def test_a_new_answer_replaces_the_old_one(session: Session) -> None:
    store_company(session, CompanyAnswer(FIRMS[0], "not_found"), fetched_at=NOW - timedelta(days=200))
    store_company(session, found(FIRMS[0], "082"), fetched_at=NOW)
    session.commit()
    (company,) = session.query(Company).all()
    assert (company.result, company.municipality_code, company.fetched_at) == ("found", "082", NOW)
    assert company.record == {"businessId": {"value": FIRMS[0]}}


def test_the_meter_reads_answers_by_business_id_in_any_spelling(session: Session) -> None:
    store_company(session, found(FIRMS[0], "082"), fetched_at=NOW)
    store_company(session, CompanyAnswer(FIRMS[1], "not_found"), fetched_at=NOW)
    many = [f"{n:07d}-0" for n in range(1200)]  # more than one IN (…) chunk
    for business_id in many[::300]:
        store_company(session, found(business_id), fetched_at=NOW)
    session.commit()
    locations = company_locations(session, ["FI" + FIRMS[0].replace("-", ""), FIRMS[1], FIRMS[2], None, "", *many])
    assert locations[FIRMS[0]].municipality_code == "082"
    assert locations[FIRMS[1]].result == "not_found"  # kept: "the register does not know it", shown as unknown
    assert FIRMS[2] not in locations
    assert set(locations) == {FIRMS[0], FIRMS[1], *many[::300]}


def test_whatever_the_register_sends_can_be_kept_on_either_database(session: Session) -> None:
    record = {
        "businessId": {"value": FIRMS[0]},
        "names": [{"name": "Nolla\x00 ja\u202e käänteinen \ud800 Oy", "type": "1"}],
        "addresses": [
            {"type": 1, "postCode": "1" * 40, "country": "Suomi",
             "postOffices": [{"city": "HÄMEEN\x07LINNA", "languageCode": "1", "municipalityCode": "1090"}]},
            {"type": 2, "postOffices": [{"city": "X", "languageCode": "1", "municipalityCode": "109"}]},
        ],
        "tradeRegisterStatus": "1",
        "\x00avain": "arvo\x00",
    }
    body = json.dumps({"totalResults": 1, "companies": [record]}).encode("utf-8")
    answer = map_company_response(body, FIRMS[0])
    store_company(session, answer, fetched_at=NOW)
    session.commit()
    company = session.get_one(Company, FIRMS[0])
    assert company.name == "Nolla ja käänteinen ? Oy"
    assert (company.municipality_code, company.postal_municipality_code) == (None, "109")
    assert (company.postcode, company.country, company.town) == (None, None, "Hämeenlinna")
    assert company.record is not None and company.record["avain"] == "arvo"


location_values = st.one_of(st.none(), st.just(""), st.just("  "), st.text(max_size=6))


@given(
    business_id=st.one_of(st.none(), st.integers(), st.sampled_from([*FIRMS, "FI24716847", "2471684-8"]), st.text()),
    postcode=location_values,
    town=location_values,
    nuts=location_values,
    country=st.sampled_from([None, "", "FIN", "FI", "fin", "SWE", "EST"]),
)
def test_a_winner_is_asked_about_only_with_a_valid_finnish_id_and_no_location(
    business_id: Any, postcode: Any, town: Any, nuts: Any, country: Any
) -> None:
    winner = {"business_id": business_id, "postcode": postcode, "town": town, "nuts": nuts, "country": country}
    asked = winner_to_look_up(winner)
    has_location = any(value is not None and str(value).strip() for value in (postcode, town, nuts))
    if asked is not None:
        assert valid_business_id(asked) and not has_location
        assert (country or "FIN").upper() in ("FIN", "FI")
    elif business_id in FIRMS and not has_location and (country or "FIN").upper() in ("FIN", "FI"):
        raise AssertionError(f"{business_id} should be asked about")


def test_a_winner_named_only_in_a_correction_of_an_award_is_asked_about(
    session: Session, make_notice: MakeNotice
) -> None:
    """The meter counts a corrected award's winners from the correction: the register must place them too."""
    item = make_notice(kind="correction", deadline=None)
    item.awards = [award(FIRMS[2])]
    store_item(session, item)
    session.flush()
    assert business_ids_to_look_up(session, now=NOW) == [FIRMS[2]]
