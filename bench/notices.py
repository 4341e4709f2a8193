"""Realistic notices in bulk for the ingest benchmarks: the project's sample, copied round after round with fresh ids.

The templates are the sample's 54 notices (``crawler/standins/sample``): Häme and
other buyers, plans, prior information, calls for tenders with lots, corrections, a
cancellation and awards, in Finnish and Swedish. Each round copies every notice
with new identities (eForms UUIDs, HILMA ids, TED publication numbers), keeping the
links between the notices of one procurement (the correction names the notice it
changes, HILMA lists the previous notices), so the store links, merges and records
changes as it does in a real crawl.

Both formats are produced: in even rounds HILMA publishes its notices (index
document plus eForms XML, base64 in HILMA's JSON envelope) and TED the TED-only
ones; in odd rounds the EU procedures come from TED alone (search-API JSON plus
eForms XML). That makes about a quarter of the notices TED's.

:func:`payloads` is a generator: a round is rendered when it is asked for, so a
100,000-notice run never holds more than one round of payloads.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem, combine
from crawler.standins import build_eforms_xml, hilma_index_document, load_sample, ted_notice
from crawler.standins.sample import SampleData
from crawler.standins.specs import HilmaRecord, NoticeSpec, PreviousNotice
from crawler.ted_json import map_search_notice

_NAMESPACE = uuid.UUID("5b0f3f4e-2c55-4f55-9a8f-6d7e9c1b0a11")
#: The TED stand-in's address in the links of a search document (never requested here).
_TED_BASE = "http://127.0.0.1:9/ted"


@dataclass(frozen=True)
class Payload:
    """One notice as a spider receives it: the listing (JSON bytes) and its eForms document."""

    source: Literal["hilma", "ted"]
    listing: bytes  # a HILMA index document or a TED search-API notice, as JSON
    document: bytes | None  # HILMA: the envelope's base64 eForms; TED: the XML; None for HILMA plans


def payloads(count: int, sample: SampleData | None = None) -> Iterator[Payload]:
    """``count`` distinct notices, rendered a round at a time."""
    sample = sample or load_sample()
    eu_procedures = {spec.procedure_id for spec in sample.specs if spec.ted_publication is not None}
    made = 0
    round_number = 0
    while made < count:
        for payload in _round(sample, round_number, eu_procedures):
            yield payload
            made += 1
            if made == count:
                return
        round_number += 1


def parse(payload: Payload) -> NoticeItem:
    """A payload as the spiders turn it into an item: the listing mapped, its eForms parsed, the two joined."""
    if payload.source == "hilma":
        item = map_index_document(json.loads(payload.listing))
        if payload.document is None:
            return item
        xml = base64.b64decode(payload.document, validate=True)
        document = parse_eforms(xml, source="hilma", source_id=item.source_id)
    else:
        item = map_search_notice(json.loads(payload.listing))
        assert payload.document is not None
        document = parse_eforms(payload.document, source="ted", source_id=item.source_id)
    merged = combine(item, document)
    merged.enrichment = "complete"
    return merged


def parse_only(payload: Payload) -> object:
    """The floor under any parser: the JSON and XML read into trees by json and lxml, nothing mapped."""
    listing = json.loads(payload.listing)
    if payload.document is None:
        return listing
    xml = base64.b64decode(payload.document) if payload.source == "hilma" else payload.document
    return listing, etree.fromstring(xml)


def _round(sample: SampleData, number: int, eu_procedures: set[str | None]) -> Iterator[Payload]:
    ted_round = number % 2 == 1
    for template in sample.specs:
        spec = _copy(template, number)
        if ted_round and template.procedure_id in eu_procedures:
            spec = dataclasses.replace(spec, hilma=None)
        if spec.hilma is not None:
            listing = json.dumps(hilma_index_document(spec), ensure_ascii=False).encode()
            document = None
            if spec.subtype is not None:
                document = base64.b64encode(build_eforms_xml(dataclasses.replace(spec, ted_publication=None)))
            yield Payload("hilma", listing, document)
        elif spec.ted_publication is not None:
            notice = ted_notice(spec, sample.cpv_labels)
            link = f"{_TED_BASE}/en/notice/{notice.publication_number}/xml"
            fields = {**notice.fields, "links": {"xml": {"MUL": link}}}
            yield Payload("ted", json.dumps(fields, ensure_ascii=False).encode(), notice.xml)


# Fresh identities for round ``number``: the same function maps an id wherever it appears.


def _uuid(value: str | None, number: int) -> str | None:
    return None if value is None else str(uuid.uuid5(_NAMESPACE, f"{number}:{value}"))


def _versioned(value: str | None, number: int) -> str | None:
    """``<uuid>-01`` (a notice and its version) with the UUID mapped."""
    if not value:
        return value
    head, _, version = value.rpartition("-")
    return f"{_uuid(head, number)}-{version}"


def _ted_number(value: str | None, number: int) -> str | None:
    """TED publication numbers: the sample's serials (600127–601111) moved into a range of their own per round."""
    if not value:
        return value
    serial, year = value.split("-")
    return f"{10_000_000 + number * 2_000 + int(serial) - 600_000}-{year}"


def _hilma_notice(value: int, number: int) -> int:
    return 0 if value == 0 else 100_000 + number * 200 + value - 53_100  # six digits up to round 4,499


def _copy(spec: NoticeSpec, number: int) -> NoticeSpec:
    change = spec.change
    if change is not None:
        change = dataclasses.replace(change, changed_notice=_versioned(change.changed_notice, number) or "")
    publication = spec.ted_publication
    if publication is not None:
        publication = dataclasses.replace(publication, number=_ted_number(publication.number, number) or "")
    return dataclasses.replace(
        spec,
        notice_id=_uuid(spec.notice_id, number),
        procedure_id=_uuid(spec.procedure_id, number),
        change=change,
        previous_notice=_versioned(spec.previous_notice, number),
        ted_publication=publication,
        hilma=_copy_hilma(spec.hilma, number),
    )


def _copy_hilma(hilma: HilmaRecord | None, number: int) -> HilmaRecord | None:
    if hilma is None:
        return None
    return dataclasses.replace(
        hilma,
        notice_id=_hilma_notice(hilma.notice_id, number),
        procedure_id=1_000_000 + number * 100 + hilma.procedure_id - 34_000,
        plan_id=0 if not hilma.plan_id else 100_000 + number * 10 + hilma.plan_id - 2_200,
        previous=tuple(_copy_previous(previous, number) for previous in hilma.previous),
        linked_notices=_ted_number(hilma.linked_notices, number) or "",
    )


def _copy_previous(previous: PreviousNotice, number: int) -> PreviousNotice:
    notice_id = _hilma_notice(int(previous.search_id.removeprefix("EF-")), number)
    year = previous.notice_number.split("-")[0]
    return PreviousNotice(
        search_id=f"EF-{notice_id}",
        notice_number=f"{year}-{notice_id:06d}",
        eforms_id=_uuid(previous.eforms_id, number) or "",
        full_eforms_id=_versioned(previous.full_eforms_id, number) or "",
        contract_folder_id=_uuid(previous.contract_folder_id, number) or "",
        ted_publication_id=_ted_number(previous.ted_publication_id, number),
    )


__all__ = ["Payload", "parse", "parse_only", "payloads"]
