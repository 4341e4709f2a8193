"""Conformance: the JSON mappers over every HILMA and TED JSON file in the shared reference material.

Notice payloads (HILMA search responses and index documents, HILMA read-API
envelopes, TED search responses) must map, and what the mappers read must agree
with the raw JSON read here directly. Every other JSON file there (index
definitions, error bodies, write drafts, the legacy read API's notice model,
configuration) must be refused by name: ``import`` says it is not a notice payload,
and nothing crashes. Skipped without the reference folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config.errors import PayloadError
from crawler.codes import normalise_business_id, parse_timestamp
from crawler.payloads import read_payload

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
if not (REFERENCE / "hilma").is_dir():
    pytest.skip(f"no reference material at {REFERENCE}", allow_module_level=True)

JSON_FILES = sorted((REFERENCE / "hilma" / "examples").glob("*.json")) + sorted((REFERENCE / "ted").glob("*.json"))


def raw(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def index_documents(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        return data["value"]
    if isinstance(data, dict) and str(data.get("id", "")).startswith(("EF-", "OLD-", "PLAN-")):
        return [data]
    return []


def envelopes(data: Any) -> list[dict[str, Any]]:
    candidates = data if isinstance(data, list) else [data]
    return [e for e in candidates if isinstance(e, dict) and isinstance(e.get("eForm"), str)]


def ted_notices(data: Any) -> list[dict[str, Any]]:
    return data["notices"] if isinstance(data, dict) and isinstance(data.get("notices"), list) else []


def is_notice_payload(data: Any) -> bool:
    return bool(index_documents(data) or envelopes(data) or ted_notices(data))


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda path: path.name[:80])
def test_every_reference_json_file_maps_or_is_refused_by_name(path: Path) -> None:
    data = raw(path)
    if not is_notice_payload(data):
        with pytest.raises(PayloadError, match="ei hankintailmoituksia"):
            list(read_payload(path.read_bytes(), name=path.name))
        return
    items = list(read_payload(path.read_bytes(), name=path.name))
    documents, wrapped, notices = index_documents(data), envelopes(data), ted_notices(data)
    assert len(items) == len(documents) + len(wrapped) + len(notices)
    for document, item in zip(documents, items, strict=False):
        check_index_document(document, item)
    for envelope, item in zip(wrapped, items, strict=False):
        assert (item.source, item.source_id) == ("hilma", f"EF-{envelope['id']}")
        assert item.notice_id and item.payloads["eforms"].lstrip().startswith(b"<")
        assert item.url == (
            f"https://www.hankintailmoitukset.fi/fi/public/procedure/{envelope['procedureId']}/enotice/{envelope['id']}/"
        )
    for notice, item in zip(notices, items, strict=False):
        check_ted_notice(notice, item)


def check_index_document(document: dict[str, Any], item: Any) -> None:
    assert (item.source, item.source_id) == ("hilma", document["id"])
    assert item.title == (document["titleFi"] or document["titleSv"] or document["titleEn"] or None)
    assert item.cpv == list(dict.fromkeys(document["cpvCodes"].split())) + [
        code
        for lot in document["lots"]
        for code in dict.fromkeys(lot["cpvCodes"].split())
        if code not in document["cpvCodes"].split()
    ]
    assert [place.nuts for place in item.places] == document["nutsCodes"].split()
    assert item.published_at == parse_timestamp(document["datePublished"])
    assert item.deadline == parse_timestamp(document["deadline"])
    assert item.notice_id == document["eFormsId"] and item.full_notice_id == document["fullEFormsId"]
    assert item.buyer.name == document["organisationNameFi"]
    assert item.buyer.business_id == normalise_business_id(document["organisationNationalRegistrationNumber"])
    assert [lot.id for lot in item.lots] == [lot["id"] for lot in document["lots"]]
    winners = [w.split(" (")[0] for w in document["winnerOrganisations"].split("//") if w]
    assert [winner.name for winner in item.winners] == winners
    if document["isCorrigendum"]:
        assert item.kind in ("correction", "cancellation")
    elif document["mainType"] == "ContractAwardNotices":
        assert item.kind == "award"
    elif document["mainType"] == "ContractNotices":
        assert item.kind == "contract_notice"


def check_ted_notice(notice: dict[str, Any], item: Any) -> None:
    assert item.source == "ted" and item.source_id == notice["publication-number"].lstrip("0")
    assert item.notice_id == notice.get("notice-identifier")
    assert item.cpv == list(dict.fromkeys(notice.get("classification-cpv", [])))
    title = notice["notice-title"].get("fin") or next(iter(notice["notice-title"].values()))
    assert title.endswith(item.title) and " – " not in item.title
    assert item.buyer.name == notice["buyer-name"]["fin"][0]
    nuts = [code for code in dict.fromkeys(notice.get("place-of-performance", [])) if not code.isalpha()]
    assert [place.nuts for place in item.places if place.nuts] == nuts
    if notice.get("deadline-receipt-tender-date-lot"):
        assert item.deadline.date().isoformat() == min(notice["deadline-receipt-tender-date-lot"])[:10]


def test_the_reference_holds_each_kind_of_notice_payload() -> None:
    kinds = {path.name: raw(path) for path in JSON_FILES}
    assert sum(len(index_documents(d)) for d in kinds.values()) >= 4
    assert sum(len(envelopes(d)) for d in kinds.values()) >= 2
    assert sum(len(ted_notices(d)) for d in kinds.values()) >= 3
