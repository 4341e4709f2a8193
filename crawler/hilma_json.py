"""HILMA's search index documents (``eformnotices-v2``) as :class:`NoticeItem`.

The index document alone is enough to store a notice: it has the titles, buyer,
CPV and NUTS codes, deadline, values and winners. The eForms XML that the read
API serves adds places of performance by town and postcode, lots and award
details; :func:`crawler.items.combine` joins the two. Keys follow
``../shared/reference/hilma/FORMATS.md`` §2.3: every document has every key, and a
missing value is ``null``, ``""`` or ``[]``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from config.errors import PayloadError
from crawler.codes import kind_for, normalise_business_id, normalise_publication_number, parse_timestamp
from crawler.items import Award, Lot, NoticeItem, Organisation, Place, cleaned

PUBLIC_SITE = "https://www.hankintailmoitukset.fi"

_LANGUAGE_SUFFIXES = (("Fi", "fi"), ("Sv", "sv"), ("En", "en"), ("Other", "other"))
_ADDRESS = re.compile(r"^(?P<street>.*?)\s*(?P<postcode>\d{5})\s+(?P<town>.+?)(?:\s+(?P<country>[A-Z]{3}))?$")
_WINNER = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<id>[^()]*)\))?$")
_MAIN_TYPE_KINDS = {
    "PriorInformationNotices": "prior_information",
    "ContractNotices": "contract_notice",
    "NationalNotices": "contract_notice",
    "ContractAwardNotices": "award",
    "Modification": "award",
}


def notice_url(document: dict[str, Any]) -> str | None:
    """The public page of a notice on hankintailmoitukset.fi (FORMATS.md §3.3)."""
    notice_id = document.get("noticeId")
    kind = str(document.get("id", "")).split("-", 1)[0]
    if kind == "EF" and document.get("procedureId") and notice_id:
        return f"{PUBLIC_SITE}/fi/public/procedure/{document['procedureId']}/enotice/{notice_id}/"
    if kind == "OLD" and document.get("oldProcurementProjectId") and notice_id:
        return f"{PUBLIC_SITE}/fi/public/procurement/{document['oldProcurementProjectId']}/notice/{notice_id}/overview"
    return None


def map_index_document(document: Any) -> NoticeItem:
    """Map one index document; raises :class:`PayloadError` when it is not one."""
    if not isinstance(document, dict) or not isinstance(document.get("id"), str) or not document["id"]:
        raise PayloadError("not a HILMA index document: it has no string 'id'")
    try:
        return cleaned(_map(document))
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise PayloadError(f"HILMA index document {document['id']} is unreadable: {error}") from error


def _map(doc: dict[str, Any]) -> NoticeItem:
    full_id = _text(doc.get("fullEFormsId"))
    version = full_id.rsplit("-", 1)[1] if full_id and full_id.count("-") >= 5 else None
    previous = [
        *(_list(doc.get("previousFullEFormsId"))),
        *(p for p in (normalise_publication_number(v) for v in _list(doc.get("previousTedPublicationId"))) if p),
    ]
    linked = normalise_publication_number(_text(doc.get("linkedNotices")))
    if linked:
        previous.append(linked)
    item = NoticeItem(
        source="hilma",
        source_id=doc["id"],
        url=notice_url(doc),
        published_at=parse_timestamp(doc.get("datePublished")),
        modified_at=parse_timestamp(doc.get("dateModified")),
        notice_id=_text(doc.get("eFormsId")),
        notice_version=version,
        procedure_id=_text(doc.get("contractFolderId")),
        publication_number=normalise_publication_number(_text(doc.get("tedPublicationId"))),
        hilma_notice_number=_text(doc.get("noticeNumber")),
        hilma_procedure_id=_positive_int(doc.get("procedureId")),
        changed_notice=(_list(doc.get("previousFullEFormsId")) or [None])[0] if doc.get("isCorrigendum") else None,
        previous_notices=list(dict.fromkeys(previous)),
        kind=_kind(doc),
        cancelled=bool(doc.get("isCancelled")) and not doc.get("isCorrigendum"),
        subtype=_text(doc.get("type")),
        national=_bool(doc.get("isNationalProcurement")),
        titles=_texts(doc, "title"),
        descriptions={k: v.rstrip(",").strip() for k, v in _texts(doc, "description").items()},
        contract_nature=_text(doc.get("procurementTypeCode")),
        procedure_type=_text(doc.get("procedureType")),
        estimated_value=_decimal(doc.get("estimatedValue")),
        currency=_text(doc.get("currency")),
        deadline=parse_timestamp(doc.get("deadline")),
        framework_agreement=_bool(doc.get("includesFrameworkAgreement")),
        documents_url=_text(doc.get("procurementDocumentsUrl")),
        buyers=[_buyer(doc)] if _text(doc.get("organisationNameFi")) or _texts(doc, "organisationName") else [],
        places=[Place(nuts=code) for code in _codes(doc.get("nutsCodes"))],
        lots=[_lot(lot) for lot in _list(doc.get("lots")) if isinstance(lot, dict)],
        awarded_value=_decimal(doc.get("noticeResultTotalAmount")),
        awarded_currency=_text(doc.get("noticeResultTotalAmountCurrency")),
        statistics=_statistics(doc),
        payloads={"hilma-index": json.dumps(doc, ensure_ascii=False).encode("utf-8")},
    )
    cpv = _codes(doc.get("cpvCodes"))
    item.cpv_main, item.cpv_additional = (cpv[0], cpv[1:]) if cpv else (None, [])
    item.language = next((lang for lang in ("fi", "sv", "en") if item.titles.get(lang)), None)
    item.awards = _awards(doc)
    return item


def _kind(doc: dict[str, Any]) -> str:
    """What the document is; a cancelled original stays what it was (``cancelled`` says the rest)."""
    if doc.get("isPlan"):
        return "plan"
    if doc.get("isCorrigendum"):
        return "cancellation" if doc.get("isCancelled") else "correction"
    return kind_for(_text(doc.get("type"))) or _MAIN_TYPE_KINDS.get(doc.get("mainType") or "", "contract_notice")


def _buyer(doc: dict[str, Any]) -> Organisation:
    names = _texts(doc, "organisationName")
    address = _ADDRESS.match(_text(doc.get("organisationAddress")) or "")
    parts = address.groupdict() if address else {}
    country = parts.get("country")
    return Organisation(
        name=names.get("fi") or next(iter(names.values()), None),
        names=names,
        business_id=normalise_business_id(_text(doc.get("organisationNationalRegistrationNumber")), country),
        street=(parts.get("street") or None),
        postcode=parts.get("postcode"),
        town=parts.get("town"),
        country=country,
        nuts=_text(doc.get("organisationNutsCode")),
        legal_type=_text(doc.get("organisationType")),
    )


def _lot(lot: dict[str, Any]) -> Lot:
    cpv = _codes(lot.get("cpvCodes"))
    return Lot(
        id=_text(lot.get("id")) or "",
        titles=_texts(lot, "title"),
        descriptions={k: v.rstrip(",").strip() for k, v in _texts(lot, "description").items()},
        cpv_main=cpv[0] if cpv else None,
        cpv_additional=cpv[1:],
        places=[Place(nuts=code) for code in _codes(lot.get("nutsCodes"))],
        estimated_value=_decimal(lot.get("estimatedValue")),
        currency=_text(lot.get("currency")),
        deadline=parse_timestamp(lot.get("deadline")),
        framework_agreement=_bool(lot.get("includesFrameworkAgreement")),
        statistics=_statistics(lot),
    )


#: HILMA's statistics flags (hilmastatistics): what the buyer says it considered. Booleans, except
#: the estimated number of employment opportunities, a count.
STATISTICS_FLAGS: tuple[str, ...] = (
    "energyEfficiencyConsidered",
    "lowCarbon",
    "circularEconomy",
    "biodiversity",
    "sustainableFoodProduction",
    "listedGreenCriteriaUsed",
    "justWorkingConditions",
    "employmentCondition",
    "codeOfConduct",
    "innovationConsidered",
    "solutionNewToBuyer",
    "solutionNewToMarketOrIndustry",
    "smeParticipationConsidered",
    "endUserInvolved",
)
STATISTICS_COUNTS: tuple[str, ...] = ("howManyOpportunitiesIsEstimated",)


def _statistics(doc: dict[str, Any]) -> dict[str, Any]:
    """The statistics flags the document gives (absent and null left out: not answered is not no)."""
    found: dict[str, Any] = {}
    for name in STATISTICS_FLAGS:
        flag = _bool(doc.get(name))
        if flag is not None:
            found[name] = flag
    for name in STATISTICS_COUNTS:
        count = _count(doc.get(name))
        if count is not None:
            found[name] = count
    return found


def _awards(doc: dict[str, Any]) -> list[Award]:
    """Winners per lot from ``winnerOrganisations`` (``Name (Y-tunnus)`` joined with ``//``).

    A lot's result total is given to its winner only when it has exactly one: the
    index does not split a framework's value between its suppliers.
    """
    awards: list[Award] = []
    lots = [lot for lot in _list(doc.get("lots")) if isinstance(lot, dict)]
    for lot in lots:
        winners = _winners(lot.get("winnerOrganisations"))
        value = _decimal(lot.get("lotResultTotalAmount"))
        for winner in winners:
            awards.append(
                Award(
                    lot_id=_text(lot.get("id")),
                    result="selec-w",
                    winner=winner,
                    value=value if len(winners) == 1 else None,
                    currency=_text(lot.get("lotResultTotalAmountCurrency")) if len(winners) == 1 else None,
                    tenders_received=_count(lot.get("receivedTenderCount")),
                )
            )
    if not awards:
        awards = [Award(result="selec-w", winner=w) for w in _winners(doc.get("winnerOrganisations"))]
    return awards


def _winners(text: Any) -> list[Organisation]:
    winners = []
    for part in (_text(text) or "").split("//"):
        match = _WINNER.match(part.strip())
        if match and match.group("name"):
            name, number = match.group("name").strip(), normalise_business_id(match.group("id"))
            winners.append(Organisation(name=name, business_id=number))
    return winners


def _texts(doc: dict[str, Any], stem: str) -> dict[str, str]:
    texts = {}
    for suffix, language in _LANGUAGE_SUFFIXES:
        value = _text(doc.get(stem + suffix))
        if value:
            texts[language] = value
    return texts


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _codes(value: Any) -> list[str]:
    """Space-separated codes (``cpvCodes``, ``nutsCodes``), without repeats."""
    return list(dict.fromkeys((_text(value) or "").split()))


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _count(value: Any) -> int | None:
    """A count where zero means something (no tenders received)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
