"""The project's own sample of tenders, with dates relative to today, for the stand-ins and the demo.

``sample/notices.json`` is written to be read by a person: a list of procurement
procedures, each with its buyer, what is bought and the notices it went through
(prior information → contract notice → correction → award). Dates there are day
offsets from today ("published": -18, "deadline": 16 means 12:00 Helsinki time
sixteen days from now), resolved by :func:`load_sample`, so the demo never shows a
sample that has aged into the past.

Ids are derived from the file, not from today: notice and procedure UUIDs from the
procedure keys, HILMA notice ids and TED publication numbers from the order of
publication. Loading the sample twice gives the same notices, only the dates move.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawler.standins.eforms_builder import HILMA_ESENDER, MARKKINAOIKEUS, build_eforms_xml
from crawler.standins.hilma_index import hilma_index_document
from crawler.standins.specs import (
    PLANNING_SUBTYPES,
    RESULT_SUBTYPES,
    STATISTICS_DEFAULTS,
    ChangeSpec,
    HilmaRecord,
    LotAwardSpec,
    LotSpec,
    NoticeSpec,
    OrganisationSpec,
    PlaceSpec,
    TedPublication,
    TenderSpec,
    previous_reference,
)
from crawler.standins.ted_fields import TedSampleNotice, ted_notice

SAMPLE_FILE = Path(__file__).parent / "sample" / "notices.json"
HELSINKI = ZoneInfo("Europe/Helsinki")
#: Finnish public holidays on fixed dates (and Christmas Eve): no buyer sets a deadline on them.
FIXED_HOLIDAYS = frozenset({(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)})
_NAMESPACE = uuid.UUID("6f1c1d8e-2f4b-4e55-9a7e-3c1b9a0d5e21")  # the sample's own UUID namespace

# Where the sample's ids start. HILMA ids and TED numbers grow with publication order
# and skip values, as other publishers' notices fall in between in the real services.
_FIRST_HILMA_NOTICE_ID, _HILMA_ID_STEP = 53101, 3
_FIRST_HILMA_PROCEDURE_ID = 34001
_FIRST_PLAN_ID = 2201
_FIRST_TED_SERIAL, _TED_SERIAL_STEP = 600127, 41


@dataclass(frozen=True)
class SampleData:
    """The sample resolved for one day, in the forms the stand-ins serve."""

    today: date
    specs: list[NoticeSpec]  # every notice (HILMA ones, plans and TED-only ones), in file order
    hilma_documents: list[dict[str, Any]]  # index documents, in file order
    hilma_eforms: dict[int, bytes]  # HILMA noticeId → eForms XML as HILMA stores it
    ted_notices: list[TedSampleNotice]  # notices on TED: HILMA's EU notices and TED-only ones
    cpv_labels: dict[str, dict[str, str]]
    # every organisation of the file by its key, as the file knows it: a winner whose notices leave the
    # address out still has it here (what the company register would answer)
    organisations: dict[str, OrganisationSpec]

    @property
    def oldest(self) -> date:
        """The day the oldest notice was published (Helsinki time): how far back a crawl must go to get them all."""
        return min(
            (spec.hilma.published_at if spec.hilma else spec.issued_at).astimezone(HELSINKI).date()
            for spec in self.specs
        )


def load_sample(today: date | None = None, path: Path = SAMPLE_FILE) -> SampleData:
    """Read the sample and resolve its relative dates against ``today`` (default: today in Helsinki)."""
    today = today or datetime.now(HELSINKI).date()
    raw = json.loads(path.read_text(encoding="utf-8"))
    builder = _SampleBuilder(raw, today)
    specs = builder.build()
    return SampleData(
        today=today,
        specs=specs,
        hilma_documents=[hilma_index_document(spec) for spec in specs if spec.hilma is not None],
        hilma_eforms={
            spec.hilma.notice_id: build_eforms_xml(replace(spec, ted_publication=None))
            for spec in specs
            if spec.hilma is not None and spec.subtype is not None
        },
        ted_notices=[ted_notice(spec, builder.cpv_labels) for spec in specs if spec.ted_publication is not None],
        cpv_labels=builder.cpv_labels,
        organisations=dict(builder.organisations),
    )


@dataclass(frozen=True)
class _Entry:
    """One notice of the file with its resolved publication time."""

    procedure: Mapping[str, Any]
    notice: Mapping[str, Any]
    key: str
    published_at: datetime

    @property
    def on_hilma(self) -> bool:
        return bool(self.procedure.get("hilma", True))

    @property
    def is_plan(self) -> bool:
        return self.notice.get("subtype") == "plan"


class _SampleBuilder:
    def __init__(self, raw: Mapping[str, Any], today: date) -> None:
        self.today = today
        self.cpv_labels: dict[str, dict[str, str]] = dict(raw.get("cpv_labels", {}))
        self.organisations = {key: _organisation(value) for key, value in raw["organisations"].items()}
        self.procedures: list[Mapping[str, Any]] = raw["procedures"]
        self.entries = [
            _Entry(procedure, notice, f"{procedure['key']}#{index}", self._published(procedure, index, notice))
            for procedure in self.procedures
            for index, notice in enumerate(procedure["notices"])
        ]
        self._number_notices()

    # -- ids ---------------------------------------------------------------------------------

    def _number_notices(self) -> None:
        """HILMA ids, plan ids and TED numbers follow the order of publication (stable across days)."""
        by_time = sorted(self.entries, key=lambda entry: (entry.published_at, entry.key))
        hilma_notices = [e for e in by_time if e.on_hilma and not e.is_plan]
        plans = [e for e in by_time if e.is_plan]
        on_ted = [e for e in by_time if e.notice.get("ted")]
        self.hilma_ids = {e.key: _FIRST_HILMA_NOTICE_ID + rank * _HILMA_ID_STEP for rank, e in enumerate(hilma_notices)}
        self.plan_ids = {e.key: _FIRST_PLAN_ID + rank for rank, e in enumerate(plans)}
        self.ted_serials = {e.key: _FIRST_TED_SERIAL + rank * _TED_SERIAL_STEP for rank, e in enumerate(on_ted)}
        self.procedure_ids = {p["key"]: _FIRST_HILMA_PROCEDURE_ID + n for n, p in enumerate(self.procedures)}

    # -- building ----------------------------------------------------------------------------

    def build(self) -> list[NoticeSpec]:
        specs: list[NoticeSpec] = []
        entries = iter(self.entries)
        for procedure in self.procedures:
            earlier: list[NoticeSpec] = []
            for _ in procedure["notices"]:
                entry = next(entries)
                try:
                    spec = self._spec(entry, earlier)
                except (KeyError, ValueError, TypeError) as error:
                    raise ValueError(f"sample notice {entry.key}: {error}") from error
                earlier.append(spec)
                specs.append(spec)
        return _flip_cancelled(specs)

    def _spec(self, entry: _Entry, earlier: list[NoticeSpec]) -> NoticeSpec:
        procedure, notice = entry.procedure, entry.notice
        subtype = None if entry.is_plan else str(notice["subtype"])
        planning = subtype is None or subtype in PLANNING_SUBTYPES
        result = subtype in RESULT_SUBTYPES
        competition = not planning and not result
        value = _decimal(notice.get("value", procedure.get("value")))
        deadline = self._deadline(notice["deadline"]) if competition and "deadline" in notice else None
        documents_url = notice.get("documents_url", procedure.get("documents_url")) if competition else None
        if documents_url:  # tendering in HILMA itself: the link names HILMA's procedure id
            documents_url = documents_url.replace("{procedureId}", str(self.procedure_ids[procedure["key"]]))
        # A procurement plan is a line in the buyer's plan, not divided into lots yet.
        lots = () if subtype is None else self._lots(procedure, value, deadline, documents_url, planning=planning)
        change = self._change(notice, earlier, lots) if "change" in notice else None
        ted_publication = self._ted_publication(entry) if notice.get("ted") else None
        national = subtype is not None and subtype.startswith("E")
        issued_at = entry.published_at - (
            timedelta(minutes=4) if national or not ted_publication else timedelta(days=2)
        )
        previous_notice = None
        if change is None and earlier and subtype is not None:
            # OPP-090: a contract notice follows its PIN, an award follows the last competition notice.
            previous = [s for s in earlier if s.subtype is not None and (result or s.kind == "prior_information")]
            previous_notice = previous[-1].full_notice_id if previous else None
        spec = NoticeSpec(
            notice_id=None if subtype is None else str(uuid.uuid5(_NAMESPACE, f"notice:{entry.key}")),
            procedure_id=None if subtype is None else str(uuid.uuid5(_NAMESPACE, f"procedure:{procedure['key']}")),
            subtype=subtype,
            issued_at=issued_at,
            titles=procedure["title"],
            descriptions=procedure["description"],
            buyer=self.organisations[procedure["buyer"]],
            contract_nature=procedure["nature"],
            cpv_main=procedure["cpv"][0],
            cpv_additional=tuple(procedure["cpv"][1:]),
            places=tuple(_place(place) for place in procedure.get("places", [])),
            lots=lots,
            estimated_value=value,
            procedure_type=None if planning else procedure.get("procedure_type", "open"),
            language=procedure.get("language", "fi"),
            legal_basis=procedure.get("legal_basis"),
            awards=self._awards(notice, lots, entry.published_at),
            change=change,
            previous_notice=previous_notice,
            planned_date=self.today + timedelta(days=notice["planned_in_days"])
            if "planned_in_days" in notice
            else None,
            ted_publication=ted_publication,
            esender=HILMA_ESENDER if entry.on_hilma else self._optional_organisation(procedure.get("esender")),
            review_body=self._optional_organisation(procedure.get("review_body", "markkinaoikeus")),
            hilma=self._hilma_record(entry, change, earlier, notice) if entry.on_hilma else None,
        )
        return spec

    def _lots(
        self,
        procedure: Mapping[str, Any],
        value: Decimal | None,
        deadline: datetime | None,
        documents_url: str | None,
        *,
        planning: bool,
    ) -> tuple[LotSpec, ...]:
        """The procedure's lots; a procedure without ``lots`` is one lot with the procedure's content."""
        raw_lots = procedure.get("lots")
        if not raw_lots:
            raw_lots = [
                {
                    "title": procedure["title"],
                    "description": procedure["description"],
                    "places": procedure.get("places", []),
                    "value": value,
                }
            ]
        prefix = "PAR" if planning else "LOT"
        first = int(procedure.get("first_lot", 1 if len(raw_lots) > 1 else 0))
        return tuple(
            LotSpec(
                id=f"{prefix}-{first + index:04d}",
                titles=lot["title"],
                descriptions=lot["description"],
                cpv_main=lot.get("cpv", procedure["cpv"])[0],
                cpv_additional=tuple(lot.get("cpv", procedure["cpv"])[1:]),
                places=tuple(_place(place) for place in lot.get("places", [])),
                estimated_value=_decimal(lot.get("value")),
                deadline=deadline,
                framework_agreement=bool(lot.get("framework", procedure.get("framework", False))),
                documents_url=documents_url,
                duration_months=lot.get("duration_months", procedure.get("duration_months")),
            )
            for index, lot in enumerate(raw_lots)
        )

    def _awards(
        self, notice: Mapping[str, Any], lots: tuple[LotSpec, ...], published_at: datetime
    ) -> tuple[LotAwardSpec, ...]:
        """The notice's lot results; contracts are signed six days before the notice unless it says otherwise.

        ``"contract_date": -400`` gives the signing day as an offset from today (so a contract signed in one
        quarter can be published in the next), ``null`` leaves BT-145 out.
        """
        if "contract_date" in notice:
            offset = notice["contract_date"]
            contract_date = None if offset is None else self.today + timedelta(days=int(offset))
        else:
            contract_date = published_at.astimezone(HELSINKI).date() - timedelta(days=6)
        return tuple(
            LotAwardSpec(
                lot_id=lots[award["lot"] - 1].id,
                result=award.get("result", "selec-w" if award.get("winners") else "clos-nw"),
                tenders_received=award.get("tenders"),
                winners=tuple(
                    TenderSpec(
                        _as_published(self.organisations[winner["org"]]), _decimal(winner.get("value")), contract_date
                    )
                    for winner in award.get("winners", [])
                ),
            )
            for award in notice.get("awards", [])
        )

    def _change(self, notice: Mapping[str, Any], earlier: list[NoticeSpec], lots: tuple[LotSpec, ...]) -> ChangeSpec:
        raw = notice["change"]
        changed = next((spec for spec in reversed(earlier) if spec.full_notice_id), None)
        if changed is None or changed.full_notice_id is None:
            raise ValueError("a change notice needs an earlier notice of the same procedure")
        sections = raw.get("sections", ["PROCEDURE"])
        if sections == ["lots"]:
            sections = [lot.id for lot in lots]
        return ChangeSpec(
            changed_notice=changed.full_notice_id,
            reason=raw["reason"],
            descriptions=raw["description"],
            sections=tuple(sections),
        )

    def _hilma_record(
        self, entry: _Entry, change: ChangeSpec | None, earlier: list[NoticeSpec], notice: Mapping[str, Any]
    ) -> HilmaRecord:
        procedure = entry.procedure
        previous = ()
        if change is not None:
            changed = next(spec for spec in earlier if spec.full_notice_id == change.changed_notice)
            previous = (previous_reference(changed),)
        linked = ""
        if entry.notice.get("subtype") in RESULT_SUBTYPES:
            numbers = [spec.ted_publication.number for spec in earlier if spec.ted_publication is not None]
            linked = numbers[-1] if numbers else ""
        return HilmaRecord(
            notice_id=self.hilma_ids.get(entry.key, 0),
            procedure_id=self.procedure_ids[procedure["key"]],
            published_at=entry.published_at,
            plan_id=self.plan_ids.get(entry.key, 0),
            previous=previous,
            linked_notices=linked,
            sending_system=procedure.get("sending_system", "Hilma"),
            tendering_in_hilma=bool(procedure.get("tendering_in_hilma", False)),
            statistics=_statistics(procedure),
        )

    def _ted_publication(self, entry: _Entry) -> TedPublication:
        published = entry.published_at.astimezone(HELSINKI).date()
        return TedPublication(
            number=f"{self.ted_serials[entry.key]}-{published.year}",
            date=published,
            gazette=f"{_oj_issue(published)}/{published.year}",
        )

    def _optional_organisation(self, key: str | None) -> OrganisationSpec | None:
        if key is None:
            return None
        if key == "markkinaoikeus":
            return MARKKINAOIKEUS
        return self.organisations[key]

    # -- dates -------------------------------------------------------------------------------

    def _published(self, procedure: Mapping[str, Any], index: int, notice: Mapping[str, Any]) -> datetime:
        """``-18`` → 18 days ago at a working-hours time derived from the notice key (stable, varied)."""
        days, clock = _offset(notice["published"])
        digest = hashlib.sha256(f"{procedure['key']}#{index}".encode()).digest()
        if clock is None:
            clock = time(8 + digest[0] % 8, digest[1] % 60, digest[2] % 60)
        moment = datetime.combine(self.today + timedelta(days=days), clock, HELSINKI)
        return moment + timedelta(milliseconds=int.from_bytes(digest[3:5]) % 1000)

    def _deadline(self, value: Any) -> datetime:
        """``16`` → 12:00 Helsinki time sixteen days from today, moved off weekends and holidays."""
        days, clock = _offset(value)
        day = self.today + timedelta(days=days)
        while day.weekday() >= 5 or (day.month, day.day) in FIXED_HOLIDAYS:
            day += timedelta(days=1)
        return datetime.combine(day, clock or time(12, 0), HELSINKI)


def _offset(value: Any) -> tuple[int, time | None]:
    """``-18`` or ``[-18, "09:15"]``."""
    if isinstance(value, list):
        days, clock = value
        hours, minutes = (int(part) for part in clock.split(":"))
        return int(days), time(hours, minutes)
    return int(value), None


def _flip_cancelled(specs: list[NoticeSpec]) -> list[NoticeSpec]:
    """A cancellation marks the notice it cancels as cancelled in HILMA's index (``dateModified`` moves)."""
    cancelled = {
        spec.change.changed_notice: spec.hilma.published_at
        for spec in specs
        if spec.change is not None and spec.change.reason == "cancel" and spec.hilma is not None
    }
    flipped = []
    for spec in specs:
        when = cancelled.get(spec.full_notice_id or "")
        if when is not None and spec.hilma is not None:
            spec = replace(spec, hilma=replace(spec.hilma, cancelled=True, modified_at=when + timedelta(seconds=2)))
        flipped.append(spec)
    return flipped


def _oj_issue(day: date) -> int:
    """The OJ S issue number: TED publishes one issue each working day."""
    start = date(day.year, 1, 1)
    return sum(1 for n in range((day - start).days + 1) if (start + timedelta(days=n)).weekday() < 5) or 1


def _organisation(raw: Mapping[str, Any]) -> OrganisationSpec:
    return OrganisationSpec(**raw)


def _as_published(organisation: OrganisationSpec) -> OrganisationSpec:
    """A winner as its award notices show it: without the address when the sample says the notice leaves it out.

    The sample keeps the firm's address (what the company register would answer); the
    notice then gives its name, business ID and country only.
    """
    if organisation.address_in_notice:
        return organisation
    return OrganisationSpec(
        name=organisation.name,
        business_id=organisation.business_id,
        country=organisation.country,
        language=organisation.language,
        address_in_notice=False,
    )


def _statistics(procedure: Mapping[str, Any]) -> dict[str, bool | int | None]:
    """The procedure's HILMA statistics flags; ``"statistics": null`` means the buyer answered none of them."""
    statistics = procedure.get("statistics", {})
    if statistics is None:
        return dict.fromkeys(STATISTICS_DEFAULTS)
    return dict(statistics)


def _place(raw: Mapping[str, Any]) -> PlaceSpec:
    return PlaceSpec(**raw)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
