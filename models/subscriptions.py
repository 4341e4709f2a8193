"""Subscribers and their saved searches (subscriptions).

A subscriber is a person with an email address; each of their saved searches has its
own filters and its own frequency (GOV.UK email-alert-api keeps frequency on the
subscription, not the person: cleaning jobs at once, construction in a weekly digest).

Double opt-in: a search created from outside starts ``unconfirmed`` and receives
nothing until the link in its confirmation email is followed; staff may create
confirmed ones. A subscriber whose address bounces repeatedly is ``paused``: their
matches are still recorded (nothing matched is lost) but no email is built for them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, one_of
from models.types import Json, Money, UtcDateTime

SUBSCRIBER_STATUSES = ("active", "paused", "unsubscribed")
SUBSCRIPTION_STATUSES = ("unconfirmed", "active", "paused", "unsubscribed")
FREQUENCIES = ("instant", "daily", "weekly")
#: What a search can ask for: upcoming procurements (plans, prior information), calls for tenders, awards.
NOTICE_CATEGORIES = ("upcoming", "call", "award")
DEFAULT_CATEGORIES = ("upcoming", "call")
#: Permanent rejections in a row after which a subscriber is paused.
MAX_BOUNCES = 3


class Subscriber(Base):
    """A person who receives alerts: the address, and who they are for the greeting and staff."""

    __tablename__ = "subscribers"
    __table_args__ = (
        CheckConstraint(one_of("status", SUBSCRIBER_STATUSES), name="status"),
        # Signed links name a subscriber by id: SQLite must never give a deleted one's id to
        # someone new (PostgreSQL's sequences never do). Migration 0009.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    business_id: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="fi")
    status: Mapped[str] = mapped_column(String(16), default="active")
    #: Permanent rejections since the last accepted message.
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True, order_by="Subscription.id"
    )

    def __repr__(self) -> str:
        return f"Subscriber({self.id!r}, {self.email!r}, {self.status!r})"


class Subscription(Base):
    """One saved search: what, where, how often.

    Topic filters are alternatives: a tender matches when it is in one of ``sectors``,
    has a CPV code under one of ``cpv_prefixes`` or mentions one of ``keywords``
    (people add keywords to catch what the sectors miss). No topic filter means any
    topic. ``regions`` (maakunta, seutukunta or municipality codes) must contain one
    of the tender's places, or the tender is nationwide and ``include_nationwide`` is
    set; no regions means anywhere. Excluded keywords, the value range and the notice
    categories then narrow the result.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(one_of("status", SUBSCRIPTION_STATUSES), name="status"),
        CheckConstraint(one_of("frequency", FREQUENCIES), name="frequency"),
        {"sqlite_autoincrement": True},  # as Subscriber: links name searches by id
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    sectors: Mapped[list[str]] = mapped_column(Json, default=list)
    regions: Mapped[list[str]] = mapped_column(Json, default=list)
    include_nationwide: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    keywords: Mapped[list[str]] = mapped_column(Json, default=list)
    excluded_keywords: Mapped[list[str]] = mapped_column(Json, default=list)
    cpv_prefixes: Mapped[list[str]] = mapped_column(Json, default=list)
    value_min: Mapped[Decimal | None] = mapped_column(Money)
    value_max: Mapped[Decimal | None] = mapped_column(Money)
    categories: Mapped[list[str]] = mapped_column(Json, default=lambda: list(DEFAULT_CATEGORIES))
    frequency: Mapped[str] = mapped_column(String(16), default="instant")
    status: Mapped[str] = mapped_column(String(16), default="unconfirmed")
    #: Where it came from: "web" and "cli" need confirming, "staff" may be confirmed at once.
    origin: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")

    def __repr__(self) -> str:
        return f"Subscription({self.id!r}, {self.frequency!r}, {self.status!r})"
