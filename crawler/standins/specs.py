"""What one sample notice says, independent of the format it is rendered in.

A :class:`NoticeSpec` is rendered three ways: as eForms UBL XML
(:mod:`crawler.standins.eforms_builder`), as a HILMA ``eformnotices-v2`` index
document (:mod:`crawler.standins.hilma_index`) and as TED search fields
(:mod:`crawler.standins.ted_fields`). Keeping one description and three renderers
is what makes the stand-ins agree with each other: a title, a deadline or a winner
cannot differ between the XML and the index document because both come from here.

Texts are dicts keyed by ISO 639-1 code (``fi``, ``sv``, ``en``) like
:class:`crawler.items.NoticeItem`; the renderers translate to the codes each format
uses (``FIN`` in eForms, ``fin`` in TED, ``Fi`` suffixes in HILMA).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

#: eForms notice subtypes (OPP-070) the builder can render, grouped by what they are.
PLANNING_SUBTYPES = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "E2"})
PIN_COMPETITION_SUBTYPES = frozenset({"10", "11", "12", "13", "14"})
CONTRACT_SUBTYPES = frozenset({str(n) for n in range(15, 25)} | {"E1", "E3"})
RESULT_SUBTYPES = frozenset({str(n) for n in range(25, 41)} | {"E4", "E5", "E6"})
SUBTYPES = PLANNING_SUBTYPES | PIN_COMPETITION_SUBTYPES | CONTRACT_SUBTYPES | RESULT_SUBTYPES

#: HILMA statistics flags, in the order the index and the read API give them, with the
#: value a notice has when the buyer did not answer.
STATISTICS_DEFAULTS: dict[str, bool | int | None] = {
    "energyEfficiencyConsidered": False,
    "lowCarbon": False,
    "circularEconomy": False,
    "biodiversity": False,
    "sustainableFoodProduction": False,
    "listedGreenCriteriaUsed": None,
    "justWorkingConditions": False,
    "employmentCondition": False,
    "howManyOpportunitiesIsEstimated": None,
    "codeOfConduct": False,
    "innovationConsidered": False,
    "solutionNewToBuyer": False,
    "solutionNewToMarketOrIndustry": False,
    "smeParticipationConsidered": False,
    "endUserInvolved": None,
}

_LOT_ID = re.compile(r"^(LOT|PAR)-\d{4}$")
_CPV = re.compile(r"^\d{8}$")
_NUTS3 = re.compile(r"^[A-Z]{2}[0-9A-Z]{3}$")
_TED_NUMBER = re.compile(r"^[1-9]\d{0,7}-\d{4}$")


@dataclass(frozen=True)
class OrganisationSpec:
    """A buyer, an eSender, a review body or a winner (eForms ``efac:Company``)."""

    name: str
    business_id: str | None = None  # BT-501: Y-tunnus for Finnish organisations
    street: str | None = None
    postcode: str | None = None
    town: str | None = None
    nuts: str | None = None  # BT-507, NUTS 3 (2024)
    country: str = "FIN"  # ISO 3166-1 alpha-3, as eForms writes it
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    legal_type: str | None = None  # BT-11 buyer legal type (la, ra, cga, body-pl …)
    activity: str | None = None  # BT-10 authority activity (gen-pub, health, educ …)
    size: str | None = None  # BT-165 winner size (micro, small, medium, large)
    language: str = "fi"  # the language the name is written in
    # False: notices name the organisation, its business ID and country only (no address, size or
    # contacts), as some award notices do; where the firm is must then come from the company register
    address_in_notice: bool = True


@dataclass(frozen=True)
class PlaceSpec:
    """A place of performance (``cac:RealizedLocation``).

    ``nuts`` is a NUTS 3 code or nothing: eForms allows only level 3 there, so a
    place known only as "Finland" is a place with ``country`` and no ``nuts`` (HILMA's
    index then shows ``FI``).
    """

    nuts: str | None = None
    town: str | None = None
    postcode: str | None = None
    street: str | None = None
    country: str | None = "FIN"
    description: str | None = None  # BT-728 free text, in the notice language

    def __post_init__(self) -> None:
        if self.nuts is not None and not _NUTS3.match(self.nuts):
            raise ValueError(f"place NUTS must be a NUTS 3 code, got {self.nuts!r}")


@dataclass(frozen=True)
class LotSpec:
    """A lot (``LOT-nnnn``) or, in a planning notice, a part (``PAR-nnnn``)."""

    id: str
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    cpv_main: str
    cpv_additional: tuple[str, ...] = ()
    places: tuple[PlaceSpec, ...] = ()
    estimated_value: Decimal | None = None
    deadline: datetime | None = None  # BT-131, timezone-aware
    framework_agreement: bool = False
    dynamic_purchasing_system: bool = False
    documents_url: str | None = None  # BT-15
    duration_months: int | None = None  # BT-36

    def __post_init__(self) -> None:
        if not _LOT_ID.match(self.id):
            raise ValueError(f"lot id must look like LOT-0001 or PAR-0000, got {self.id!r}")
        for code in (self.cpv_main, *self.cpv_additional):
            if not _CPV.match(code):
                raise ValueError(f"CPV codes are 8 digits without the check digit, got {code!r}")
        if self.deadline is not None and self.deadline.tzinfo is None:
            raise ValueError("lot deadlines must be timezone-aware")


@dataclass(frozen=True)
class TenderSpec:
    """A winning tender: who won and for how much (BT-720)."""

    winner: OrganisationSpec
    value: Decimal | None = None
    contract_date: date | None = None  # BT-145


@dataclass(frozen=True)
class LotAwardSpec:
    """The result of one lot (``efac:LotResult``); several winners = a multi-supplier framework."""

    lot_id: str
    result: str = "selec-w"  # BT-142: selec-w, clos-nw, open-nw
    tenders_received: int | None = None  # BT-759
    winners: tuple[TenderSpec, ...] = ()

    @property
    def value(self) -> Decimal | None:
        values = [tender.value for tender in self.winners if tender.value is not None]
        return sum(values, Decimal(0)) if values else None


@dataclass(frozen=True)
class ChangeSpec:
    """What a change notice changes (``efac:Changes``)."""

    changed_notice: str  # BT-758: "<uuid>-<version>" of the notice being changed
    reason: str  # BT-140: update-add, cor-buy, cancel …
    descriptions: Mapping[str, str] = field(default_factory=dict)  # BT-141 per language
    sections: tuple[str, ...] = ("PROCEDURE",)  # BT-13716


@dataclass(frozen=True)
class TedPublication:
    """Where TED published the notice (``efac:Publication``, OPP-010/011/012)."""

    number: str  # "612345-2026", without TED's zero padding
    date: date
    gazette: str  # OJ S issue, "123/2026"

    def __post_init__(self) -> None:
        if not _TED_NUMBER.match(self.number):
            raise ValueError(f"TED publication numbers look like 612345-2026, got {self.number!r}")

    @property
    def padded(self) -> str:
        """The form written in the XML: ``00612345-2026``."""
        serial, year = self.number.split("-")
        return f"{int(serial):08d}-{year}"


@dataclass(frozen=True)
class PreviousNotice:
    """The identities of an earlier notice, as HILMA lists them in its ``previous*`` arrays."""

    search_id: str  # "EF-90012"
    notice_number: str  # "2026-090012"
    eforms_id: str
    full_eforms_id: str
    contract_folder_id: str
    ted_publication_id: str | None = None


@dataclass(frozen=True)
class HilmaRecord:
    """What HILMA adds to a notice: its own ids, publication times and statistics."""

    notice_id: int  # 0 for plans
    procedure_id: int
    published_at: datetime  # datePublished (aware)
    modified_at: datetime | None = None  # dateModified; published_at + 11 ms when None
    plan_id: int = 0
    previous: tuple[PreviousNotice, ...] = ()
    linked_notices: str = ""  # TED publication number of a linked notice
    sending_system: str = "Hilma"
    tendering_in_hilma: bool = False
    cancelled: bool = False  # flipped on the original notice when a cancellation is published
    statistics: Mapping[str, bool | int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("HILMA publication times must be timezone-aware")
        unknown = set(self.statistics) - set(STATISTICS_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown HILMA statistics flags: {sorted(unknown)}")

    @property
    def search_id(self) -> str:
        return f"PLAN-{self.plan_id}" if self.plan_id else f"EF-{self.notice_id}"

    @property
    def notice_number(self) -> str:
        """HILMA's publication number ``YYYY-NNNNNN`` (empty for plans)."""
        if self.plan_id:
            return ""
        return f"{self.published_at.year}-{self.notice_id:06d}"

    def statistic_values(self) -> dict[str, bool | int | None]:
        return {**STATISTICS_DEFAULTS, **self.statistics}


@dataclass(frozen=True)
class NoticeSpec:
    """One notice version: the content every renderer reads.

    A procurement plan (HILMA ``PLAN-``) is a spec without ``subtype`` and without
    ``notice_id``: it exists only in HILMA's index and has no eForms XML.
    """

    notice_id: str | None  # BT-701 UUID
    procedure_id: str | None  # BT-04 ContractFolderID
    subtype: str | None  # OPP-070: "16", "29", "E3" …
    issued_at: datetime  # BT-05 dispatch date and time (aware)
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]
    buyer: OrganisationSpec
    contract_nature: str  # BT-23: works, supplies, services
    cpv_main: str
    cpv_additional: tuple[str, ...] = ()
    places: tuple[PlaceSpec, ...] = ()
    lots: tuple[LotSpec, ...] = ()
    estimated_value: Decimal | None = None
    currency: str = "EUR"
    procedure_type: str | None = "open"  # BT-105 (absent in planning notices)
    language: str = "fi"  # BT-702 notice language
    version: str = "01"  # BT-757
    legal_basis: str | None = None  # BT-01; derived from the subtype when None
    awards: tuple[LotAwardSpec, ...] = ()
    change: ChangeSpec | None = None
    previous_notice: str | None = None  # OPP-090: "<uuid>-01" of the notice this one follows
    planned_date: date | None = None  # BT-127 future notice date (PIN)
    ted_publication: TedPublication | None = None
    esender: OrganisationSpec | None = None
    review_body: OrganisationSpec | None = None
    hilma: HilmaRecord | None = None

    def __post_init__(self) -> None:
        if self.subtype is None:
            if self.hilma is None or not self.hilma.plan_id:
                raise ValueError("a spec without a subtype must be a HILMA procurement plan")
        elif self.subtype not in SUBTYPES:
            raise ValueError(f"unknown eForms notice subtype {self.subtype!r}")
        elif not self.notice_id or not self.procedure_id:
            raise ValueError("an eForms notice needs a notice id and a procedure id")
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")
        if self.contract_nature not in ("works", "supplies", "services"):
            raise ValueError(f"contract nature must be works, supplies or services, got {self.contract_nature!r}")
        lot_ids = [lot.id for lot in self.lots]
        if len(set(lot_ids)) != len(lot_ids):
            raise ValueError(f"lot ids repeat: {lot_ids}")
        for award in self.awards:
            if award.lot_id not in lot_ids:
                raise ValueError(f"award for {award.lot_id}, which is not a lot of this notice")

    @property
    def kind(self) -> str:
        """What the notice is for a reader: one of :data:`crawler.items.NOTICE_KINDS`."""
        if self.subtype is None:
            return "plan"
        if self.change is not None:
            return "cancellation" if self.change.reason == "cancel" else "correction"
        if self.subtype in PLANNING_SUBTYPES:
            return "prior_information"
        if self.subtype in RESULT_SUBTYPES:
            return "award"
        return "contract_notice"

    @property
    def national(self) -> bool:
        """Below the EU thresholds: HILMA's national E-subtypes."""
        return self.subtype is not None and self.subtype.startswith("E")

    @property
    def full_notice_id(self) -> str | None:
        return f"{self.notice_id}-{self.version}" if self.notice_id else None

    @property
    def deadline(self) -> datetime | None:
        """The earliest tender deadline over the lots, as readers of a notice see it."""
        deadlines = [lot.deadline for lot in self.lots if lot.deadline is not None]
        return min(deadlines) if deadlines else None

    @property
    def winners(self) -> list[OrganisationSpec]:
        """Distinct winners over all lots, in the order they first appear."""
        seen: dict[str, OrganisationSpec] = {}
        for award in self.awards:
            for tender in award.winners:
                seen.setdefault(tender.winner.business_id or tender.winner.name, tender.winner)
        return list(seen.values())

    @property
    def awarded_value(self) -> Decimal | None:
        """BT-161: the sum of the winning tenders' values."""
        values = [award.value for award in self.awards if award.value is not None]
        return sum(values, Decimal(0)) if values else None

    def all_cpv(self) -> list[str]:
        """Procedure CPV codes then the lots', without repeats (the order HILMA lists them)."""
        codes = [self.cpv_main, *self.cpv_additional]
        for lot in self.lots:
            codes += [lot.cpv_main, *lot.cpv_additional]
        return list(dict.fromkeys(codes))

    def all_places(self) -> list[PlaceSpec]:
        return [*self.places, *(place for lot in self.lots for place in lot.places)]


def previous_reference(spec: NoticeSpec) -> PreviousNotice:
    """The ``previous*`` entry that a later notice of the same procedure lists for ``spec``."""
    if spec.hilma is None or spec.notice_id is None or spec.procedure_id is None:
        raise ValueError("only a HILMA eForms notice can be referred to as a previous notice")
    return PreviousNotice(
        search_id=spec.hilma.search_id,
        notice_number=spec.hilma.notice_number,
        eforms_id=spec.notice_id,
        full_eforms_id=f"{spec.notice_id}-{spec.version}",
        contract_folder_id=spec.procedure_id,
        ted_publication_id=spec.ted_publication.number if spec.ted_publication else None,
    )
