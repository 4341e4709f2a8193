"""Render a :class:`NoticeSpec` as a document of HILMA's ``eformnotices-v2`` search index.

Every key that real index documents carry is present, in the order HILMA returns
them, with the same conventions: CPV and NUTS codes as one space-separated string,
winners as ``Name (Y-tunnus)`` joined with ``//``, descriptions as the procedure
text followed by each lot's text and a comma, UTC times with milliseconds, and
``null``/``""``/``[]`` where HILMA has nothing. A mapper written against these
documents therefore meets the quirks it will meet in production.

``@search.score`` is not part of the stored document: the search stand-in adds it to
each hit, as Azure AI Search does.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crawler.standins.specs import (
    CONTRACT_SUBTYPES,
    PIN_COMPETITION_SUBTYPES,
    PLANNING_SUBTYPES,
    STATISTICS_DEFAULTS,
    LotSpec,
    NoticeSpec,
    OrganisationSpec,
    PlaceSpec,
)

#: Country codes as HILMA's ``nutsCodes`` writes a place known only by its country.
_NUTS0 = {"FIN": "FI", "SWE": "SE", "EST": "EE", "NOR": "NO", "DEU": "DE"}
_LANGUAGE_SUFFIXES = (("fi", "Fi"), ("sv", "Sv"), ("en", "En"))


def hilma_index_document(spec: NoticeSpec) -> dict[str, Any]:
    """The index document HILMA's search returns for ``spec`` (which must carry a :class:`HilmaRecord`)."""
    hilma = spec.hilma
    if hilma is None:
        raise ValueError("a HILMA index document needs the spec's HILMA record (ids, publication time)")
    is_plan = spec.subtype is None
    published = hilma.published_at
    modified = hilma.modified_at or published + timedelta(milliseconds=11)
    deadline = spec.deadline
    # HILMA keeps a notice without a deadline "active" for some months, counted in UTC.
    expiration = deadline if deadline is not None else _add_months(published.astimezone(UTC), 12 if is_plan else 6)
    statistics = hilma.statistic_values()
    award_value = spec.awarded_value
    lots_with_framework = [lot for lot in spec.lots if lot.framework_agreement]

    document: dict[str, Any] = {
        "id": hilma.search_id,
        "noticeId": 0 if is_plan else hilma.notice_id,
        "refOldNoticeTedPublicationId": None,
        "parentNoticeId": None,
        "oldProcurementProjectId": 0,
        "procedureId": hilma.procedure_id,
        "planId": hilma.plan_id,
        "contractFolderId": spec.procedure_id,
        "eFormsId": spec.notice_id,
        "fullEFormsId": spec.full_notice_id,
        "sendingSystem": hilma.sending_system,
        "procedureType": spec.procedure_type,
        "noticeResultTotalAmount": _number(award_value),
        "noticeResultTotalAmountCurrency": spec.currency if award_value is not None else None,
        "noticeOjsNumber": "",
        "datePublished": utc_millis(published),
        "dateModified": utc_millis(modified),
        "procurementTypeCode": spec.contract_nature,
        "previousTedPublicationId": [p.ted_publication_id for p in hilma.previous if p.ted_publication_id],
        "previousNoticeNumber": [p.notice_number for p in hilma.previous],
        "previousEFormsId": [p.eforms_id for p in hilma.previous],
        "previousFullEFormsId": [p.full_eforms_id for p in hilma.previous],
        "previousContractFolderId": [p.contract_folder_id for p in hilma.previous],
        "previousSearchIds": [p.search_id for p in hilma.previous],
        "type": spec.subtype,
        "mainType": main_type(spec.subtype),
        **_texts("title", spec.titles),
        "cpvCodes": " ".join(spec.all_cpv()),
        **_organisation_names(spec.buyer),
        "organisationNationalRegistrationNumber": spec.buyer.business_id or "",
        "organisationAddress": organisation_address(spec.buyer),
        "organisationNutsCode": spec.buyer.nuts or "",
        "organisationType": spec.buyer.legal_type or "",
        "nutsCodes": " ".join(nuts_codes(spec.all_places())),
        "organisationDepartment": "",
        **_texts("description", _joined_descriptions(spec)),
        "expirationDate": _utc(expiration, millis=deadline is None),
        "deadline": _utc(deadline, millis=False) if deadline else None,
        "isCorrigendum": spec.change is not None,
        "isCancelled": hilma.cancelled or (spec.change is not None and spec.change.reason == "cancel"),
        "includesDynamicPurcharingSystem": any(lot.dynamic_purchasing_system for lot in spec.lots),
        "includesFrameworkAgreement": bool(lots_with_framework),
        "overallMaximumFrameworkContractsAmount": None,
        "overallMaximumFrameworkContractsCurrency": None,
        "overallApproximateFrameworkContractsAmount": None,
        "overallApproximateFrameworkContractsCurrency": None,
        "isNationalProcurement": spec.national,
        "isEuProcurement": not is_plan and not spec.national,
        "isNationalSmallValueProcurement": False,
        "noticeNumber": hilma.notice_number,
        "estimatedValue": _number(spec.estimated_value),
        "currency": spec.currency if spec.estimated_value is not None else None,
        "isEForms": not is_plan,
        "winnerOrganisations": winner_organisations(spec.winners),
        "tedPublicationId": spec.ted_publication.number if spec.ted_publication else None,
        "isPlan": is_plan,
        "procurementDocumentsUrl": next((lot.documents_url for lot in spec.lots if lot.documents_url), None),
        "tenderingInHilma": hilma.tendering_in_hilma,
        "linkedNotices": hilma.linked_notices,
        **statistics,
        "isPrivateSmallValueProcurement": False,
        "lots": [_lot_document(spec, lot, expiration, statistics) for lot in spec.lots],
    }
    return document


def main_type(subtype: str | None) -> str | None:
    """HILMA's grouping of subtypes; plans have none."""
    if subtype is None:
        return None
    if subtype in PLANNING_SUBTYPES or subtype in PIN_COMPETITION_SUBTYPES or subtype == "E1":
        return "PriorInformationNotices"
    if subtype in CONTRACT_SUBTYPES:
        return "ContractNotices"
    return "ContractAwardNotices"


def organisation_address(organisation: OrganisationSpec) -> str:
    """``"Wetterhoffinkatu 2 13100 Hämeenlinna FIN"``: street, postcode, town, country."""
    parts = (organisation.street, organisation.postcode, organisation.town, organisation.country)
    return " ".join(part for part in parts if part)


def nuts_codes(places: list[PlaceSpec]) -> list[str]:
    """Distinct NUTS codes of the places; a place known only by its country counts as ``FI``."""
    codes = [place.nuts or _NUTS0.get(place.country or "", place.country or "") for place in places]
    return list(dict.fromkeys(code for code in codes if code))


def winner_organisations(winners: list[OrganisationSpec]) -> str:
    """``"Yritys Oy (1234567-8)//Toinen Oy (2345678-9)"``."""
    return "//".join(f"{w.name} ({w.business_id})" if w.business_id else w.name for w in winners)


def utc_millis(value: datetime) -> str:
    """``2026-05-08T14:51:10.782Z``, the form of HILMA's publication times."""
    return _utc(value, millis=True)


def _utc(value: datetime, *, millis: bool) -> str:
    utc = value.astimezone(UTC)
    if millis:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _texts(field: str, texts: dict[str, str] | Any) -> dict[str, str]:
    """``titleFi``, ``titleSv``, ``titleEn`` and ``titleOther`` (the first text in another language)."""
    result = {f"{field}{suffix}": texts.get(language, "") for language, suffix in _LANGUAGE_SUFFIXES}
    others = [text for language, text in texts.items() if language not in ("fi", "sv", "en") and text]
    result[f"{field}Other"] = others[0] if others else ""
    return result


def _organisation_names(buyer: OrganisationSpec) -> dict[str, str]:
    return _texts("organisationName", {buyer.language: buyer.name})


def _joined_descriptions(spec: NoticeSpec) -> dict[str, str]:
    """Procedure description, then each lot's description followed by a comma, per language."""
    languages = list(dict.fromkeys([*spec.descriptions, *(lang for lot in spec.lots for lang in lot.descriptions)]))
    joined = {}
    for language in languages:
        lot_texts = "".join(f"{lot.descriptions[language]}," for lot in spec.lots if lot.descriptions.get(language))
        procedure = spec.descriptions.get(language, "")
        if not lot_texts:
            joined[language] = f"{procedure},"
        else:
            joined[language] = f"{procedure} {lot_texts}" if procedure else lot_texts
    return joined


def _lot_document(
    spec: NoticeSpec, lot: LotSpec, expiration: datetime, statistics: dict[str, bool | int | None]
) -> dict[str, Any]:
    award = next((award for award in spec.awards if award.lot_id == lot.id), None)
    value = award.value if award else None
    places = list(lot.places) or list(spec.places)
    return {
        "id": lot.id,
        "procurementTypeCode": spec.contract_nature,
        "procedureType": "",
        **_texts("title", dict(lot.titles)),
        "cpvCodes": " ".join(dict.fromkeys([lot.cpv_main, *lot.cpv_additional])),
        "nutsCodes": " ".join(nuts_codes(places)),
        **_texts("description", dict(lot.descriptions)),
        "estimatedValue": _number(lot.estimated_value),
        "currency": spec.currency if lot.estimated_value is not None else None,
        "lotResultTotalAmount": _number(value),
        "lotResultTotalAmountCurrency": spec.currency if value is not None else None,
        "expirationDate": _utc(lot.deadline, millis=False) if lot.deadline else _utc(expiration, millis=True),
        "deadline": _utc(lot.deadline, millis=False) if lot.deadline else None,
        "includesDynamicPurcharingSystem": lot.dynamic_purchasing_system,
        "includesFrameworkAgreement": lot.framework_agreement,
        "winnerOrganisations": winner_organisations([t.winner for t in award.winners]) if award else "",
        "receivedTenderCount": award.tenders_received if award else None,
        "electronicallySubmittedTendersCount": None,
        "tendersFromOtherEEACount": None,
        "tendersFromOutsideEEACount": None,
        "tendersVerifiedAndInadmissibleCount": None,
        "tendersVerifiedAndInadmissibleLowValueCount": None,
        "tendersNotVerifiedForAdmissibilityCount": None,
        "tendersFromMicroTenderersCount": None,
        "tendersFromSmallTenderersCount": None,
        "tendersFromMediumTenderersCount": None,
        "tendersFromMicroSmallMediumTenderersCount": None,
        "receivedApplicationCount": None,
        **statistics,
    }


def _number(value: Decimal | None) -> float | None:
    """HILMA's amounts are JSON doubles (``60000000.0``)."""
    return float(value) if value is not None else None


def _add_months(value: datetime, months: int) -> datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


# -- the index definition (GET /avp/eformnotices) -------------------------------------------

_DATE_FIELDS = {"datePublished", "dateModified", "deadline", "expirationDate"}
_SORTABLE = _DATE_FIELDS | {"noticeId", "procedureId", "estimatedValue"}
_SEARCHABLE_PREFIXES = ("title", "description", "organisationName", "cpvCodes", "nutsCodes", "winnerOrganisations")


def index_definition(sample_document: dict[str, Any]) -> dict[str, Any]:
    """An Azure index definition (``fields[]`` with types and flags) for documents shaped like the sample.

    Types are read from the values (HILMA's real definition sits behind the developer
    portal); ``id`` is the key, dates are ``Edm.DateTimeOffset``, ``lots`` is a
    collection of complex objects.
    """
    return {
        "@odata.context": "https://hns-hilma-prod-search.search.windows.net/$metadata#indexes/$entity",
        "name": "eformnotices-v2",
        "fields": [
            _field_definition(name, value) for name, value in sample_document.items() if name != "@search.score"
        ],
        "scoringProfiles": [],
        "suggesters": [],
    }


def _field_definition(name: str, value: Any) -> dict[str, Any]:
    if name == "lots":
        lot = value[0] if value else {}
        return {
            "name": name,
            "type": "Collection(Edm.ComplexType)",
            "fields": [_field_definition(key, item) for key, item in lot.items()],
        }
    return {
        "name": name,
        "type": _edm_type(name, value),
        "key": name == "id",
        "searchable": name.startswith(_SEARCHABLE_PREFIXES),
        "filterable": True,
        "retrievable": True,
        "sortable": name in _SORTABLE,
        "facetable": name in {"type", "mainType", "procedureType", "procurementTypeCode", "organisationType"},
    }


def _edm_type(name: str, value: Any) -> str:
    """The Edm type of a field, by name first because many values are ``null`` in any one document."""
    if name in _DATE_FIELDS:
        return "Edm.DateTimeOffset"
    if name.endswith("Count") or name in _INTEGER_FIELDS:
        return "Edm.Int32"
    if name.endswith("Amount") or name == "estimatedValue":
        return "Edm.Double"
    if name in _BOOLEAN_FIELDS or name.startswith(("is", "includes")) or isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, list):
        return "Collection(Edm.String)"
    return "Edm.String"


_INTEGER_FIELDS = {
    "noticeId",
    "procedureId",
    "planId",
    "oldProcurementProjectId",
    "parentNoticeId",
    "howManyOpportunitiesIsEstimated",
}
_BOOLEAN_FIELDS = {name for name in STATISTICS_DEFAULTS if name != "howManyOpportunitiesIsEstimated"} | {
    "tenderingInHilma"
}
