"""Buyers and notices: what the sources published, one row per notice version.

A notice row keeps the parsed fields (for the tender state and for listings) and the
raw payloads it was parsed from (for audit and for parsing again after the parser
improves). A payload that could not be parsed is kept too, as a quarantined row.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, one_of
from models.types import Json, Money, UtcDateTime, unpack_payloads

if TYPE_CHECKING:
    from models.tender import Tender

NOTICE_STATUSES = ("ok", "quarantined")
ENRICHMENT_STATES = ("complete", "missing", "not_needed")

_FINNISH_BUSINESS_ID = re.compile(r"^(?:FI)?(\d{7})-?(\d)$")


def normalise_business_id(value: str | None) -> str | None:
    """The Finnish form ``1234567-8`` when the value is a Y-tunnus in any spelling, else as given."""
    if value is None:
        return None
    compact = re.sub(r"\s+", "", value).upper()
    if not compact:
        return None
    match = _FINNISH_BUSINESS_ID.match(compact)
    return f"{match.group(1)}-{match.group(2)}" if match else compact


def name_key(name: str | None) -> str | None:
    """A buyer name folded for matching: case and runs of spaces do not make another buyer.

    Kept in its own column because SQLite's ``lower()`` folds ASCII only (``Ä`` stays ``Ä``).
    """
    if name is None:
        return None
    folded = " ".join(name.split()).casefold()
    return folded or None


class Buyer(Base):
    """A contracting authority, shared by all the notices it publishes."""

    __tablename__ = "buyers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text, index=True)
    business_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    street: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(16))
    town: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(3))
    nuts: Mapped[str | None] = mapped_column(String(8))
    legal_type: Mapped[str | None] = mapped_column(String(32))
    # the contact the buyer's newest notice with one gives (eForms cac:Contact), for the calendar
    email: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"Buyer({self.id!r}, {self.name!r}, {self.business_id!r})"


class Notice(Base):
    """One published notice version, from the publisher that ranks highest among those seen."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        CheckConstraint(one_of("status", NOTICE_STATUSES), name="status"),
        CheckConstraint(one_of("enrichment", ENRICHMENT_STATES), name="enrichment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id"), index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id"), index=True)

    # what kind of notice (None only while quarantined)
    kind: Mapped[str | None] = mapped_column(String(32))
    notice_type: Mapped[str | None] = mapped_column(String(32))
    form_type: Mapped[str | None] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(8))
    legal_basis: Mapped[str | None] = mapped_column(String(32))

    # identities that link versions, procedures and publishers
    notice_id: Mapped[str | None] = mapped_column(String(64), index=True)
    notice_version: Mapped[str | None] = mapped_column(String(8))
    full_notice_id: Mapped[str | None] = mapped_column(String(80), index=True)
    procedure_id: Mapped[str | None] = mapped_column(String(64), index=True)
    publication_number: Mapped[str | None] = mapped_column(String(32), index=True)
    hilma_notice_number: Mapped[str | None] = mapped_column(String(32), index=True)
    hilma_procedure_id: Mapped[int | None] = mapped_column(Integer, index=True)
    changed_notice: Mapped[str | None] = mapped_column(String(80))
    previous_notices: Mapped[list[str]] = mapped_column(Json, default=list)
    change_reason: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    national: Mapped[bool | None] = mapped_column(Boolean)
    # the publisher marked this (original) notice cancelled: HILMA's isCancelled
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # what is bought
    titles: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    descriptions: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    title: Mapped[str | None] = mapped_column(Text)
    cpv_main: Mapped[str | None] = mapped_column(String(8))
    cpv: Mapped[list[str]] = mapped_column(Json, default=list)
    contract_nature: Mapped[str | None] = mapped_column(String(32))
    procedure_type: Mapped[str | None] = mapped_column(String(32))
    estimated_value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    framework_agreement: Mapped[bool | None] = mapped_column(Boolean)
    documents_url: Mapped[str | None] = mapped_column(Text)
    planned_date: Mapped[date | None] = mapped_column(Date)  # BT-127, prior information notices
    places: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    lots: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    awards: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    awarded_value: Mapped[Decimal | None] = mapped_column(Money)
    awarded_currency: Mapped[str | None] = mapped_column(String(3))
    # HILMA's statistics flags (smeParticipationConsidered, lowCarbon …) as the notice gives them
    statistics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict, server_default=text("'{}'"))

    # where and when
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    modified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # the raw material
    enrichment: Mapped[str] = mapped_column(String(16), default="not_needed")
    content_hash: Mapped[str | None] = mapped_column(String(64))
    raw_format: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    tender: Mapped[Tender | None] = relationship(back_populates="notices", foreign_keys=[tender_id])
    buyer: Mapped[Buyer | None] = relationship()
    refs: Mapped[list[NoticeRef]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    def payloads(self) -> dict[str, bytes]:
        """The raw payloads this row was stored from, byte for byte (``{"eforms": b"<…>"}``)."""
        return unpack_payloads(self.raw)

    def identities(self) -> set[str]:
        """Every identifier another notice may use to point at this one (BT-758, OPP-090, HILMA previous*)."""
        values = (self.full_notice_id, self.publication_number, self.hilma_notice_number, self.notice_id)
        return {value for value in values if value}

    def __repr__(self) -> str:
        return f"Notice({self.id!r}, {self.source!r}, {self.source_id!r}, {self.kind!r})"


class NoticeRef(Base):
    """One reference from a notice to an earlier one (its changed notice or a previous notice).

    The same references are in ``Notice.changed_notice`` and ``Notice.previous_notices``;
    this table indexes them so that a notice arriving before the notice that changes it
    can still find its tender (reverse lookup), on both databases alike.
    """

    __tablename__ = "notice_refs"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)
