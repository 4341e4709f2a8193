"""How notices find each other: the same notice from another publisher, and the tender of a notice.

HILMA republishes to TED the notices above the EU thresholds, and an eForms file may
arrive without any publisher; the three must end as one row. The notices of one
procurement must end as one tender however they are linked: by the notice they
change (BT-758), by the notices they follow (OPP-090, HILMA's previous* ids), by the
procedure (BT-04) or by HILMA's procedure id. The rules themselves are applied by
:class:`models.ingest.IngestBatch` over rows it loads a batch at a time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.classification import ClassificationOverride
from models.notice import Notice
from models.tender import Tender, TenderChange

#: Which publisher's version of a notice is kept: HILMA has the national fields and the
#: Finnish texts, TED has the publication number, a bare eForms file has neither.
PUBLISHER_RANK: dict[str, int] = {"hilma": 3, "ted": 2, "eforms": 1}


def publisher_rank(source: str) -> int:
    return PUBLISHER_RANK.get(source, 0)


def find_by_source_id(session: Session, source: str, source_id: str) -> Notice | None:
    statement = select(Notice).where(Notice.source == source, Notice.source_id == source_id)
    return session.scalars(statement).first()


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
    session.flush()  # ``source`` may have been created in this batch: its id is needed below
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
