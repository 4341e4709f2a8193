"""Conformance: the parser over every eForms notice in the shared reference material.

The reference folder (``../shared/reference`` next to the repository) holds the
eForms SDK's examples, real TED-published notices from SDK 1.3 to 1.13 and HILMA's
national examples. Each file must parse, and what the parser reads must agree with
what plain XPath in this module reads from the same file, written independently of
the parser so that a shared mistake is unlikely. A table of spot checks adds facts
established by hand in ``reference/eforms/FORMATS.md``. HILMA read-API envelopes
(JSON with the notice as base64 in ``eForm``) are decoded and checked the same way.

Without the reference folder (a clone without ``shared/``) the module is skipped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree

from crawler.eforms import parse_eforms
from crawler.items import NoticeItem, clean_text

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
if not (REFERENCE / "eforms").is_dir():
    pytest.skip(f"no reference material at {REFERENCE}", allow_module_level=True)

XML_FILES = sorted((REFERENCE / "eforms").rglob("*.xml")) + sorted((REFERENCE / "hilma" / "examples").rglob("*.xml"))


def hilma_envelopes() -> Iterator[tuple[str, bytes]]:
    """(label, decoded XML) for every HILMA read-API envelope ``{"eForm": base64, …}`` in the examples."""
    for path in sorted((REFERENCE / "hilma" / "examples").rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        envelopes = document if isinstance(document, list) else [document]
        for index, envelope in enumerate(envelopes):
            if isinstance(envelope, dict) and isinstance(envelope.get("eForm"), str):
                try:
                    yield f"{path.name}[{index}]", base64.b64decode(envelope["eForm"], validate=True)
                except binascii.Error:
                    continue


ENVELOPES = dict(hilma_envelopes())

# --- the independent reading ------------------------------------------------------------------------------------------

X = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
}
LOTS = "/*/cac:ProcurementProjectLot[cbc:ID/@schemeName='Lot' or cbc:ID/@schemeName='Part']"


def strings(root: etree._Element, path: str) -> list[str]:
    """Non-empty stripped text of the matched elements (or attribute values)."""
    found = []
    for value in root.xpath(path, namespaces=X):
        text = value.xpath("string()") if isinstance(value, etree._Element) else str(value)
        if text.strip():
            found.append(text.strip())
    return found


def first(root: etree._Element, path: str) -> str | None:
    found = strings(root, path)
    return found[0] if found else None


def texts_by_language(root: etree._Element, path: str) -> list[str]:
    """The first text per ``languageID``, as the item's dicts keep them."""
    chosen: dict[str | None, str] = {}
    for node in root.xpath(path, namespaces=X):
        text = node.xpath("string()").strip()
        if text:
            chosen.setdefault(node.get("languageID"), text)
    return sorted(chosen.values())


def independent_reading(data: bytes) -> dict[str, Any]:
    """What the file says, read with plain XPath."""
    root = etree.fromstring(data)
    reading: dict[str, Any] = {
        "notice_id": first(root, "/*/cbc:ID[@schemeName='notice-id']"),
        "notice_version": first(root, "/*/cbc:VersionID"),
        "subtype": first(root, "//efac:NoticeSubType/cbc:SubTypeCode"),
        "cpv_main": first(root, "/*/cac:ProcurementProject/cac:MainCommodityClassification/cbc:ItemClassificationCode"),
        "lot_ids": strings(root, f"{LOTS}/cbc:ID"),
        "lot_cpvs": [
            first(lot, "cac:ProcurementProject/cac:MainCommodityClassification/cbc:ItemClassificationCode")
            for lot in root.xpath(LOTS, namespaces=X)
        ],
    }
    titles = texts_by_language(root, "/*/cac:ProcurementProject/cbc:Name") or texts_by_language(
        root, f"({LOTS})[1]/cac:ProcurementProject/cbc:Name"
    )
    reading["title_texts"] = titles

    publication = first(root, "//efac:Publication/efbc:NoticePublicationID[@schemeName='ojs-notice-id']")
    if publication:
        number, year = publication.split("-")
        reading["publication_number"] = f"{int(number)}-{year}"
    else:
        reading["publication_number"] = None

    buyer_names = []
    for party in root.xpath("/*/cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID", namespaces=X):
        organisation = party.xpath("string()").strip()
        company = f"//efac:Organization/efac:Company[cac:PartyIdentification/cbc:ID='{organisation}']"
        names = strings(root, f"{company}/cac:PartyName/cbc:Name")
        buyer_names.append(set(names))
    reading["buyer_names"] = buyer_names

    deadlines = []
    complete = True
    for period in root.xpath(f"{LOTS}/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod", namespaces=X):
        end_date, end_time = first(period, "cbc:EndDate"), first(period, "cbc:EndTime")
        if end_date and end_time:
            deadlines.append(datetime.fromisoformat(f"{end_date[:10]}T{end_time}"))
        else:
            complete = False
    reading["deadline"] = min(deadlines) if deadlines and complete else "not checked"
    return reading


def comparisons(item: NoticeItem, reading: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, parsed, read with XPath) for every field the file states."""
    pairs: list[tuple[str, Any, Any]] = [
        ("notice id", item.notice_id, reading["notice_id"]),
        ("notice version", item.notice_version, reading["notice_version"]),
        ("subtype", item.subtype, reading["subtype"]),
        ("main CPV", item.cpv_main, reading["cpv_main"]),
        ("lot ids", [lot.id for lot in item.lots], reading["lot_ids"]),
        ("lot CPVs", [lot.cpv_main for lot in item.lots], reading["lot_cpvs"]),
        # the mappers drop control characters from every text (crawler.items.clean_text): one reference
        # file's title has a stray C1 character (U+008D) after its dash
        ("titles", sorted(item.titles.values()), [clean_text(text) for text in reading["title_texts"]]),
        ("publication number", item.publication_number, reading["publication_number"]),
        ("buyer count", len(item.buyers), len(reading["buyer_names"])),
    ]
    for index, (buyer, names) in enumerate(zip(item.buyers, reading["buyer_names"], strict=False)):
        pairs.append((f"buyer {index} name", buyer.name in {clean_text(name) for name in names}, True))
    if reading["deadline"] != "not checked":
        pairs.append(("deadline", item.deadline, reading["deadline"]))
    return pairs


def disagreements(item: NoticeItem, data: bytes) -> list[str]:
    return [
        f"{field}: parser {parsed!r} != XPath {expected!r}"
        for field, parsed, expected in comparisons(item, independent_reading(data))
        if parsed != expected
    ]


# --- spot checks from FORMATS.md -------------------------------------------------------------------------------------


def facts(item: NoticeItem) -> dict[str, Callable[[], Any]]:
    return {
        "kind": lambda: item.kind,
        "source": lambda: (item.source, item.source_id),
        "url": lambda: item.url,
        "national": lambda: item.national,
        "notice_type": lambda: (item.notice_type, item.form_type),
        "lot_count": lambda: len(item.lots),
        "lot_prefixes": lambda: {lot.id[:4] for lot in item.lots},
        "procedure_id": lambda: item.procedure_id,
        "buyers": lambda: [buyer.name for buyer in item.buyers],
        "buyer_nuts": lambda: [buyer.nuts for buyer in item.buyers],
        "winner_ids": lambda: {winner.business_id for winner in item.winners},
        "awards": lambda: [(a.lot_id, a.result, a.winner.name if a.winner else None) for a in item.awards],
        "tenders_received": lambda: [award.tenders_received for award in item.awards],
        "awarded": lambda: (item.awarded_value, item.awarded_currency),
        "estimated": lambda: (item.estimated_value, item.currency),
        "deadline": lambda: item.deadline,
        "documents_host": lambda: urlsplit(item.documents_url or "").hostname,
        "place_nuts": lambda: [place.nuts for place in item.places],
        "changed_notice": lambda: item.changed_notice,
        "previous_notices": lambda: item.previous_notices,
        "published_at": lambda: item.published_at,
        "title_languages": lambda: sorted(item.titles),
        "title_language_count": lambda: len(item.titles),
    }


CANCELLED_MINIMAL = {"kind": "cancellation", "changed_notice": "f42be27e-09cf-4f0e-a745-63ec689631e6-01"}
HILMA_E3 = {
    "kind": "contract_notice",
    "national": True,
    "buyers": ["Hansel Oy"],
    "deadline": datetime.fromisoformat("2025-04-18T12:00:00+03:00"),
}
SPOT_CHECKS: dict[str, dict[str, Any]] = {
    "2024-OJS170-00525037.xml": {
        "kind": "award",
        "source": ("ted", "525037-2024"),
        "url": "https://ted.europa.eu/fi/notice/-/detail/525037-2024",
        "lot_count": 12,
        "buyers": ["Kristinestad Stad/Kristiinankaupungin kaupunki"],
        "winner_ids": {"1992155-5", "2626335-1", "2450271-8"},
        "awarded": (Decimal("2100000"), "EUR"),
        "title_languages": ["fi", "sv"],
        "previous_notices": ["00783c31-8e58-4833-9ca7-0a8135f046e8-01"],
        "published_at": datetime.fromisoformat("2024-09-02T00:00:00+02:00"),
    },
    "583624-2023.xml": {
        "kind": "contract_notice",
        "lot_count": 4,
        "buyers": ["Helsingin kaupungin sosiaali-, terveys- ja pelastustoimiala"],
        "deadline": datetime.fromisoformat("2023-10-19T12:00:00+03:00"),
        "documents_host": "tarjouspalvelu.fi",
        "place_nuts": [],
    },
    "536143-2023.xml": {"kind": "contract_notice", "buyer_nuts": ["FI1C3"], "lot_count": 1},
    "544961-2023.xml": {"estimated": (Decimal("90000"), "EUR"), "place_nuts": ["FI1D2"]},
    "660556-2023.xml": {"buyers": ["Väylävirasto", "Sastamalan kaupunki"]},
    "740039-2023.xml": {"kind": "correction", "changed_notice": "711911-2023"},
    "775348-2023.xml": {
        "kind": "correction",
        "notice_type": ("corr", "change"),
        "changed_notice": "422781-2023",
        "source": ("ted", "775348-2023"),
    },
    "2024-OJS028-00082127.xml": {"kind": "contract_notice", "lot_count": 1, "lot_prefixes": {"LOT-"}},
    "2023-OJS165-00522031.xml": {"title_language_count": 24, "awarded": (Decimal("660000"), "EUR")},
    "change-cn_24_void.xml": CANCELLED_MINIMAL,
    "OP-TED-eForms-SDK-1.13.2__examples__change-cn_24_void.xml": CANCELLED_MINIMAL,
    "change-cn_24_open_dates.xml": {
        "kind": "correction",
        "changed_notice": "c4c415ee-ac08-4465-8fa6-57568cf69462-01",
    },
    "pin-only_24_lots.xml": {
        "kind": "prior_information",
        "lot_count": 10,
        "lot_prefixes": {"PAR-"},
        "procedure_id": None,
        "deadline": None,
    },
    "pin-buyer_24_published.xml": {"kind": "prior_information", "source": ("ted", "12345678-2025")},
    "cn_24_maximal_100_lots.xml": {"kind": "contract_notice", "lot_count": 100},
    "cn_24_multilingual.xml": {"title_language_count": 24},
    "can-modif_24_value.xml": {"kind": "award", "changed_notice": "342558-2018"},
    "can_24_maximal.xml": {
        "awards": [
            ("LOT-0001", "selec-w", "Gyro Soft SA"),
            ("LOT-0001", "selec-w", "The best App Ltd."),
            ("LOT-0001", "selec-w", "Competitor"),
            ("LOT-0002", "clos-nw", None),
        ],
    },
    "E1_minimum.xml": {"kind": "prior_information", "national": True, "notice_type": ("pmc", "consultation")},
    "E3_minimum.xml": HILMA_E3,
    "Hankintailmoitukset-hilma-sdk__examples__E3_minimum.xml": HILMA_E3,
    "E4_minimum.xml": {"kind": "award", "national": True, "winner_ids": {"5717358-6"}, "tenders_received": [3]},
}


# --- the tests -------------------------------------------------------------------------------------------------------


def label(path: Path) -> str:
    return str(path.relative_to(REFERENCE))


def test_the_reference_has_the_notices_this_suite_expects() -> None:
    names = {path.name for path in XML_FILES}
    assert len(XML_FILES) >= 50
    assert set(SPOT_CHECKS) <= names
    assert ENVELOPES, "no HILMA envelope with an eForm found"


@pytest.mark.parametrize("path", XML_FILES, ids=label)
def test_every_reference_notice_parses_and_agrees_with_plain_xpath(path: Path) -> None:
    data = path.read_bytes()
    item = parse_eforms(data)
    assert disagreements(item, data) == []
    assert item.source_id
    assert item.payloads == {"eforms": data}


@pytest.mark.parametrize("name", sorted(ENVELOPES), ids=str)
def test_every_hilma_envelope_decodes_to_a_notice_that_agrees_with_plain_xpath(name: str) -> None:
    data = ENVELOPES[name]
    item = parse_eforms(data, source="hilma", source_id=name)
    assert disagreements(item, data) == []
    assert (item.source, item.source_id) == ("hilma", name)


@pytest.mark.parametrize(
    ("path", "name"),
    [(path, path.name) for path in XML_FILES if path.name in SPOT_CHECKS],
    ids=lambda value: label(value) if isinstance(value, Path) else "",
)
def test_spot_checks_from_the_format_notes_hold(path: Path, name: str) -> None:
    expected = SPOT_CHECKS[name]
    known = facts(parse_eforms(path.read_bytes()))
    assert {fact: known[fact]() for fact in expected} == expected
