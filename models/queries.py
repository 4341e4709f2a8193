"""Queries that the command line, the web app and the alerts all need, written once.

:func:`tender_record` is the one public shape of a tender (CLI JSON output, the web
API, exports): ids, texts, ISO 8601 datetimes in the reader's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from alerts.keywords import keyword_words, normalise_keyword, word_stems
from models.notice import Buyer, Notice
from models.review import TenderReview
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


#: Orders a tender list can be sorted in (``-`` first: descending), the API's ``sort`` values.
TENDER_SORTS: tuple[str, ...] = ("deadline", "-deadline", "published", "-published")
#: The staff list's orders: the API's and by title or buyer name.
STAFF_SORTS: tuple[str, ...] = (*TENDER_SORTS, "title", "-title", "buyer", "-buyer")
#: Review states a staff list filters on: no relevance decided yet, or the decision.
REVIEW_STATES: tuple[str, ...] = ("unreviewed", "relevant", "not_relevant")


def select_tenders(*, sort: str = "deadline", **filters: Any) -> Select[tuple[Tender]]:
    """Tenders to list, with what :func:`tender_record` reads loaded; by default soonest deadline first.

    The filters are those of :func:`tender_conditions` (plus ``sector``, one sector slug
    added to ``sectors``); ``sort`` is one of :data:`STAFF_SORTS` (the API offers
    :data:`TENDER_SORTS`). For one page of a long list :func:`tender_page` is faster.
    """
    return _listing(select(Tender).options(*_RECORD_LOADS), sort, filters)


def tender_page(session: Session, *, offset: int, limit: int, sort: str = "deadline", **filters: Any) -> list[Tender]:
    """One page of :func:`select_tenders`' list: the ids first, then those tenders whole.

    Sorting and skipping narrow rows (an index-only scan, or ids and buyer names) and
    loading only the page's wide rows keeps a page of 100,000 tenders fast whatever its
    order or position (BENCHMARKS.md, "Web pages").
    """
    ids = list(session.scalars(_listing(select(Tender.id), sort, filters).offset(offset).limit(limit)))
    if not ids:
        return []
    loaded = {
        tender.id: tender
        for tender in session.scalars(select(Tender).options(*_RECORD_LOADS).where(Tender.id.in_(ids)))
    }
    return [loaded[tender_id] for tender_id in ids]


def count_tenders(*, cap: int | None = None, **filters: Any) -> Select[tuple[int]]:
    """How many tenders :func:`select_tenders` would list with these filters, in one query.

    With ``cap`` the count stops there: a free-text search for a common word matches a
    large share of all tenders, and counting every one of them is what made that search
    slow; a list shows "over 1,000" instead.
    """
    filters.pop("sort", None)
    conditions = _conditions(filters)
    if cap is None:
        return select(func.count()).select_from(Tender).where(*conditions)
    return select(func.count()).select_from(select(Tender.id).where(*conditions).limit(cap).subquery())


#: What :func:`tender_record` and the lists read of a tender besides its own columns.
_RECORD_LOADS = (
    selectinload(Tender.buyer),
    selectinload(Tender.regions),
    selectinload(Tender.sectors),
    selectinload(Tender.latest_notice).load_only(Notice.source, Notice.source_id),
)


def _conditions(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    """:func:`tender_conditions` of the filters, ``sector`` (one slug, the API's and the CLI's) added to ``sectors``."""
    merged = dict(filters)
    sector = merged.pop("sector", None)
    if sector is not None:
        merged["sectors"] = [sector, *merged.get("sectors", ())]
    return tender_conditions(**merged)


def _listing(statement: Select[Any], sort: str, filters: dict[str, Any]) -> Select[Any]:
    """``statement`` narrowed by the filters and put in the order ``sort`` names."""
    if sort.lstrip("-") == "buyer":
        statement = statement.outerjoin(Buyer, Buyer.id == Tender.buyer_id)
    return statement.where(*_conditions(filters)).order_by(*_ORDERS[sort])


def tender_conditions(
    *,
    open_only: bool,
    now: datetime,
    region: str | None = None,
    region_level: str | None = None,
    sectors: Sequence[str] = (),
    kinds: Sequence[str] = (),
    statuses: Sequence[str] = (),
    published_from: datetime | None = None,
    published_before: datetime | None = None,
    deadline_from: datetime | None = None,
    deadline_before: datetime | None = None,
    places: Sequence[tuple[str, str]] = (),
    text: str | None = None,
    review: str | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a tender list, shared by the listing and its count.

    Several ``sectors``, ``kinds`` or ``statuses`` mean any of them. ``statuses`` are
    effective statuses at ``now`` (``closed``: open but past its deadline, see
    :meth:`Tender.effective_status`). The windows are half-open, ``from`` inclusive and
    ``before`` exclusive, so that a caller turns whole local days into instants; the
    published window is on the first publication, the date the public record shows.

    ``places`` are ``(level, code)`` pairs that must all hold (maakunta 05 and
    municipality 109). ``text`` is free text matched by :func:`text_condition`;
    ``review`` one of :data:`REVIEW_STATES`.
    """
    conditions: list[ColumnElement[bool]] = []
    if open_only:
        conditions.append(_effective_status("open", now))
    if region is not None:
        matches = [TenderRegion.tender_id == Tender.id, TenderRegion.code == region]
        if region_level is not None:
            matches.append(TenderRegion.level == region_level)
        conditions.append(exists().where(*matches))
    if sectors:
        wanted = sorted(set(sectors))
        conditions.append(exists().where(TenderSector.tender_id == Tender.id, TenderSector.slug.in_(wanted)))
    if kinds:
        conditions.append(Tender.kind.in_(sorted(set(kinds))))
    if statuses:
        conditions.append(or_(*(_effective_status(status, now) for status in sorted(set(statuses)))))
    if published_from is not None:
        conditions.append(Tender.first_published_at >= published_from)
    if published_before is not None:
        conditions.append(Tender.first_published_at < published_before)
    if deadline_from is not None:
        conditions.append(Tender.deadline >= deadline_from)
    if deadline_before is not None:
        conditions.append(Tender.deadline < deadline_before)
    for level, code in places:
        conditions.append(
            exists().where(TenderRegion.tender_id == Tender.id, TenderRegion.level == level, TenderRegion.code == code)
        )
    if text:
        found = text_condition(text)
        if found is not None:
            conditions.append(found)
    if review is not None:
        conditions.append(_review_condition(review))
    return conditions


def text_stems(text: str) -> list[tuple[str, ...]]:
    """The stems of each word of free text, as the alert keywords derive them: one tuple per word.

    "Siivous Forssa" gives ``[("siivous", "siivouks"), ("forssa", ...)]``, so an inflected
    form ("ylläpitosiivouksen") is found by one of its word's stems.
    """
    return [word_stems(word) for word in keyword_words(normalise_keyword(text))]


def text_condition(text: str) -> ColumnElement[bool] | None:
    """Every word of ``text`` found, by one of its stems, in the title or the description; None for no words.

    A substring match on ``tenders.search_text`` (title and description, lower-cased,
    computed by the database); on PostgreSQL a trigram index serves it. A word with one stem is a
    ``LIKE``, one with several a regular expression of the alternatives, so that the
    lower-casing of each row's text runs once per word rather than once per stem (half
    the time of a two-word search in bench/web.py). SQLite's ``lower()`` folds only
    ASCII letters (Ä ≠ ä there); PostgreSQL folds them all.
    """
    words = text_stems(text)
    if not words:
        return None
    searched = Tender.search_text
    return and_(
        *(
            searched.like(f"%{_escape_like(stems[0])}%", escape="\\")
            if len(stems) == 1
            else searched.regexp_match("|".join(_escape_regexp(stem) for stem in stems))
            for stems in words
        )
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _escape_regexp(text: str) -> str:
    """Literal text in a regular expression that PostgreSQL and Python read alike: punctuation escaped."""
    return "".join(char if char.isalnum() else "\\" + char for char in text)


def _review_condition(review: str) -> ColumnElement[bool]:
    """SQL for the review state: ``unreviewed`` has no relevance decided (a note alone is no decision)."""
    decided = exists().where(TenderReview.tender_id == Tender.id, TenderReview.relevance.is_not(None))
    if review == "unreviewed":
        return ~decided
    if review not in REVIEW_STATES:
        raise ValueError(f"unknown review state {review!r}")
    return exists().where(TenderReview.tender_id == Tender.id, TenderReview.relevance == review)


def _effective_status(status: str, now: datetime) -> ColumnElement[bool]:
    """SQL for ``Tender.effective_status(now) == status``."""
    if status == "open":
        return and_(Tender.status == "open", or_(Tender.deadline.is_(None), Tender.deadline > now))
    if status == "closed":
        return and_(Tender.status == "open", Tender.deadline <= now)
    return Tender.status == status


_ORDERS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "deadline": (Tender.deadline.asc().nulls_last(), Tender.last_published_at.desc().nulls_last(), Tender.id.desc()),
    "-deadline": (Tender.deadline.desc().nulls_last(), Tender.last_published_at.desc().nulls_last(), Tender.id.desc()),
    "published": (Tender.first_published_at.asc().nulls_last(), Tender.id.asc()),
    "-published": (Tender.first_published_at.desc().nulls_last(), Tender.id.desc()),
    "title": (Tender.title.asc().nulls_last(), Tender.id.asc()),
    "-title": (Tender.title.desc().nulls_last(), Tender.id.desc()),
    "buyer": (Buyer.name.asc().nulls_last(), Tender.id.asc()),
    "-buyer": (Buyer.name.desc().nulls_last(), Tender.id.desc()),
}


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
