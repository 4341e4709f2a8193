"""The one item shape that every source produces.

The eForms parser, the HILMA index mapper and the TED search mapper all return a
:class:`NoticeItem`; the store, the classifier and the alerts read nothing else.
Keeping a single shape is what lets a notice that HILMA and TED both publish be
recognised as one, and lets a stored raw payload be parsed again after the parser
improves.

Conventions:

* texts that a notice gives in several languages are dicts keyed by ISO 639-1
  code (``fi``, ``sv``, ``en``; other languages by their own code);
* datetimes are timezone-aware; a value the source leaves out is ``None`` (or an
  empty list), never a guess;
* money is :class:`~decimal.Decimal` with an ISO 4217 currency next to it;
* CPV codes are 8-digit strings without the check digit;
* business IDs are normalised to the Finnish form ``1234567-8`` when they are
  Finnish, otherwise kept as given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

#: What a notice is for a reader, in the order a procurement normally goes.
NoticeKind = Literal[
    "plan",  # HILMA procurement plan (isPlan): the buyer's plans for the coming year
    "prior_information",  # PIN / pre-market consultation: a procurement is coming
    "contract_notice",  # call for tenders (including PIN used as a call for competition)
    "correction",  # a change notice that corrects an earlier notice
    "cancellation",  # a change notice that cancels the procedure
    "award",  # contract award, voluntary ex-ante transparency, modification, completion
]
NOTICE_KINDS: tuple[str, ...] = (
    "plan",
    "prior_information",
    "contract_notice",
    "correction",
    "cancellation",
    "award",
)

#: Language preference when one text is needed (the users read Finnish first).
LANGUAGE_PREFERENCE: tuple[str, ...] = ("fi", "sv", "en")


#: Characters no notice needs and pages must not get: C0 controls except tab and line breaks (NUL among
#: them, which PostgreSQL refuses in text), DEL, C1 controls, and the bidirectional embeddings, overrides
#: and isolates that can reverse the text around them on a page ("Trojan source"). Right-to-left
#: scripts themselves need none of them.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """The text without :data:`UNSAFE_CHARACTERS`."""
    return UNSAFE_CHARACTERS.sub("", text)


def cleaned(value: Any) -> Any:
    """Every text in an item (or any part of one) cleaned by :func:`clean_text`, in place; returns it.

    The mappers call it on the item they built, so whatever a source sends, the store,
    the pages and the emails get text without :data:`UNSAFE_CHARACTERS`. Raw payloads
    (bytes) stay as they came: they are the audit copy, parsed again later. It is on
    the ingestion path, hence the type dispatch instead of ``dataclasses.is_dataclass``.
    """
    kind = type(value)
    if kind is str:
        return UNSAFE_CHARACTERS.sub("", value) if UNSAFE_CHARACTERS.search(value) else value
    if kind is list:
        return [cleaned(element) for element in value]
    if kind is dict:
        return {cleaned(key): cleaned(element) for key, element in value.items()}
    names = _DATACLASS_FIELDS.get(kind)
    if names is None:
        if value is None or not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        names = _DATACLASS_FIELDS.setdefault(kind, tuple(spec.name for spec in dataclasses.fields(value)))
    for name in names:
        current = getattr(value, name)
        if type(current) in _CONTAINERS or type(current) in _DATACLASS_FIELDS:
            setattr(value, name, cleaned(current))
    return value


_CONTAINERS = frozenset({str, list, dict})
_DATACLASS_FIELDS: dict[type, tuple[str, ...]] = {}


def pick_language(texts: dict[str, str]) -> str | None:
    """Return the text in the most useful language: Finnish, Swedish, English, any."""
    for language in LANGUAGE_PREFERENCE:
        if texts.get(language):
            return texts[language]
    for text in texts.values():
        if text:
            return text
    return None


@dataclass
class Organisation:
    """A buyer or a winner, as the notice describes it."""

    name: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    business_id: str | None = None
    street: str | None = None
    postcode: str | None = None
    town: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-3 as eForms gives it (FIN)
    nuts: str | None = None
    legal_type: str | None = None  # eForms BT-11 buyer-legal-type (la, ra, cga, body-pl …)
    size: str | None = None  # eForms BT-165 for winners: micro, small, medium, large
    email: str | None = None
    website: str | None = None


@dataclass
class Place:
    """One place of performance (eForms ``cac:RealizedLocation``)."""

    nuts: str | None = None
    town: str | None = None
    postcode: str | None = None
    street: str | None = None
    country: str | None = None
    region: str | None = None  # BT-727: anyw, anyw-eea, anyw-cou
    description: str | None = None  # BT-728 free text

    def is_empty(self) -> bool:
        return not any(dataclasses.astuple(self))


@dataclass
class Lot:
    """A lot (``LOT-nnnn``) or, in a prior information notice, a part (``PAR-nnnn``)."""

    id: str
    titles: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    cpv_main: str | None = None
    cpv_additional: list[str] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    estimated_value: Decimal | None = None
    currency: str | None = None
    deadline: datetime | None = None
    framework_agreement: bool | None = None
    documents_url: str | None = None
    # the contract's planned period (BT-36 duration as ISO 8601 "P24M", BT-536 start, BT-537 end as
    # ISO dates): when the contract ends, a buyer will buy again (the regional calendar)
    duration: str | None = None
    contract_start: str | None = None
    contract_end: str | None = None
    # HILMA's statistics flags for the lot (smeParticipationConsidered, lowCarbon …), as published
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return pick_language(self.titles)


@dataclass
class Award:
    """One winner of one lot, or a lot that ended without a winner (``winner`` None)."""

    lot_id: str | None = None
    result: str | None = None  # BT-142: selec-w (winner chosen), clos-nw, open-nw
    winner: Organisation | None = None
    value: Decimal | None = None
    currency: str | None = None
    tenders_received: int | None = None
    contract_date: str | None = None  # ISO date of BT-145 when given


@dataclass
class NoticeItem:
    """One published notice version from any source."""

    # where it came from
    source: str  # "hilma", "ted" or "eforms" (an eForms file without a publisher id)
    source_id: str  # HILMA index id (EF-48640, OLD-…, PLAN-…); TED publication number
    url: str | None = None  # the public notice page
    published_at: datetime | None = None
    modified_at: datetime | None = None

    # identities that link versions, procedures and publishers
    notice_id: str | None = None  # eForms BT-701 (UUID)
    notice_version: str | None = None  # eForms BT-757 ("01")
    procedure_id: str | None = None  # eForms BT-04 ContractFolderID (UUID)
    publication_number: str | None = None  # TED OJS number without padding: 525037-2024
    hilma_notice_number: str | None = None  # HILMA publication number 2026-048640
    hilma_procedure_id: int | None = None  # HILMA procedureId (groups a procedure's notices)
    changed_notice: str | None = None  # BT-758: the notice this one changes (id-version or pub. no.)
    previous_notices: list[str] = field(default_factory=list)  # OPP-090 and HILMA previous* ids
    change_reason: str | None = None  # BT-140 reason code (cancel, update-add, cor-buy …)
    # The publisher marks this notice's procedure as cancelled without the notice being the
    # cancellation itself: HILMA flips isCancelled on the original notice of a cancelled procedure.
    cancelled: bool = False

    # what kind of notice
    kind: str = "contract_notice"  # one of NOTICE_KINDS
    notice_type: str | None = None  # BT-02 (cn-standard, can-standard, pin-only, corr …)
    form_type: str | None = None  # BT-03 (planning, competition, result, change …)
    subtype: str | None = None  # OPP-070 ("16", "29", "E3")
    legal_basis: str | None = None  # BT-01 (32014L0024, other …)
    national: bool | None = None  # below EU thresholds (HILMA E1–E6 or RegulatoryDomain other)
    language: str | None = None  # ISO 639-1 of the notice language

    # what is bought
    titles: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    cpv_main: str | None = None
    cpv_additional: list[str] = field(default_factory=list)
    contract_nature: str | None = None  # works, supplies, services
    procedure_type: str | None = None  # BT-105 (open, restricted, neg-w-call …)
    estimated_value: Decimal | None = None
    currency: str | None = None
    deadline: datetime | None = None  # earliest tender (or participation) deadline
    framework_agreement: bool | None = None
    documents_url: str | None = None
    # BT-127: when a prior information notice says the call for tenders will be published (ISO date)
    planned_date: str | None = None

    # who and where
    buyers: list[Organisation] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)  # procedure level and every lot
    lots: list[Lot] = field(default_factory=list)

    # results
    awards: list[Award] = field(default_factory=list)
    awarded_value: Decimal | None = None  # BT-161 notice total
    awarded_currency: str | None = None
    # HILMA's statistics flags for the whole notice (smeParticipationConsidered, lowCarbon,
    # innovationConsidered …: bool, or an int for howManyOpportunitiesIsEstimated); {} elsewhere
    statistics: dict[str, Any] = field(default_factory=dict)

    # whether the full document was joined to a search listing: "complete", "missing"
    # (the listing alone was stored; the next crawl tries again) or None (not applicable)
    enrichment: str | None = None

    # raw payloads, kept for audit and re-parsing: {"hilma-index": b"{…}", "eforms": b"<…>"}
    payloads: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str | None:
        return pick_language(self.titles)

    @property
    def description(self) -> str | None:
        return pick_language(self.descriptions)

    @property
    def buyer(self) -> Organisation | None:
        return self.buyers[0] if self.buyers else None

    @property
    def cpv(self) -> list[str]:
        """Main CPV first, then the additional ones and the lots', without repeats."""
        codes = [self.cpv_main] if self.cpv_main else []
        codes += self.cpv_additional
        for lot in self.lots:
            codes += ([lot.cpv_main] if lot.cpv_main else []) + lot.cpv_additional
        return list(dict.fromkeys(codes))

    @property
    def full_notice_id(self) -> str | None:
        """The eForms notice id with its version, as HILMA's ``fullEFormsId`` gives it."""
        if not self.notice_id:
            return None
        return f"{self.notice_id}-{self.notice_version or '01'}"

    @property
    def winners(self) -> list[Organisation]:
        """Distinct winning organisations over all lots."""
        seen: dict[str, Organisation] = {}
        for award in self.awards:
            if award.winner is not None:
                key = award.winner.business_id or award.winner.name or ""
                seen.setdefault(key, award.winner)
        return list(seen.values())

    def content(self) -> dict[str, Any]:
        """The parsed content as plain JSON-able data, without the raw payloads."""
        data = dataclasses.asdict(self)
        data.pop("payloads")
        return json.loads(json.dumps(data, default=_json_default))

    def content_hash(self) -> str:
        """SHA-256 of the parsed content: equal for a notice served again unchanged.

        Hashing the parsed content rather than the bytes ignores what changes between
        two responses without the notice changing (HILMA's ``@search.score``, key order).
        """
        return hash_content(self.content())


def hash_content(content: dict[str, Any]) -> str:
    """:meth:`NoticeItem.content_hash` of content already computed (the store needs both)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


#: Fields that say where a notice was published: the listing's, not the document's.
PUBLISHER_FIELDS: tuple[str, ...] = ("source", "source_id", "url", "published_at", "modified_at")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def combine(listing: NoticeItem, document: NoticeItem) -> NoticeItem:
    """Join what a search listing says about a notice with what its full document says.

    Both HILMA and TED list notices in a search index and serve the full eForms
    document separately. The document is richer and wins for content (lots, places,
    awards); the listing wins for where and when it was published and fills any field
    the document leaves empty. The result keeps both raw payloads.
    """
    merged = dataclasses.replace(document)
    for spec in dataclasses.fields(NoticeItem):
        name = spec.name
        mine, theirs = getattr(listing, name), getattr(document, name)
        if name in PUBLISHER_FIELDS:
            setattr(merged, name, theirs if _is_empty(mine) else mine)
        elif _is_empty(theirs):
            setattr(merged, name, mine)
    if listing.kind == "cancellation":
        merged.kind = "cancellation"  # the listing knows it was cancelled even if the document does not say why
    merged.cancelled = listing.cancelled or document.cancelled
    merged.payloads = {**listing.payloads, **document.payloads}
    return merged


# Every dataclass an item holds, so that :func:`cleaned` reaches a nested one it has not met yet.
for _kind in (Organisation, Place, Lot, Award, NoticeItem):
    _DATACLASS_FIELDS[_kind] = tuple(spec.name for spec in dataclasses.fields(_kind))
