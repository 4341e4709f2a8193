"""A tender's classification as stored: its regions and sectors, the evidence, and staff overrides.

The classifier (``crawler/classification``) computes regions and sectors from the
notices; :func:`save_classification` stores them, except where a staff member has
overridden an aspect: an override is a row of its own, with who and when, so it
survives re-crawls (which recompute the classification) and ``reclassify`` (which
recomputes every tender), and the alerts and lists follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, one_of
from models.tender import Tender, TenderRegion, TenderSector
from models.types import Json, UtcDateTime

ASPECTS = ("regions", "sectors")


class ClassificationOverride(Base):
    """A staff member's correction of one aspect of a tender's classification.

    Rows are kept as a history; the newest row of an aspect is the one in force, and a
    row with ``value`` None lifts the override (the computed classification applies again).
    """

    __tablename__ = "classification_overrides"
    __table_args__ = (
        CheckConstraint(one_of("aspect", ASPECTS), name="aspect"),
        Index("ix_classification_overrides_tender_aspect", "tender_id", "aspect", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"))
    aspect: Mapped[str] = mapped_column(String(16))
    # regions: {"regions": [...], "subregions": [...], "municipalities": [...], "nationwide": bool}
    # sectors: {"sectors": [...]}; None: the override is lifted
    value: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    author: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass
class Regions:
    """Region codes at each level, and whether the work is for the whole country."""

    regions: list[str] = field(default_factory=list)
    subregions: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    nationwide: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "regions": sorted(self.regions),
            "subregions": sorted(self.subregions),
            "municipalities": sorted(self.municipalities),
            "nationwide": self.nationwide,
        }


def set_override(
    session: Session,
    tender: Tender,
    aspect: str,
    value: dict[str, Any] | None,
    *,
    author: str,
    note: str | None = None,
) -> ClassificationOverride:
    """Record a staff override (or, with ``value`` None, lift it); the caller then saves the classification."""
    if aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {ASPECTS}, not {aspect!r}")
    row = ClassificationOverride(
        tender_id=tender.id, aspect=aspect, value=value, author=author, note=note, created_at=datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    return row


def overrides_in_force(session: Session, tender_id: int) -> dict[str, ClassificationOverride]:
    """The newest override of each aspect of a tender, leaving out lifted ones."""
    return overrides_in_force_for(session, [tender_id]).get(tender_id, {})


def overrides_in_force_for(session: Session, tender_ids: list[int]) -> dict[int, dict[str, ClassificationOverride]]:
    """:func:`overrides_in_force` of many tenders in one query (tenders without any are left out)."""
    newest: dict[int, dict[str, ClassificationOverride]] = {}
    if not tender_ids:
        return newest
    rows = session.scalars(
        select(ClassificationOverride)
        .where(ClassificationOverride.tender_id.in_(sorted(set(tender_ids))))
        .order_by(ClassificationOverride.id)
    )
    for row in rows:
        newest.setdefault(row.tender_id, {})[row.aspect] = row
    return {
        tender_id: {aspect: row for aspect, row in by_aspect.items() if row.value is not None}
        for tender_id, by_aspect in newest.items()
    }


def save_classification(
    session: Session,
    tender: Tender,
    regions: Regions,
    sectors: list[str],
    evidence: list[dict[str, Any]],
    *,
    overrides: dict[str, ClassificationOverride] | None = None,
    flush: bool = True,
) -> bool:
    """Store a computed classification, with staff overrides taking precedence; True if it changed.

    The computed result and its evidence are kept in ``tender.classification`` even
    where an override is in force, so staff can see what the classifier would say.
    ``overrides``: those in force, when the caller has them already; ``flush=False``
    leaves the rows to the caller's next flush (a batch sends them together).
    """
    if overrides is None:
        overrides = overrides_in_force(session, tender.id)
    wanted_regions, wanted_sectors, nationwide, record = final_classification(regions, sectors, evidence, overrides)
    before = (
        {(row.level, row.code) for row in tender.regions},
        {row.slug: row.rank for row in tender.sectors},
        tender.nationwide,
        tender.classification,
    )
    if before == (wanted_regions, wanted_sectors, nationwide, record):
        return False
    # Change rows in place rather than replace them: a row deleted and re-added with the
    # same key in one flush is an order-of-operations trap.
    tender.regions = [row for row in tender.regions if (row.level, row.code) in wanted_regions] + [
        TenderRegion(tender_id=tender.id, level=level, code=code)
        for level, code in sorted(wanted_regions - before[0])
    ]
    kept = [row for row in tender.sectors if row.slug in wanted_sectors]
    for row in kept:
        row.rank = wanted_sectors[row.slug]
    tender.sectors = kept + [
        TenderSector(tender_id=tender.id, slug=slug, rank=rank)
        for slug, rank in wanted_sectors.items()
        if slug not in before[1]
    ]
    tender.nationwide = nationwide
    tender.classification = record
    changed = before[:3] != (wanted_regions, wanted_sectors, nationwide)
    if changed:
        tender.touch()  # another place or sector may make it match other searches
    if flush:
        session.flush()
    return changed


def final_classification(
    regions: Regions,
    sectors: list[str],
    evidence: list[dict[str, Any]],
    overrides: dict[str, ClassificationOverride],
) -> tuple[set[tuple[str, str]], dict[str, int], bool, dict[str, Any]]:
    """What a tender's classification becomes: its (level, code) rows, slug → rank, nationwide, and the record.

    Overrides in force take precedence over the computed regions or sectors; the record
    keeps the computed ones and the evidence all the same.
    """
    final_regions = regions
    final_sectors = list(sectors)
    if "regions" in overrides:
        value = overrides["regions"].value or {}
        final_regions = Regions(
            regions=list(value.get("regions", [])),
            subregions=list(value.get("subregions", [])),
            municipalities=list(value.get("municipalities", [])),
            nationwide=bool(value.get("nationwide", False)),
        )
    if "sectors" in overrides:
        final_sectors = list((overrides["sectors"].value or {}).get("sectors", []))

    wanted_regions = {
        (level, code)
        for level, codes in (
            ("region", final_regions.regions),
            ("subregion", final_regions.subregions),
            ("municipality", final_regions.municipalities),
        )
        for code in codes
    }
    wanted_sectors = {slug: rank for rank, slug in enumerate(dict.fromkeys(final_sectors), start=1)}
    record = {
        "computed": {**regions.as_json(), "sectors": list(dict.fromkeys(sectors))},
        "evidence": evidence,
        "overrides": {
            aspect: {"author": row.author, "at": row.created_at.isoformat(), "note": row.note, "value": row.value}
            for aspect, row in overrides.items()
        },
    }
    return wanted_regions, wanted_sectors, final_regions.nationwide, record
