"""The eForms parser against our own hand-written notices (``tests/fixtures/eforms``).

One row per fixture lists what a reader of that notice must get; the tests after the
table pin down single behaviours (what a correction, a consortium, a missing time or a
broken file turns into) so that a failure names the rule that broke.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.errors import PayloadError
from crawler.codes import EU_LANGUAGES, language_code, normalise_business_id, normalise_publication_number
from crawler.eforms import parse_eforms
from crawler.items import NoticeItem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eforms"
HELSINKI = ZoneInfo("Europe/Helsinki")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_edited(name: str, *edits: tuple[str, str]) -> NoticeItem:
    """Parse a fixture after replacing text that occurs exactly once, so that each edit does what it says."""
    text = fixture(name).decode("utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
        text = text.replace(old, new)
    return parse_eforms(text.encode("utf-8"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def summary(item: NoticeItem) -> dict[str, Any]:
    """The fields a row of the table can name, flattened to plain comparable values."""
    return {
        "source": item.source,
        "source_id": item.source_id,
        "url": item.url,
        "kind": item.kind,
        "subtype": item.subtype,
        "notice_type": item.notice_type,
        "form_type": item.form_type,
        "legal_basis": item.legal_basis,
        "national": item.national,
        "language": item.language,
        "notice_id": item.notice_id,
        "notice_version": item.notice_version,
        "procedure_id": item.procedure_id,
        "publication_number": item.publication_number,
        "changed_notice": item.changed_notice,
        "change_reason": item.change_reason,
        "previous_notices": item.previous_notices,
        "published_at": item.published_at,
        "titles": item.titles,
        "title": item.title,
        "description": item.description,
        "cpv_main": item.cpv_main,
        "cpv_additional": item.cpv_additional,
        "contract_nature": item.contract_nature,
        "procedure_type": item.procedure_type,
        "estimated_value": (item.estimated_value, item.currency),
        "deadline": item.deadline,
        "framework_agreement": item.framework_agreement,
        "documents_url": item.documents_url,
        "buyers": [(buyer.name, buyer.business_id, buyer.legal_type) for buyer in item.buyers],
        "buyer_address": [(b.street, b.postcode, b.town, b.country, b.nuts) for b in item.buyers][:1],
        "lots": [lot.id for lot in item.lots],
        "lot_deadlines": [lot.deadline for lot in item.lots],
        "places": [(place.nuts, place.town) for place in item.places],
        "awards": [
            (
                award.lot_id,
                award.result,
                award.winner.name if award.winner else None,
                award.winner.business_id if award.winner else None,
                award.value,
                award.tenders_received,
                award.contract_date,
            )
            for award in item.awards
        ],
        "awarded_value": (item.awarded_value, item.awarded_currency),
    }


ROWS: dict[str, dict[str, Any]] = {
    "national_contract_notice_E3_forssa.xml": {
        "source": "eforms",
        "source_id": "3f6c1a2e-8b1d-4c55-9e0a-7d2b5e4f1a01-01",
        "url": None,
        "kind": "contract_notice",
        "subtype": "E3",
        "notice_type": "cn-standard",
        "form_type": "competition",
        "legal_basis": "other",
        "national": True,
        "language": "fi",
        "notice_id": "3f6c1a2e-8b1d-4c55-9e0a-7d2b5e4f1a01",
        "notice_version": "01",
        "procedure_id": "b2d4e6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b",
        "publication_number": None,
        "changed_notice": None,
        "published_at": at("2026-02-10T09:15:00+02:00"),
        "title": "Forssan katuvalaistuksen LED-saneeraus 2026",
        "cpv_main": "45316110",
        "cpv_additional": ["34993000"],
        "contract_nature": "works",
        "procedure_type": "open",
        "estimated_value": (Decimal("480000"), "EUR"),
        "deadline": at("2026-03-16T12:00:00+02:00"),
        "framework_agreement": False,
        "documents_url": "https://tarjouspalvelu.fi/forssa?id=512034&tpk=5d1c0e7a",
        "buyers": [("Forssan kaupunki", "0148362-2", "la")],
        "buyer_address": [("Turuntie 18", "30100", "Forssa", "FIN", "FI1C2")],
        "lots": ["LOT-0000"],
        "places": [("FI1C2", "Forssa")],
        "awards": [],
    },
    "correction_moves_deadline.xml": {
        "source": "ted",
        "source_id": "61234-2026",
        "url": "https://ted.europa.eu/fi/notice/-/detail/61234-2026",
        "kind": "correction",
        "subtype": "16",
        "notice_type": "cn-standard",
        "national": False,
        "publication_number": "61234-2026",
        "changed_notice": "7c1e9a40-2f6b-4d8e-b3a5-0e9f8d7c6b5a-01",
        "change_reason": "cor-buy",
        "previous_notices": ["12345-2026"],
        "published_at": at("2026-02-13T00:00:00+01:00"),
        "title": "Hämeenlinnan kaupungin koulujen siivouspalvelut",
        "cpv_main": "90910000",
        "cpv_additional": ["90919200"],
        "estimated_value": (Decimal("1200000"), "EUR"),
        "deadline": at("2026-03-02T12:00:00+02:00"),
        "lot_deadlines": [at("2026-03-02T12:00:00+02:00"), at("2026-03-09T12:00:00+02:00")],
        "framework_agreement": True,
        "documents_url": "https://tarjouspalvelu.fi/hameenlinna?id=61234",
        "buyers": [("Hämeenlinnan kaupunki", "0204819-8", "la")],
        "lots": ["LOT-0001", "LOT-0003"],
        "places": [("FI1C2", "Hämeenlinna"), ("FI1C2", "Lammi")],
    },
    "cancellation.xml": {
        "source": "eforms",
        "source_id": "e0f1a2b3-c4d5-4e6f-9a0b-1c2d3e4f5a6b-01",
        "kind": "cancellation",
        "subtype": "20",
        "notice_type": "cn-social",
        "changed_notice": "54321-2026",
        "change_reason": "cancel",
        "published_at": at("2026-02-20T10:05:26+02:00"),
        "title": "Riihimäen kotihoidon ateriapalvelut",
        "description": "Kotiin kuljetettavat ateriat kotihoidon asiakkaille.\nKuljetukset arkisin ja viikonloppuisin.",
        "cpv_main": "55521100",
        "estimated_value": (None, None),
        "deadline": at("2026-02-27T12:00:00+02:00"),
        "framework_agreement": None,
        "documents_url": None,
        "buyers": [("Riihimäen kaupunki", "0137173-5", "la")],
        "lots": ["LOT-0001"],
    },
    "award_framework_with_consortium_and_unawarded_lot.xml": {
        "kind": "award",
        "subtype": "29",
        "notice_type": "can-standard",
        "form_type": "result",
        "national": False,
        "title": "Janakkalan kunnan katujen talvikunnossapito 2026–2029",
        "deadline": None,
        "framework_agreement": True,
        "buyers": [("Janakkalan kunta", "0151569-8", "la")],
        "lots": ["LOT-0001", "LOT-0002"],
        "places": [("FI1C2", "Turenki"), ("FI1C2", "Tervakoski")],
        "awards": [
            ("LOT-0001", "selec-w", "Hämeen Kone ja Kuljetus Oy", "2971505-0", Decimal("500000"), 5, "2026-01-20"),
            ("LOT-0001", "selec-w", "Tammelan Maansiirto Oy", "1945873-2", Decimal("350000.50"), 5, "2026-01-22"),
            ("LOT-0001", "selec-w", "Svensk Väg AB", "55670124", Decimal("350000.50"), 5, "2026-01-22"),
            ("LOT-0002", "clos-nw", None, None, None, 2, None),
        ],
        "awarded_value": (Decimal("850000"), "EUR"),
    },
    "prior_information_parts.xml": {
        "source": "eforms",
        "kind": "prior_information",
        "subtype": "4",
        "notice_type": "pin-only",
        "form_type": "planning",
        "language": "fi",
        "procedure_id": None,
        "procedure_type": None,
        "published_at": at("2026-01-15T08:00:00+00:00"),
        "titles": {
            "fi": "Kanta-Hämeen joukkoliikenteen palvelut 2027–2032",
            "sv": "Kollektivtrafiktjänster i Egentliga Tavastland 2027–2032",
        },
        "estimated_value": (Decimal("4400000"), "EUR"),
        "deadline": None,
        "buyers": [("Hämeen liitto", "0152434-0", "ra")],
        "lots": ["PAR-0001", "PAR-0002", "PAR-0003"],
        "places": [("FI1C2", "Hämeenlinna"), ("FI1C2", "Riihimäki"), ("FI1C2", "Forssa")],
        "awards": [],
    },
    "prefixed_root_sdk16_corr.xml": {
        "source": "ted",
        "source_id": "102030-2023",
        "kind": "correction",
        "subtype": None,
        "notice_type": "corr",
        "form_type": "change",
        "language": "fi",
        "changed_notice": "98765-2023",
        "change_reason": "update-add",
        "published_at": at("2023-08-28T00:00:00+00:00"),
        "titles": {"fi": "Lopen koulukeskuksen ruokapalvelut"},
        "estimated_value": (Decimal("640000"), "EUR"),
        "deadline": at("2023-09-15T23:59:59+03:00"),
        "buyers": [("Lopen kunta", "3012345-8", "la")],
        "lots": ["LOT-0000"],
        "places": [("FI1C2", None)],
    },
    "joint_restricted_notice_two_buyers.xml": {
        "kind": "contract_notice",
        "subtype": "16",
        "procedure_type": "restricted",
        "language": "fi",
        "previous_notices": ["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d-01", "45678-2025"],
        "titles": {
            "fi": "Hattulan ja Hämeenlinnan yhtenäiskoulun rakennusurakka",
            "sv": "Byggentreprenad för Hattula och Tavastehus enhetsskola",
            "en": "Construction of the Hattula and Hämeenlinna comprehensive school",
        },
        "estimated_value": (Decimal("2500000"), "EUR"),
        "deadline": at("2026-03-30T15:00:00+03:00"),
        "framework_agreement": False,
        "buyers": [("Hämeenlinnan kaupunki", "0204819-8", "la"), ("Hattulan kunta", "0987654-3", "la")],
        "lots": ["LOT-0001", "LOT-0002"],
        "places": [("FI1C2", "Parola"), ("FI1C2", "Hattula")],
    },
}


def test_every_fixture_has_a_row_in_the_table() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.xml")) == sorted(ROWS)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_fixture_reads_as_its_row_says(name: str) -> None:
    expected = ROWS[name]
    actual = summary(parse_eforms(fixture(name)))
    assert {field: actual[field] for field in expected} == expected


# --- what kind of notice ---------------------------------------------------------------------------------------------


def test_a_correction_moves_the_deadline_to_the_earliest_lot() -> None:
    original = parse_edited(
        "correction_moves_deadline.xml",
        ("<cbc:EndDate>2026-03-02+02:00</cbc:EndDate>", "<cbc:EndDate>2026-02-23+02:00</cbc:EndDate>"),
    )
    corrected = parse_eforms(fixture("correction_moves_deadline.xml"))
    assert original.deadline == at("2026-02-23T12:00:00+02:00")
    assert corrected.deadline == at("2026-03-02T12:00:00+02:00")
    assert corrected.kind == "correction"


def test_cancel_intent_is_a_cancellation_too() -> None:
    item = parse_edited("cancellation.xml", (">cancel<", ">cancel-intent<"))
    assert item.kind == "cancellation"


def test_a_change_notice_with_another_reason_is_a_correction() -> None:
    assert parse_edited("cancellation.xml", (">cancel<", ">update-add<")).kind == "correction"


def test_a_prior_information_notice_used_as_a_call_for_competition_is_a_call_for_tenders() -> None:
    item = parse_edited(
        "prior_information_parts.xml",
        (">4</cbc:SubTypeCode>", ">10</cbc:SubTypeCode>"),
        ('listName="planning">pin-only', 'listName="competition">pin-cfc-standard'),
    )
    assert item.kind == "contract_notice"


@pytest.mark.parametrize(
    ("edits", "kind"),
    [
        # no subtype: the notice type decides
        ([('<cbc:SubTypeCode listName="notice-subtype">29</cbc:SubTypeCode>', "")], "award"),
        # neither subtype nor a known notice type: the form type decides
        (
            [
                ('<cbc:SubTypeCode listName="notice-subtype">29</cbc:SubTypeCode>', ""),
                ('listName="result">can-standard', 'listName="result">something-new'),
            ],
            "award",
        ),
        # nothing but the root element
        (
            [
                ('<cbc:SubTypeCode listName="notice-subtype">29</cbc:SubTypeCode>', ""),
                ('<cbc:NoticeTypeCode listName="result">can-standard</cbc:NoticeTypeCode>', ""),
            ],
            "award",
        ),
    ],
    ids=["notice type", "form type", "root element"],
)
def test_without_a_subtype_the_kind_comes_from_notice_type_then_form_type_then_root(
    edits: list[tuple[str, str]], kind: str
) -> None:
    item = parse_edited("award_framework_with_consortium_and_unawarded_lot.xml", *edits)
    assert item.subtype is None
    assert item.kind == kind


def test_the_root_element_alone_makes_a_contract_notice_a_call_for_tenders() -> None:
    item = parse_edited(
        "joint_restricted_notice_two_buyers.xml",
        ("<cbc:SubTypeCode>16</cbc:SubTypeCode>", ""),
        ('<cbc:NoticeTypeCode listName="competition">cn-standard</cbc:NoticeTypeCode>', ""),
    )
    assert item.kind == "contract_notice"


def test_hilmas_national_extension_alone_marks_a_notice_national() -> None:
    item = parse_edited(
        "national_contract_notice_E3_forssa.xml",
        (">E3</cbc:SubTypeCode>", ">16</cbc:SubTypeCode>"),
        ("<cbc:RegulatoryDomain>other<", "<cbc:RegulatoryDomain>32014L0024<"),
    )
    assert item.national is True
    eu_applicable = parse_edited(
        "national_contract_notice_E3_forssa.xml",
        (">E3</cbc:SubTypeCode>", ">16</cbc:SubTypeCode>"),
        ("<cbc:RegulatoryDomain>other<", "<cbc:RegulatoryDomain>32014L0024<"),
        ("IsEUApplicableConstraintIndicator>false<", "IsEUApplicableConstraintIndicator>true<"),
    )
    assert eu_applicable.national is False


# --- who -------------------------------------------------------------------------------------------------------------


def test_the_esender_is_never_a_buyer() -> None:
    for name in ("national_contract_notice_E3_forssa.xml", "joint_restricted_notice_two_buyers.xml"):
        names = [buyer.name for buyer in parse_eforms(fixture(name)).buyers]
        assert "Hansel Oy (Hilma)" not in names


def test_a_buyer_is_named_in_finnish_first_whatever_order_the_notice_uses() -> None:
    buyer = parse_eforms(fixture("joint_restricted_notice_two_buyers.xml")).buyers[0]
    assert buyer.name == "Hämeenlinnan kaupunki"
    assert buyer.names == {"sv": "Tavastehus stad", "fi": "Hämeenlinnan kaupunki", "en": "City of Hämeenlinna"}


def test_a_consortium_gives_one_award_per_member_with_the_tenders_value() -> None:
    item = parse_eforms(fixture("award_framework_with_consortium_and_unawarded_lot.xml"))
    consortium = [award for award in item.awards if award.value == Decimal("350000.50")]
    assert [award.winner.name for award in consortium if award.winner] == ["Tammelan Maansiirto Oy", "Svensk Väg AB"]
    assert {award.winner.size for award in consortium if award.winner} == {"micro", "medium"}
    assert len(item.winners) == 3


def test_a_lot_without_a_winner_gives_an_award_without_winner_and_its_result() -> None:
    item = parse_eforms(fixture("award_framework_with_consortium_and_unawarded_lot.xml"))
    unawarded = [award for award in item.awards if award.lot_id == "LOT-0002"]
    assert len(unawarded) == 1
    assert unawarded[0].winner is None
    assert unawarded[0].result == "clos-nw"


def test_a_winner_reference_to_an_unknown_organisation_leaves_the_lot_without_winner() -> None:
    text = fixture("award_framework_with_consortium_and_unawarded_lot.xml").decode("utf-8")
    text, edited = re.subn(r"(<efac:Tenderer>\s*<cbc:ID[^>]*>)ORG-", r"\1UNKNOWN-", text)
    assert edited == 3
    item = parse_eforms(text.encode("utf-8"))
    lot_awards = [award for award in item.awards if award.lot_id == "LOT-0001"]
    assert [(award.winner, award.result) for award in lot_awards] == [(None, "selec-w")]


# --- when ------------------------------------------------------------------------------------------------------------


def test_a_deadline_date_without_a_time_lasts_until_the_end_of_that_day() -> None:
    item = parse_eforms(fixture("prefixed_root_sdk16_corr.xml"))
    assert item.deadline == datetime(2023, 9, 15, 23, 59, 59, tzinfo=timezone(timedelta(hours=3)))


def test_a_deadline_without_any_offset_is_read_in_finnish_time() -> None:
    item = parse_edited(
        "national_contract_notice_E3_forssa.xml",
        ("<cbc:EndDate>2026-03-16+02:00</cbc:EndDate>", "<cbc:EndDate>2026-03-16</cbc:EndDate>"),
        (
            "<cbc:EndTime>12:00:00+02:00</cbc:EndTime>\n      </cac:TenderSubmission",
            "<cbc:EndTime>12:00:00</cbc:EndTime>\n      </cac:TenderSubmission",
        ),
    )
    assert item.deadline == datetime(2026, 3, 16, 12, 0, tzinfo=HELSINKI)
    assert item.deadline is not None and item.deadline.utcoffset() == timedelta(hours=2)


def test_the_times_offset_wins_over_the_dates() -> None:
    item = parse_edited(
        "cancellation.xml", ("<cbc:EndTime>12:00:00+02:00</cbc:EndTime>", "<cbc:EndTime>10:00:00Z</cbc:EndTime>")
    )
    assert item.deadline == at("2026-02-27T12:00:00+02:00")


def test_only_participation_deadlines_make_the_earliest_one_the_deadline() -> None:
    item = parse_eforms(fixture("joint_restricted_notice_two_buyers.xml"))
    assert [lot.deadline for lot in item.lots] == [at("2026-04-01T12:00:00+03:00"), at("2026-03-30T15:00:00+03:00")]
    assert item.deadline == at("2026-03-30T15:00:00+03:00")


def test_published_at_falls_back_on_the_dispatch_date_and_time() -> None:
    item = parse_eforms(fixture("cancellation.xml"))
    assert item.published_at == at("2026-02-20T10:05:26+02:00")


# --- money -----------------------------------------------------------------------------------------------------------


def test_lot_values_in_different_currencies_are_not_added_up() -> None:
    item = parse_edited("prior_information_parts.xml", ('currencyID="EUR">1500000<', 'currencyID="SEK">1500000<'))
    assert (item.estimated_value, item.currency) == (None, None)
    assert [lot.currency for lot in item.lots] == ["EUR", "SEK", "EUR"]


def test_lot_values_are_not_added_up_when_a_lot_has_none() -> None:
    item = parse_edited(
        "prior_information_parts.xml",
        ('<cbc:EstimatedOverallContractAmount currencyID="EUR">1500000</cbc:EstimatedOverallContractAmount>', ""),
    )
    assert item.estimated_value is None


# --- tolerance -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        ('currencyID="EUR">480000<', 'currencyID="EUR">n/a<'),
        ('currencyID="EUR">480000<', 'currencyID="EUR">1E+9999999<'),
        ('currencyID="EUR">480000<', 'currencyID="EUR">NaN<'),
        ('currencyID="EUR">480000<', 'currencyID="EUR">٤٨٠٠٠٠<'),
    ],
    ids=["words", "exponent", "NaN", "arabic digits"],
)
def test_an_unreadable_amount_becomes_none_instead_of_failing(edit: tuple[str, str]) -> None:
    item = parse_edited("national_contract_notice_E3_forssa.xml", edit)
    assert item.lots[0].estimated_value is None
    assert item.estimated_value is None
    assert item.title == "Forssan katuvalaistuksen LED-saneeraus 2026"


@pytest.mark.parametrize(
    "end_date", ["2026-02-30+02:00", "2026-13-01", "16.3.2026", "2026-03-16+25:00", "99999-03-16", "٢٠٢٦-03-16"]
)
def test_an_unreadable_date_becomes_none_instead_of_failing(end_date: str) -> None:
    item = parse_edited(
        "national_contract_notice_E3_forssa.xml",
        ("<cbc:EndDate>2026-03-16+02:00</cbc:EndDate>", f"<cbc:EndDate>{end_date}</cbc:EndDate>"),
    )
    assert item.deadline is None


def test_an_unreadable_tender_count_becomes_none() -> None:
    item = parse_edited(
        "award_framework_with_consortium_and_unawarded_lot.xml",
        (
            "<efbc:StatisticsNumeric>5</efbc:StatisticsNumeric>",
            "<efbc:StatisticsNumeric>viisi</efbc:StatisticsNumeric>",
        ),
    )
    assert {award.tenders_received for award in item.awards if award.lot_id == "LOT-0001"} == {None}


def test_a_text_without_language_takes_the_notice_language() -> None:
    item = parse_edited("prefixed_root_sdk16_corr.xml", ('listName="language">FIN<', 'listName="language">SWE<'))
    assert item.titles == {"sv": "Lopen koulukeskuksen ruokapalvelut"}


def test_comments_inside_a_text_do_not_cut_it() -> None:
    item = parse_edited(
        "cancellation.xml",
        (
            ">Riihimäen kotihoidon ateriapalvelut</cbc:Name>\n    <cbc:Desc",
            ">Riihimäen <!-- x -->kotihoidon ateriapalvelut</cbc:Name>\n    <cbc:Desc",
        ),
    )
    assert item.title == "Riihimäen kotihoidon ateriapalvelut"


# --- identity and payload --------------------------------------------------------------------------------------------


def test_a_publication_number_without_its_scheme_name_still_makes_a_ted_notice() -> None:
    item = parse_edited(
        "correction_moves_deadline.xml",
        ('<efbc:NoticePublicationID schemeName="ojs-notice-id">', "<efbc:NoticePublicationID>"),
    )
    assert (item.source, item.source_id, item.publication_number) == ("ted", "61234-2026", "61234-2026")


def test_the_caller_can_name_the_source_and_its_id() -> None:
    item = parse_eforms(fixture("correction_moves_deadline.xml"), source="hilma", source_id="EF-61234")
    assert (item.source, item.source_id) == ("hilma", "EF-61234")
    assert item.url == "https://ted.europa.eu/fi/notice/-/detail/61234-2026"


def test_the_raw_payload_is_kept_for_reparsing() -> None:
    data = fixture("cancellation.xml")
    item = parse_eforms(data)
    assert item.payloads == {"eforms": data}
    assert parse_eforms(item.payloads["eforms"]).content_hash() == item.content_hash()


def test_the_parsed_content_is_plain_json() -> None:
    item = parse_eforms(fixture("award_framework_with_consortium_and_unawarded_lot.xml"))
    content = item.content()
    assert json.loads(json.dumps(content)) == content
    assert type(item.title) is str
    assert type(item.buyers[0].name) is str


def test_a_notice_without_any_identifier_cannot_be_stored_unless_the_caller_names_it() -> None:
    data = fixture("cancellation.xml").replace(
        b'<cbc:ID schemeName="notice-id">e0f1a2b3-c4d5-4e6f-9a0b-1c2d3e4f5a6b</cbc:ID>', b""
    )
    with pytest.raises(PayloadError, match="notice id"):
        parse_eforms(data)
    assert parse_eforms(data, source="hilma", source_id="EF-1").notice_id is None


# --- what is not a notice --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"<ContractNotice", b"\xff\xfe\x00<", b'<?xml version="1.0" encoding="nope"?><a/>', b"<a>&x;</a>"]
)
def test_broken_xml_raises_payload_error_saying_so(data: bytes) -> None:
    with pytest.raises(PayloadError, match=r"^not well-formed XML: "):
        parse_eforms(data)


@pytest.mark.parametrize(
    ("data", "root"),
    [
        (b"<html><body>Palvelu ei ole saatavilla</body></html>", "html"),
        (b'<ContractNotice xmlns="urn:example:other"/>', "{urn:example:other}ContractNotice"),
        (
            b'<BusinessRegistrationInformationNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
            b'BusinessRegistrationInformationNotice-2"/>',
            "{urn:oasis:names:specification:ubl:schema:xsd:BusinessRegistrationInformationNotice-2}"
            "BusinessRegistrationInformationNotice",
        ),
    ],
)
def test_a_document_with_another_root_is_not_a_notice(data: bytes, root: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_eforms(data)
    assert str(raised.value) == f"not an eForms notice: root element {root}"


def laughs(levels: int) -> bytes:
    """A notice whose id is an entity that doubles tenfold per level ("billion laughs")."""
    entities = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, levels + 1))
    return (
        f'<!DOCTYPE ContractNotice [<!ENTITY l0 "ha">{entities}]>'
        '<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        f"<cbc:ID>&l{levels};</cbc:ID></ContractNotice>"
    ).encode()


def test_entity_expansion_is_refused_before_it_can_grow() -> None:
    # small enough for libxml2's own amplification limit: our DOCTYPE rule stops it
    with pytest.raises(PayloadError, match="DOCTYPE"):
        parse_eforms(laughs(3))
    # large: libxml2 already refuses while parsing, which is a PayloadError too
    with pytest.raises(PayloadError):
        parse_eforms(laughs(9))


def test_external_entities_are_never_read() -> None:
    data = (
        b'<!DOCTYPE ContractNotice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b'<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2">&secret;'
        b"</ContractNotice>"
    )
    with pytest.raises(PayloadError):
        parse_eforms(data)


def test_text_instead_of_bytes_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="expected bytes"):
        parse_eforms(fixture("cancellation.xml").decode("utf-8"))  # type: ignore[arg-type]


# --- normalisers -----------------------------------------------------------------------------------------------------


def test_all_24_eu_languages_map_to_distinct_two_letter_codes() -> None:
    official = "BUL CES DAN DEU ELL ENG EST FIN FRA GLE HRV HUN ITA LAV LIT MLT NLD POL POR RON SLK SLV SPA SWE"
    codes = [language_code(code) for code in official.split()]
    assert len(set(codes)) == 24
    assert all(code is not None and len(code) == 2 for code in codes)
    assert set(EU_LANGUAGES.values()) == set(codes)


@pytest.mark.parametrize(
    ("given", "expected"), [("FIN", "fi"), ("swe", "sv"), ("GER", "de"), ("NOR", "nor"), ("", None), (None, None)]
)
def test_language_codes_become_two_letter_codes(given: str | None, expected: str | None) -> None:
    assert language_code(given) == expected


@pytest.mark.parametrize(
    ("given", "country", "expected"),
    [
        ("FI19921555", "FIN", "1992155-5"),
        ("1992155-5", "FIN", "1992155-5"),
        ("19921555", None, "1992155-5"),
        ("fi 1992155-5", "FIN", "1992155-5"),
        ("19921555", "SWE", "19921555"),  # another country's number stays as given
        ("19921556", "FIN", "19921556"),  # wrong check digit: not a Y-tunnus
        ("NIP: 6790085613", "POL", "NIP: 6790085613"),
        ("١٩٩٢١٥٥٥", "FIN", "١٩٩٢١٥٥٥"),  # digits of another script are not a Y-tunnus
        ("  ", "FIN", None),
    ],
)
def test_business_ids_take_the_finnish_form_only_when_finnish(given: str, country: str | None, expected: str) -> None:
    assert normalise_business_id(given, country) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("00525037-2024", "525037-2024"),
        ("525037-2024", "525037-2024"),
        ("00783c31-8e58-4833-9ca7-0a8135f046e8-01", "00783c31-8e58-4833-9ca7-0a8135f046e8-01"),
        (None, None),
    ],
)
def test_publication_numbers_lose_their_padding(given: str | None, expected: str | None) -> None:
    assert normalise_publication_number(given) == expected


def test_a_lots_planned_period_gives_its_contract_start_and_end_as_dates() -> None:
    item = parse_eforms(fixture("national_contract_notice_E3_forssa.xml"))
    dated = [lot for lot in item.lots if lot.contract_end]
    assert dated and (dated[0].contract_start, dated[0].contract_end) == ("2026-05-04", "2026-10-30")
    assert dated[0].duration is None  # the notice gives dates, not a duration


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ('<cbc:DurationMeasure unitCode="MONTH">24</cbc:DurationMeasure>', "P24M"),
        ('<cbc:DurationMeasure unitCode="YEAR">4</cbc:DurationMeasure>', "P4Y"),
        ('<cbc:DurationMeasure unitCode="DAY">90</cbc:DurationMeasure>', "P90D"),
        ('<cbc:DurationMeasure unitCode="MONTH">0</cbc:DurationMeasure>', None),
        ('<cbc:DurationMeasure unitCode="MONTH">1.5</cbc:DurationMeasure>', None),
        ('<cbc:DurationMeasure unitCode="FORTNIGHT">3</cbc:DurationMeasure>', None),
    ],
)
def test_a_lots_duration_is_an_iso_duration_or_nothing(measure: str, expected: str | None) -> None:
    edited = parse_edited(
        "national_contract_notice_E3_forssa.xml",
        ("<cbc:StartDate>2026-05-04+03:00</cbc:StartDate>", measure),
        ("<cbc:EndDate>2026-10-30+02:00</cbc:EndDate>", ""),
    )
    assert [lot.duration for lot in edited.lots if lot.duration] == ([expected] if expected else [])


def test_a_prior_information_notice_says_when_the_call_will_come() -> None:
    item = parse_edited(
        "prior_information_parts.xml",
        (
            "<cbc:IssueDate>2026-01-15Z</cbc:IssueDate>",
            "<cbc:IssueDate>2026-01-15Z</cbc:IssueDate><cbc:PlannedDate>2026-04-01+03:00</cbc:PlannedDate>",
        ),
    )
    assert item.planned_date == "2026-04-01"
    assert parse_eforms(fixture("prior_information_parts.xml")).planned_date is None
