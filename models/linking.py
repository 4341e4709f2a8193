"""How notices find each other: the same notice from another publisher, and the tender of a notice.

HILMA republishes to TED the notices above the EU thresholds, and an eForms file may
arrive without any publisher; the three must end as one row. The notices of one
procurement must end as one tender however they are linked: by the notice they
change (BT-758), by the notices they follow (OPP-090, HILMA's previous* ids), by the
procedure (BT-04) or by HILMA's procedure id.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from crawler.items import NoticeItem
from models.classification import ClassificationOverride
from models.notice import Notice, NoticeRef
from models.tender import Tender, TenderChange

#: Which publisher's version of a notice is kept: HILMA has the national fields and the
#: Finnish texts, TED has the publication number, a bare eForms file has neither.
PUBLISHER_RANK: dict[str, int] = {"hilma": 3, "ted": 2, "eforms": 1}


def publisher_rank(source: str) -> int:
    return PUBLISHER_RANK.get(source, 0)


def find_by_source_id(session: Session, source: str, source_id: str) -> Notice | None:
    statement = select(Notice).where(Notice.source == source, Notice.source_id == source_id)
    return session.scalars(statement).first()


def find_same_notice(session: Session, item: NoticeItem, *, exclude: Notice | None = None) -> Notice | None:
    """The stored (ok) notice that is ``item`` published by another publisher, if any.

    The same notice is recognised by its eForms id and version or by its TED
    publication number (HILMA items carry HILMA's ``tedPublicationId`` there). When
    several rows match, the best publisher's row wins.
    """
    conditions = []
    if item.full_notice_id:
        conditions.append(Notice.full_notice_id == item.full_notice_id)
    if item.publication_number:
        conditions.append(Notice.publication_number == item.publication_number)
    if not conditions:
        return None
    statement = select(Notice).where(or_(*conditions), Notice.status == "ok")
    if exclude is not None and exclude.id is not None:
        statement = statement.where(Notice.id != exclude.id)
    matches = list(session.scalars(statement))
    if not matches:
        return None
    return min(matches, key=lambda notice: (-publisher_rank(notice.source), notice.id))


def linked_tenders(session: Session, notice: Notice) -> list[Tender]:
    """Tenders this notice belongs with, strongest link first, without repeats.

    Forward links (the notice it changes, its previous notices, its procedure) come
    first, in the order of the ingest rules; the reverse link (a stored notice that
    points at this one, because it arrived first) comes last.
    """
    rules: list[ColumnElement[bool]] = []
    if notice.changed_notice:
        rules.append(_identified_by([notice.changed_notice]))
    if notice.previous_notices:
        rules.append(_identified_by(list(notice.previous_notices)))
    if notice.procedure_id:
        rules.append(Notice.procedure_id == notice.procedure_id)
    if notice.hilma_procedure_id:
        rules.append(Notice.hilma_procedure_id == notice.hilma_procedure_id)
    related = [select(Notice.tender_id).where(rule) for rule in rules]
    identities = notice.identities()
    if identities:
        # A join, not ``IN (subquery)``: PostgreSQL plans the subquery badly on a young table.
        referring = select(Notice.tender_id).join(NoticeRef, NoticeRef.notice_id == Notice.id)
        related.append(referring.where(NoticeRef.ref.in_(sorted(identities))))

    found: dict[int, Tender] = {}
    for query in related:
        query = query.where(Notice.status == "ok", Notice.tender_id.is_not(None))
        if notice.id is not None:
            query = query.where(Notice.id != notice.id)
        tender_ids = sorted(set(session.scalars(query)))
        for tender_id in tender_ids:
            if tender_id not in found:
                found[tender_id] = session.get_one(Tender, tender_id)
    return list(found.values())


def tender_key(notice: Notice) -> str:
    """How a new tender is named after the notice that created it (stable, unique)."""
    if notice.procedure_id:
        return f"procedure:{notice.procedure_id}"
    if notice.hilma_procedure_id:
        return f"hilma-procedure:{notice.hilma_procedure_id}"
    return f"notice:{notice.source}:{notice.source_id}"


def merge_tenders(session: Session, source: Tender, target: Tender) -> None:
    """Move everything of ``source`` to ``target`` and delete ``source``.

    Happens when a notice proves that two tenders are one procurement (the contract
    notice arrives after its correction and its award, which each started a tender).
    The classification of ``source`` is dropped (the classifier runs again on
    ``target``), but staff overrides move with the notices.
    """
    for notice in session.scalars(select(Notice).where(Notice.tender_id == source.id)):
        notice.tender = target
    for change in session.scalars(select(TenderChange).where(TenderChange.tender_id == source.id)):
        change.tender_id = target.id
    for override in session.scalars(
        select(ClassificationOverride).where(ClassificationOverride.tender_id == source.id)
    ):
        override.tender_id = target.id  # a staff member's correction outlives the merge
    session.flush()
    session.expire(source, ["notices"])
    session.delete(source)
    session.flush()


def _identified_by(references: list[str]) -> ColumnElement[bool]:
    return or_(
        Notice.full_notice_id.in_(references),
        Notice.publication_number.in_(references),
        Notice.hilma_notice_number.in_(references),
        Notice.notice_id.in_(references),
    )
