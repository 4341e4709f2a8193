"""Render a :class:`NoticeSpec` as the fields TED's Search API v3 returns for a notice.

The shapes follow what TED's clients report the live API returning (see the eForms
format notes, §6.3): publication numbers without zero padding, multilingual texts
as ``{"fin": …}`` (a string for titles, a list for names and lot texts), per-lot
values as lists that repeat and are not aligned with each other, places mixing NUTS
codes and ISO-3 countries. Fields a notice has no value for are left out, as TED
does. ``links`` are added by the stand-in, which knows its own address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crawler.standins.eforms_builder import build_eforms_xml, eforms_language, form_type, notice_type
from crawler.standins.specs import NoticeSpec, OrganisationSpec

_BRUSSELS = ZoneInfo("Europe/Brussels")
_HELSINKI = ZoneInfo("Europe/Helsinki")

#: Country names in TED's generated titles ("Suomi – Siivouspalvelut – …").
_COUNTRY_NAMES = {
    "FIN": {"fin": "Suomi", "swe": "Finland", "eng": "Finland"},
    "SWE": {"fin": "Ruotsi", "swe": "Sverige", "eng": "Sweden"},
    "EST": {"fin": "Viro", "swe": "Estland", "eng": "Estonia"},
}
#: TED's generated titles are given in these languages (TED code → our ISO 639-1 code).
_TITLE_LANGUAGES = {"fin": "fi", "swe": "sv", "eng": "en"}

#: Field names the stand-in knows (those TED clients ask for); TED has ~1 800, and also
#: accepts BT ids (``BT-5071-Lot``), which the stand-in answers by leaving them out.
_FIELD_NAMES = """
publication-number notice-identifier notice-version procedure-identifier notice-type notice-subtype form-type
procedure-type contract-nature publication-date dispatch-date notice-title title-proc title-lot description-proc
description-lot identifier-lot buyer-name organisation-name-buyer buyer-country organisation-country-buyer buyer-city
buyer-email buyer-identifier buyer-legal-type classification-cpv main-classification-proc place-of-performance
place-of-performance-country-proc place-of-performance-country-lot deadline-receipt-tender-date-lot
deadline-receipt-tender-time-lot deadline-receipt-request deadline-date-lot estimated-value-proc
estimated-value-cur-proc estimated-value-lot estimated-value-cur-lot framework-maximum-value-lot winner-name
winner-identifier winner-country winner-size tender-value tender-value-cur total-value total-value-cur
result-value-notice contract-conclusion-date change-notice-version-identifier official-language links
"""
KNOWN_FIELDS: frozenset[str] = frozenset(_FIELD_NAMES.split())


@dataclass(frozen=True)
class TedSampleNotice:
    """One notice as TED holds it: its search fields and its published XML."""

    publication_number: str  # "612345-2026"
    publication_date: date
    fields: dict[str, Any]  # every field of :data:`KNOWN_FIELDS` that has a value, except ``links``
    xml: bytes

    @property
    def languages(self) -> list[str]:
        return list(self.fields.get("official-language", ["FIN"]))


def ted_notice(spec: NoticeSpec, cpv_labels: Mapping[str, Mapping[str, str]] | None = None) -> TedSampleNotice:
    """The TED record of ``spec``, which must carry its TED publication."""
    if spec.ted_publication is None:
        raise ValueError("only a notice published on TED has a TED record")
    return TedSampleNotice(
        publication_number=spec.ted_publication.number,
        publication_date=spec.ted_publication.date,
        fields=ted_search_fields(spec, cpv_labels or {}),
        xml=build_eforms_xml(spec),
    )


def ted_search_fields(spec: NoticeSpec, cpv_labels: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The search fields of a published notice, empty ones left out."""
    publication = spec.ted_publication
    if publication is None or spec.subtype is None:
        raise ValueError("only a notice published on TED has search fields")
    lots = spec.lots
    awards = [(award, tender) for award in spec.awards for tender in award.winners]
    deadlines = [lot.deadline.astimezone(_HELSINKI) for lot in lots if lot.deadline is not None]
    lot_places = [place for lot in lots for place in lot.places]
    places = [*spec.places, *lot_places]
    fields: dict[str, Any] = {
        "publication-number": publication.number,
        "notice-identifier": spec.notice_id,
        "notice-version": spec.version,
        "procedure-identifier": spec.procedure_id,
        "notice-type": notice_type(spec.subtype),
        "notice-subtype": spec.subtype,
        "form-type": form_type(spec.subtype),
        "procedure-type": spec.procedure_type,
        "contract-nature": [spec.contract_nature],
        "publication-date": _date(publication.date, _BRUSSELS),
        "dispatch-date": _date(spec.issued_at.astimezone(_HELSINKI), _HELSINKI),
        "notice-title": _generated_title(spec, cpv_labels),
        "title-proc": {_lang(language): text for language, text in spec.titles.items()},
        "title-lot": _per_language([lot.titles for lot in lots]),
        "description-proc": {_lang(language): text for language, text in spec.descriptions.items()},
        "description-lot": _per_language([lot.descriptions for lot in lots]),
        "identifier-lot": [lot.id for lot in lots],
        "buyer-name": _names([spec.buyer]),
        "organisation-name-buyer": _names([spec.buyer]),
        "buyer-country": [spec.buyer.country],
        "organisation-country-buyer": [spec.buyer.country],
        "buyer-city": [spec.buyer.town] if spec.buyer.town else [],
        "buyer-email": [spec.buyer.email] if spec.buyer.email else [],
        "buyer-identifier": [spec.buyer.business_id] if spec.buyer.business_id else [],
        "buyer-legal-type": [spec.buyer.legal_type] if spec.buyer.legal_type else [],
        "classification-cpv": [spec.cpv_main, *spec.cpv_additional]
        + [code for lot in lots for code in (lot.cpv_main, *lot.cpv_additional)],
        "main-classification-proc": [spec.cpv_main],
        "place-of-performance": [code for place in places for code in (place.nuts, place.country) if code],
        "place-of-performance-country-proc": [place.country for place in spec.places if place.country],
        "place-of-performance-country-lot": [place.country for place in lot_places if place.country],
        "deadline-receipt-tender-date-lot": [_date(deadline, _HELSINKI) for deadline in deadlines],
        "deadline-receipt-tender-time-lot": [_time(deadline) for deadline in deadlines],
        "estimated-value-proc": _amount(spec.estimated_value),
        "estimated-value-cur-proc": [spec.currency] if spec.estimated_value is not None else [],
        "estimated-value-lot": [_amount(lot.estimated_value) for lot in lots if lot.estimated_value is not None],
        "estimated-value-cur-lot": [spec.currency for lot in lots if lot.estimated_value is not None],
        "winner-name": _names([tender.winner for _, tender in awards]),
        "winner-identifier": [tender.winner.business_id for _, tender in awards if tender.winner.business_id],
        "winner-country": [tender.winner.country for _, tender in awards],
        "winner-size": [tender.winner.size for _, tender in awards if tender.winner.size],
        "tender-value": [float(tender.value) for _, tender in awards if tender.value is not None],
        "tender-value-cur": [spec.currency for _, tender in awards if tender.value is not None],
        "total-value": float(spec.awarded_value) if spec.awarded_value is not None else None,
        "total-value-cur": [spec.currency] if spec.awarded_value is not None else [],
        "result-value-notice": float(spec.awarded_value) if spec.awarded_value is not None else None,
        "contract-conclusion-date": [
            _date(tender.contract_date, _HELSINKI) for _, tender in awards if tender.contract_date is not None
        ],
        "change-notice-version-identifier": [spec.change.changed_notice] if spec.change else [],
        "official-language": [eforms_language(spec.language)],
    }
    return {name: value for name, value in fields.items() if value not in (None, "", [], {})}


def _lang(language: str) -> str:
    """ISO 639-1 → TED's lower-case ISO 639-2/B (``fi`` → ``fin``)."""
    return eforms_language(language).lower()


def _per_language(texts: list[Mapping[str, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for item in texts:
        for language, text in item.items():
            if text:
                result.setdefault(_lang(language), []).append(text)
    return result


def _names(organisations: list[OrganisationSpec]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for organisation in organisations:
        result.setdefault(_lang(organisation.language), []).append(organisation.name)
    return result


def _generated_title(spec: NoticeSpec, cpv_labels: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """TED's "Country – CPV label – title" in Finnish, Swedish and English."""
    title = next((text for text in spec.titles.values() if text), "")
    countries = _COUNTRY_NAMES.get(spec.buyer.country, {})
    labels = cpv_labels.get(spec.cpv_main, {})
    result = {}
    for language, iso639_1 in _TITLE_LANGUAGES.items():
        parts = [countries.get(language), labels.get(iso639_1), title]
        result[language] = " – ".join(part for part in parts if part)
    return result


def _date(value: date | datetime, zone: ZoneInfo) -> str:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day, 12, tzinfo=zone)
    offset = moment.strftime("%z")
    return f"{moment.date().isoformat()}{offset[:3]}:{offset[3:]}"


def _time(value: datetime) -> str:
    offset = value.strftime("%z")
    return f"{value.strftime('%H:%M:%S')}{offset[:3]}:{offset[3:]}"


def _amount(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
