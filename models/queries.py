"""Queries that the command line, the web app and the alerts all need, written once.

:func:`tender_record` is the one public shape of a tender (CLI JSON output, the web
API, exports): ids, texts, ISO 8601 datetimes in the reader's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from models.notice import Notice
from models.tender import Tender, TenderRegion, TenderSector
from models.types import unpack_payloads

#: The keys of :func:`tender_record`, in order.
RECORD_KEYS: tuple[str, ...] = (
    "id",
    "source",
    "source_id",
    "title",
    "buyer",
    "buyer_business_id",
    "published_at",
    "deadline",
    "kind",
    "status",
    "cpv",
    "estimated_value",
    "currency",
    "url",
    "documents_url",
    "regions",
    "subregions",
    "municipalities",
    "nationwide",
    "sectors",
)


def select_tenders(
    *,
    open_only: bool,
    now: datetime,
    region: str | None = None,
    region_level: str | None = None,
    sector: str | None = None,
) -> Select[tuple[Tender]]:
    """Tenders to list: soonest deadline first (none last), then the most recently published.

    ``open_only`` keeps the tenders that still accept tenders at ``now``: open, with a
    deadline in the future or no deadline given. ``region`` matches a code at
    ``region_level`` (region, subregion or municipality), or at any level when no level
    is given; ``sector`` a sector slug.
    """
    statement = select(Tender).options(
        selectinload(Tender.buyer),
        selectinload(Tender.regions),
        selectinload(Tender.sectors),
        selectinload(Tender.latest_notice).load_only(Notice.source, Notice.source_id),
    )
    if open_only:
        statement = statement.where(
            Tender.status == "open",
            or_(Tender.deadline.is_(None), Tender.deadline > now),
        )
    if region is not None:
        matches = [TenderRegion.tender_id == Tender.id, TenderRegion.code == region]
        if region_level is not None:
            matches.append(TenderRegion.level == region_level)
        statement = statement.where(exists().where(*matches))
    if sector is not None:
        statement = statement.where(exists().where(TenderSector.tender_id == Tender.id, TenderSector.slug == sector))
    return statement.order_by(
        Tender.deadline.asc().nulls_last(),
        Tender.last_published_at.desc().nulls_last(),
        Tender.id.desc(),
    )


def tender_record(tender: Tender, tz: ZoneInfo, *, now: datetime | None = None) -> dict[str, Any]:
    """A tender as plain JSON data with the keys of :data:`RECORD_KEYS`.

    ``source``/``source_id`` name the tender's latest notice (for HILMA the index id,
    ``EF-48640``), which is where a reader finds the current text. ``status`` is the
    effective status at ``now`` (an open tender past its deadline is ``closed``).
    """
    now = now or datetime.now(UTC)
    latest = tender.latest_notice
    buyer = tender.buyer
    codes: dict[str, list[str]] = {"region": [], "subregion": [], "municipality": []}
    for row in tender.regions:
        codes.setdefault(row.level, []).append(row.code)
    cpv = list(tender.cpv or [])
    if tender.cpv_main and (not cpv or cpv[0] != tender.cpv_main):
        cpv = [tender.cpv_main, *[code for code in cpv if code != tender.cpv_main]]
    return {
        "id": tender.id,
        "source": latest.source if latest is not None else None,
        "source_id": latest.source_id if latest is not None else None,
        "title": tender.title,
        "buyer": buyer.name if buyer is not None else None,
        "buyer_business_id": buyer.business_id if buyer is not None else None,
        "published_at": _local_iso(tender.first_published_at, tz),
        "deadline": _local_iso(tender.deadline, tz),
        "kind": tender.kind,
        "status": tender.effective_status(now),
        "cpv": cpv,
        "estimated_value": float(tender.estimated_value) if tender.estimated_value is not None else None,
        "currency": tender.currency,
        "url": tender.url,
        "documents_url": tender.documents_url,
        "regions": sorted(codes["region"]),
        "subregions": sorted(codes["subregion"]),
        "municipalities": sorted(codes["municipality"]),
        "nationwide": bool(tender.nationwide),
        "sectors": [row.slug for row in sorted(tender.sectors, key=lambda row: (row.rank, row.slug))],
    }


def notices_missing_enrichment(session: Session, source: str, limit: int) -> list[Notice]:
    """Notices of ``source`` whose eForms XML is still to be fetched, newest first.

    Newest first because a subscriber is waiting for those; a backlog of old ones
    drains on later runs.
    """
    statement = (
        select(Notice)
        .where(Notice.source == source, Notice.status == "ok", Notice.enrichment == "missing")
        .order_by(Notice.published_at.desc().nulls_last(), Notice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def stored_payloads(session: Session, source: str, source_id: str) -> dict[str, bytes]:
    """The raw payloads of the stored (ok) notice with this source id; empty when there is none.

    Lets a listing that arrives alone be joined to the eForms XML fetched on an earlier crawl.
    """
    statement = select(Notice.raw).where(Notice.source == source, Notice.source_id == source_id, Notice.status == "ok")
    return unpack_payloads(session.scalars(statement).first())


def known_publication_numbers(session: Session, numbers: list[str]) -> dict[str, str]:
    """Which of these TED publication numbers are stored, and by which publisher's row.

    ``{"216129-2026": "ted"}`` means the TED notice itself is stored; ``"hilma"`` means
    HILMA's copy of it is. A TED notice never changes once published, so the TED
    spider need not fetch a known one again. Quarantined rows do not count: their
    notice still has to be read.
    """
    if not numbers:
        return {}
    wanted = sorted(set(numbers))
    statement = select(Notice.source, Notice.source_id, Notice.publication_number).where(
        Notice.status == "ok",
        or_(
            Notice.publication_number.in_(wanted),
            (Notice.source == "ted") & Notice.source_id.in_(wanted),
        ),
    )
    known: dict[str, str] = {}
    for source, source_id, publication_number in session.execute(statement):
        number = source_id if source == "ted" and source_id in wanted else publication_number
        if number is not None and (number not in known or source == "ted"):
            known[number] = source
    return known


def _local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None
