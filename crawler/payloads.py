"""Reading notices from files, and keeping the full document when only a listing arrives.

``hankintavahti import`` accepts the payloads the spiders receive, saved to disk:
HILMA search responses and single index documents (JSON), HILMA notice envelopes
(JSON with base64 eForms XML, alone or in an array), eForms XML files, and TED
search responses. :func:`read_payload` recognises which by content, not by file
name, and maps each with the one parser or mapper for that format.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from config.errors import InputError, PayloadError
from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem
from crawler.ted_json import map_search_notice

SUFFIXES = (".json", ".xml")


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files to import: the files given, and the ``.json``/``.xml`` files under folders given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: tiedostoa tai kansiota ei ole")
    return files


def read_payload(data: bytes, name: str = "payload") -> Iterator[NoticeItem]:
    """Every notice in one payload; raises :class:`PayloadError` when it holds none we know."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        yield parse_eforms(data)
        return
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise PayloadError(f"{name}: ei XML:ää eikä JSONia ({error})") from None
    yield from _read_json(parsed, name)


def _read_json(parsed: Any, name: str) -> Iterator[NoticeItem]:
    if isinstance(parsed, dict) and isinstance(parsed.get("value"), list):
        for document in parsed["value"]:
            yield map_index_document(document)
    elif isinstance(parsed, dict) and isinstance(parsed.get("notices"), list):
        for notice in parsed["notices"]:
            yield map_search_notice(notice)
    elif _is_envelope(parsed):
        yield read_envelope(parsed)
    elif _is_index_document(parsed):
        yield map_index_document(parsed)
    elif isinstance(parsed, list) and parsed and all(_is_envelope(e) for e in parsed):
        for envelope in parsed:
            yield read_envelope(envelope)
    elif isinstance(parsed, list) and parsed and all(_is_index_document(d) for d in parsed):
        for document in parsed:
            yield map_index_document(document)
    else:
        raise PayloadError(
            f"{name}: ei hankintailmoituksia (kelpaavat HILMAn hakuvastaus tai hakudokumentti, "
            "HILMAn ilmoituskuori, eForms-XML ja TEDin hakuvastaus)"
        )


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("eForm"), str) and "id" in value


def _is_index_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("id"), str)
        and value["id"].split("-", 1)[0] in ("EF", "OLD", "PLAN")
        and "datePublished" in value
    )


def read_envelope(envelope: dict[str, Any]) -> NoticeItem:
    """A HILMA eForms read-API envelope: ``{id, procedureId, eForm: base64 XML, …}``."""
    try:
        xml = base64.b64decode(envelope["eForm"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise PayloadError(f"HILMAn ilmoituskuori {envelope.get('id')}: eForm ei ole base64-muotoa ({error})") from None
    item = parse_eforms(xml, source="hilma", source_id=f"EF-{envelope['id']}")
    if envelope.get("procedureId"):
        item.url = (
            "https://www.hankintailmoitukset.fi/fi/public/procedure/"
            f"{envelope['procedureId']}/enotice/{envelope['id']}/"
        )
    return item
