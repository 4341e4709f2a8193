"""TED Search API v3 notices as :class:`NoticeItem`.

A search result carries only the fields asked for (absent when empty), texts as
dicts keyed by lower-case ISO 639-2 codes, and per-lot lists that are not aligned
with each other (``../shared/reference/eforms/FORMATS.md`` §6.3). It is a listing:
the spider fetches the notice XML from ``links.xml.MUL`` and joins the two with
:func:`crawler.items.combine`; the listing alone is stored only when the XML
cannot be had.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from config.errors import PayloadError
from crawler.codes import (
    END_OF_DAY,
    combine_date_time,
    kind_for,
    language_code,
    normalise_publication_number,
    parse_timestamp,
)
from crawler.items import NoticeItem, Organisation, Place, cleaned

#: The fields the spider asks for; every one is read below.
SEARCH_FIELDS: tuple[str, ...] = (
    "publication-number",
    "notice-identifier",
    "notice-version",
    "procedure-identifier",
    "publication-date",
    "notice-type",
    "form-type",
    "procedure-type",
    "contract-nature",
    "notice-title",
    "buyer-name",
    "buyer-country",
    "classification-cpv",
    "place-of-performance",
    "deadline-receipt-tender-date-lot",
    "estimated-value-proc",
    "estimated-value-cur-proc",
    "links",
)

_PUBLICATION_NUMBER = re.compile(r"\d{1,8}-\d{4}", re.ASCII)


def notice_page(number: str) -> str:
    """TED's public page of a notice, in Finnish."""
    return f"https://ted.europa.eu/fi/notice/-/detail/{number}"


def xml_link(notice: dict[str, Any]) -> str | None:
    """Where the notice's eForms XML is: the ``links.xml.MUL`` link TED gives."""
    links = notice.get("links")
    xml = links.get("xml") if isinstance(links, dict) else None
    if isinstance(xml, dict):
        for link in (xml.get("MUL"), *xml.values()):
            if isinstance(link, str) and link.startswith(("http://", "https://")):
                return link
    return None


def map_search_notice(notice: Any) -> NoticeItem:
    """Map one notice of a TED search response; raises :class:`PayloadError` when it is not one."""
    if not isinstance(notice, dict):
        raise PayloadError("not a TED search notice: expected a JSON object")
    number = normalise_publication_number(_scalar(notice.get("publication-number")))
    if number is None or not _PUBLICATION_NUMBER.fullmatch(number):
        raise PayloadError("TED search notice without a readable publication-number")
    try:
        return cleaned(_map(notice, number))
    except (TypeError, ValueError, AttributeError) as error:
        raise PayloadError(f"TED notice {number} is unreadable: {error}") from error


def _map(notice: dict[str, Any], number: str) -> NoticeItem:
    notice_type = _scalar(notice.get("notice-type"))
    form_type = _scalar(notice.get("form-type"))
    kind = kind_for(_scalar(notice.get("notice-subtype")), notice_type, form_type) or "contract_notice"
    if notice_type == "corr" or form_type == "change":
        kind = "correction"
    cpv = list(dict.fromkeys(_strings(notice.get("classification-cpv"))))
    places = []
    countries = []
    for code in dict.fromkeys(_strings(notice.get("place-of-performance"))):
        # TED mixes NUTS codes (FI1C2) with ISO 3166-1 alpha-3 countries (FIN).
        if len(code) == 3 and code.isalpha():
            countries.append(code)
        else:
            places.append(Place(nuts=code))
    if not places:
        places = [Place(country=country) for country in countries]
    deadlines = [
        d
        for d in (
            combine_date_time(text, None, time_missing=END_OF_DAY)
            for text in _strings(notice.get("deadline-receipt-tender-date-lot"))
        )
        if d
    ]
    buyer_names = {  # the first name given in each language; a null or a nested list is no name
        language_code(lang) or lang: _strings(names)[0]
        for lang, names in (notice.get("buyer-name") or {}).items()
        if _strings(names)
    }
    buyer_countries = _strings(notice.get("buyer-country"))
    return NoticeItem(
        source="ted",
        source_id=number,
        url=notice_page(number),
        published_at=parse_timestamp(_scalar(notice.get("publication-date"))),
        notice_id=_scalar(notice.get("notice-identifier")),
        notice_version=_scalar(notice.get("notice-version")),
        procedure_id=_scalar(notice.get("procedure-identifier")),
        publication_number=number,
        kind=kind,
        notice_type=notice_type,
        form_type=form_type,
        titles=_titles(notice.get("notice-title")),
        cpv_main=cpv[0] if cpv else None,
        cpv_additional=cpv[1:],
        contract_nature=_scalar(notice.get("contract-nature")),
        procedure_type=_scalar(notice.get("procedure-type")),
        estimated_value=_decimal(_scalar(notice.get("estimated-value-proc"))),
        currency=_scalar(notice.get("estimated-value-cur-proc")),
        deadline=min(deadlines) if deadlines else None,
        buyers=[
            Organisation(
                name=buyer_names.get("fi") or next(iter(buyer_names.values()), None),
                names=buyer_names,
                country=buyer_countries[0] if buyer_countries else None,
            )
        ]
        if buyer_names
        else [],
        places=places,
        payloads={"ted-search": json.dumps(notice, ensure_ascii=False).encode("utf-8")},
    )


def _titles(value: Any) -> dict[str, str]:
    """Titles per language, without TED's "Country – CPV label – " prefix."""
    titles = {}
    if isinstance(value, dict):
        for lang, text in value.items():
            text = text[0] if isinstance(text, list) and text else text
            if isinstance(text, str) and text.strip():
                parts = text.split(" – ", 2)
                titles[language_code(lang) or lang] = (parts[2] if len(parts) == 3 else text).strip()
    return titles


def _scalar(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, dict):
        return None
    text = str(value).strip()
    return text or None


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = _scalar(value)
    return [text] if text else []


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
