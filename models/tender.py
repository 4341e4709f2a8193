"""Tenders: the procurement itself, followed across all of its notices.

A tender's columns hold its current state, folded from its notices (see
:mod:`models.tender_state`); :class:`TenderChange` rows keep every change a later
notice made, field by field, because alerts tell subscribers exactly what changed.
Regions and sectors are filled by the classifier.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, one_of
from models.notice import Buyer, Notice
from models.types import Json, Money, UtcDateTime

#: What free-text search looks in (``tenders.search_text``): title and description,
#: lower-cased, as one string. SQLite's ``lower()`` folds only ASCII letters.
SEARCH_TEXT_SQL = "lower(coalesce(title, '') || ' ' || coalesce(description, ''))"

TENDER_STATUSES = ("planned", "open", "cancelled", "awarded", "not_awarded")
REGION_LEVELS = ("region", "subregion", "municipality")


class Tender(Base):
    """One procurement: prior information → contract notice → corrections → cancellation or award."""

    __tablename__ = "tenders"
    __table_args__ = (
        CheckConstraint(one_of("status", TENDER_STATUSES), name="status"),
        # sorting by buyer reads (buyer_id, id) from the index alone, not the wide rows
        Index("ix_tenders_buyer_id_id", "buyer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)

    # current state, from the latest notices
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    estimated_value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    cpv: Mapped[list[str]] = mapped_column(Json, default=list)
    cpv_main: Mapped[str | None] = mapped_column(String(8))
    contract_nature: Mapped[str | None] = mapped_column(String(32))
    procedure_type: Mapped[str | None] = mapped_column(String(32))
    documents_url: Mapped[str | None] = mapped_column(Text)
    places: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    winners: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    awarded_value: Mapped[Decimal | None] = mapped_column(Money)
    awarded_currency: Mapped[str | None] = mapped_column(String(3))
    url: Mapped[str | None] = mapped_column(Text)
    latest_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", use_alter=True, ondelete="SET NULL"))
    first_published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    # what free text is matched against (models.queries.text_condition): computed by the
    # database, stored on PostgreSQL (a row's text is lower-cased once, not per search)
    search_text: Mapped[str | None] = mapped_column(Text, Computed(SEARCH_TEXT_SQL), deferred=True)

    # classification, filled by the classifier
    nationwide: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    classification: Mapped[dict[str, Any] | None] = mapped_column(Json)

    # alert matching: a tender is (re)matched while revision > matched_revision. A counter
    # rather than a timestamp, because transactions commit out of timestamp order.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    matched_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    buyer: Mapped[Buyer | None] = relationship()
    notices: Mapped[list[Notice]] = relationship(back_populates="tender", foreign_keys=[Notice.tender_id])
    latest_notice: Mapped[Notice | None] = relationship(foreign_keys=[latest_notice_id], post_update=True)
    regions: Mapped[list[TenderRegion]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="(TenderRegion.level, TenderRegion.code)"
    )
    sectors: Mapped[list[TenderSector]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="(TenderSector.rank, TenderSector.slug)"
    )

    def touch(self) -> None:
        """Note that the tender changed in a way the alert matching must look at again."""
        self.revision = (self.revision or 0) + 1

    def effective_status(self, now: datetime) -> str:
        """The status a reader should see: an open tender whose deadline has passed is closed."""
        if self.status == "open" and self.deadline is not None and self.deadline <= now:
            return "closed"
        return self.status

    def __repr__(self) -> str:
        return f"Tender({self.id!r}, {self.key!r}, {self.status!r})"


#: Indexes that exist on PostgreSQL only, because SQLite cannot express them: the
#: newest-first order with NULLs last (migration 0006), and trigrams (pg_trgm) of
#: ``tenders.search_text`` (migration 0008, which defines them). The schema comparison
#: leaves them out.
POSTGRESQL_ONLY_INDEXES: tuple[str, ...] = ("ix_tenders_newest_first", "ix_tenders_search_trgm")


class TenderRegion(Base):
    """A region, sub-region or municipality a tender concerns (codes from the region data)."""

    __tablename__ = "tender_regions"
    __table_args__ = (CheckConstraint(one_of("level", REGION_LEVELS), name="level"),)

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class TenderSector(Base):
    """A sector a tender belongs to; rank 1 is the best match."""

    __tablename__ = "tender_sectors"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(Integer)


class TenderChange(Base):
    """One field that one notice changed on a tender: old → new, as JSON-safe values."""

    __tablename__ = "tender_changes"
    __table_args__ = (Index("ix_tender_changes_tender_id_changed_at", "tender_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[Any] = mapped_column(Json, nullable=True)
    new: Mapped[Any] = mapped_column(Json, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    def __repr__(self) -> str:
        return f"TenderChange({self.field!r}: {self.old!r} → {self.new!r})"
