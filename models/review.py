"""Staff review of tenders: relevance and a note, and the picks for the weekly digest.

A review is one row per tender (the latest word of staff, with who and when); the
classification overrides keep their own history in :mod:`models.classification`.
A staff pick waits (``digest_run_id`` empty) until a weekly digest shows it in its
"staff picks" section; then it records which digest run did.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, one_of
from models.types import UtcDateTime

RELEVANCE = ("relevant", "not_relevant")


class TenderReview(Base):
    """What staff decided about a tender: relevant for local firms or not, and why."""

    __tablename__ = "tender_reviews"
    __table_args__ = (CheckConstraint(one_of("relevance", RELEVANCE), name="relevance"),)

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True)
    relevance: Mapped[str | None] = mapped_column(String(16), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str] = mapped_column(String(64))
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"TenderReview({self.tender_id!r}, {self.relevance!r})"


class StaffPick(Base):
    """A tender staff picked for the next weekly digest's "staff picks" section."""

    __tablename__ = "staff_picks"
    __table_args__ = (UniqueConstraint("tender_id", "digest_run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    picked_by: Mapped[str] = mapped_column(String(64))
    picked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    #: Empty until a weekly digest has shown it.
    digest_run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_runs.id", ondelete="SET NULL"), index=True)

    def __repr__(self) -> str:
        return f"StaffPick({self.tender_id!r}, {self.digest_run_id!r})"
