"""Classifying stored tenders: from all of a tender's notices, saved next to staff overrides.

:func:`classify_notice` joins the region and sector classifiers (pure: an item in,
codes and evidence out). :func:`classify_tender` classifies a stored tender from all
of its notices and saves the result, where staff overrides take precedence
(:mod:`models.classification`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.classification.evidence import Evidence
from crawler.classification.regions import RegionResult, classify_regions
from crawler.classification.sectors import SectorResult, classify_sectors
from crawler.items import Lot, NoticeItem, Organisation, Place
from models.classification import ClassificationOverride, Regions, final_classification, save_classification
from models.notice import Buyer, Notice
from models.tender import Tender, TenderRegion, TenderSector

__all__ = ["Classification", "Evidence", "NewTenderRows", "classify_notice", "classify_tender", "tender_view"]


@dataclass(frozen=True)
class Classification:
    """Regions and sectors of one notice or tender, with the evidence for each code."""

    regions: RegionResult
    sectors: SectorResult

    @property
    def evidence(self) -> list[Evidence]:
        return [*self.regions.evidence, *self.sectors.evidence]


def classify_notice(item: NoticeItem) -> Classification:
    return Classification(regions=classify_regions(item), sectors=classify_sectors(item))


def classify_tender(
    session: Session,
    tender: Tender,
    *,
    notices: list[Notice] | None = None,
    overrides: dict[str, ClassificationOverride] | None = None,
    flush: bool = True,
    new_rows: NewTenderRows | None = None,
) -> bool:
    """Classify a stored tender from all of its notices and save it; True when its classification changed.

    A caller that holds the tender's notices (in :func:`tender_view`'s order) and its
    overrides in force passes them, to spare the queries, and may leave the flush to
    itself (the ingest batch does all three). The ingest batch also passes ``new_rows``:
    a tender it created (no id yet) gets its region and sector rows written there.
    """
    result = classify_notice(tender_view(session, tender, notices))
    regions = Regions(
        regions=list(result.regions.regions),
        subregions=list(result.regions.subregions),
        municipalities=list(result.regions.municipalities),
        nationwide=result.regions.nationwide,
    )
    sectors = list(result.sectors.sectors)
    evidence = [_record(evidence) for evidence in result.evidence]
    if new_rows is not None and new_rows.takes(tender, overrides):
        return new_rows.add(tender, regions, sectors, evidence)
    return save_classification(session, tender, regions, sectors, evidence, overrides=overrides, flush=flush)


class NewTenderRows:
    """The region and sector rows of tenders created in an ingest batch, written after the batch's flush.

    :func:`~models.classification.save_classification` builds a row object per region
    and sector (about four a tender) and lets the unit of work order them; for a tender
    that has no rows yet and no id, plain multi-row INSERTs once the tenders have their
    ids do the same for a fraction of the cost. The tender's own columns
    (``nationwide``, ``classification``, ``revision``) are set as that function sets them.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[Tender, set[tuple[str, str]], dict[str, int]]] = []

    def takes(self, tender: Tender, overrides: dict[str, ClassificationOverride] | None) -> bool:
        """Whether the tender is new to the database, without rows or overrides (pending: nothing is loaded)."""
        return tender.id is None and not overrides and not tender.regions and not tender.sectors

    def add(self, tender: Tender, regions: Regions, sectors: list[str], evidence: list[dict[str, Any]]) -> bool:
        wanted_regions, wanted_sectors, nationwide, record = final_classification(regions, sectors, evidence, {})
        tender.classification = record
        changed = bool(wanted_regions or wanted_sectors) or nationwide != tender.nationwide
        tender.nationwide = nationwide
        if changed:
            tender.touch()  # as save_classification does: a first classification is a change
        self._rows.append((tender, wanted_regions, wanted_sectors))
        return changed

    def write(self, session: Session) -> None:
        """Insert the rows (the tenders have their ids: call after the flush); their collections load afresh."""
        kept = [(tender, regions, sectors) for tender, regions, sectors in self._rows if tender.id is not None]
        self._rows.clear()
        regions = [
            {"tender_id": tender.id, "level": level, "code": code}
            for tender, wanted, _ in kept
            for level, code in sorted(wanted)
        ]
        sectors = [
            {"tender_id": tender.id, "slug": slug, "rank": rank}
            for tender, _, wanted in kept
            for slug, rank in wanted.items()
        ]
        if regions:
            session.execute(insert(TenderRegion.__table__), regions)
        if sectors:
            session.execute(insert(TenderSector.__table__), sectors)
        for tender, _, _ in kept:
            session.expire(tender, ["regions", "sectors"])


def tender_view(session: Session, tender: Tender, notices: list[Notice] | None = None) -> NoticeItem:
    """One item that says everything the tender's notices say, for the classifiers.

    Places are the union over the notices; texts are joined per language (a later
    notice may name a place an earlier one left out); CPV codes and the buyer are the
    tender's current ones, which come from its latest notices.
    """
    if notices is None:
        notices = list(
            session.scalars(
                select(Notice)
                .where(Notice.tender_id == tender.id, Notice.status == "ok")
                .order_by(Notice.published_at, Notice.id)
            )
        )
    titles: dict[str, list[str]] = {}
    descriptions: dict[str, list[str]] = {}
    places: list[Place] = []
    lots: dict[str, Lot] = {}
    for notice in notices:
        _collect(titles, notice.titles or {})
        _collect(descriptions, notice.descriptions or {})
        places += [_place(place) for place in notice.places or []]
        for lot in notice.lots or []:
            lots[lot.get("id") or str(len(lots))] = _lot(lot)
    # by id: a tender of the ingest batch is classified before its row is sent, when only
    # its buyer_id is set (the buyer itself is in the session, so this costs no query)
    buyer = session.get(Buyer, tender.buyer_id) if tender.buyer_id is not None else tender.buyer
    cpv = list(tender.cpv or [])
    if tender.cpv_main and tender.cpv_main in cpv:
        cpv.remove(tender.cpv_main)
    return NoticeItem(
        source="tender",
        source_id=str(tender.id),
        titles={language: "\n".join(texts) for language, texts in titles.items()},
        descriptions={language: "\n".join(texts) for language, texts in descriptions.items()},
        cpv_main=tender.cpv_main,
        cpv_additional=cpv,
        buyers=[_organisation(buyer)] if buyer is not None else [],
        places=list({_place_key(place): place for place in places}.values()),
        lots=list(lots.values()),
    )


def _collect(into: dict[str, list[str]], texts: dict[str, str]) -> None:
    for language, text in texts.items():
        if text and text not in into.setdefault(language, []):
            into[language].append(text)


# The ingest classifies every tender a batch touches: these stand for dataclasses.asdict and
# astuple, which deep-copy each (immutable) string, on flat records of strings.
_EVIDENCE_FIELDS = tuple(spec.name for spec in dataclasses.fields(Evidence))
_PLACE_FIELDS = tuple(spec.name for spec in dataclasses.fields(Place))
_PLACE_NAMES = frozenset(_PLACE_FIELDS)


def _record(evidence: Evidence) -> dict[str, Any]:
    return {name: getattr(evidence, name) for name in _EVIDENCE_FIELDS}


def _place_key(place: Place) -> tuple[Any, ...]:
    return tuple(getattr(place, name) for name in _PLACE_FIELDS)


def _place(data: dict[str, Any]) -> Place:
    return Place(**{key: value for key, value in data.items() if key in _PLACE_NAMES})


def _lot(data: dict[str, Any]) -> Lot:
    return Lot(
        id=data.get("id") or "",
        titles=dict(data.get("titles") or {}),
        descriptions=dict(data.get("descriptions") or {}),
        cpv_main=data.get("cpv_main"),
        cpv_additional=list(data.get("cpv_additional") or []),
        places=[_place(place) for place in data.get("places") or []],
    )


def _organisation(buyer: Any) -> Organisation:
    return Organisation(
        name=buyer.name,
        business_id=buyer.business_id,
        street=buyer.street,
        postcode=buyer.postcode,
        town=buyer.town,
        country=buyer.country,
        nuts=buyer.nuts,
        legal_type=buyer.legal_type,
    )


def reclassify_all(
    sessions: sessionmaker[Session], *, batch: int = 200, progress: Callable[[int, int, int], None] | None = None
) -> tuple[int, int]:
    """Classify every stored tender again (after the data files changed): (tenders, changed).

    Works in batches, each its own transaction, so that a long run shows progress and
    an interruption keeps what was done; staff overrides stay in force.
    """
    with sessions() as session:
        ids = list(session.scalars(select(Tender.id).order_by(Tender.id)))
    changed = 0
    for start in range(0, len(ids), batch):
        with sessions() as session, session.begin():
            for tender in session.scalars(select(Tender).where(Tender.id.in_(ids[start : start + batch]))):
                changed += classify_tender(session, tender)
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids), changed)
    return len(ids), changed
