"""The outbox: what each subscriber is to be told, and the emails that tell them.

* :class:`Alert` — one (subscriber, tender, event) to deliver: ``new`` when a tender
  first matches one of the subscriber's searches, ``update:<notice id>`` when a later
  notice changes a tender the subscriber was told about. The unique constraint is
  the promise that nobody is told the same thing twice, whatever runs concurrently.
* :class:`Message` — one composed email (subject, text, HTML and headers frozen when
  it is built, so a retry sends the very same message with the same Message-ID). It
  is marked ``sent`` only after the SMTP server accepted it. An alert belongs to at
  most one message.
* :class:`DigestRun` — one daily or weekly period, built once (unique per frequency
  and period end), like GOV.UK email-alert-api's DigestRun.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, one_of
from models.types import Json, UtcDateTime

MESSAGE_KINDS = ("confirmation", "instant", "daily", "weekly")
MESSAGE_STATUSES = ("pending", "sent", "rejected", "failed", "cancelled")
NEW_EVENT = "new"


def update_event(notice_id: int) -> str:
    """The event key of the changes one notice made to a tender."""
    return f"update:{notice_id}"


class Alert(Base):
    """Something one subscriber is to be told about one tender, once."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "tender_id", "event"),
        Index("ix_alerts_message_id_subscription_id", "message_id", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    #: For updates: the changed fields as [{"field", "old", "new"}], JSON-safe as in tender_changes.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))

    message: Mapped[Message | None] = relationship(back_populates="alerts")

    def __repr__(self) -> str:
        return f"Alert({self.subscriber_id!r}, {self.tender_id!r}, {self.event!r})"


class Message(Base):
    """One email, composed once and sent until a server accepts or refuses it for good."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(one_of("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint(one_of("status", MESSAGE_STATUSES), name="status"),
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    digest_run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_runs.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    #: Extra headers (List-Unsubscribe …) as {name: value}.
    headers: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    message_id_header: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    alerts: Mapped[list[Alert]] = relationship(back_populates="message")

    def __repr__(self) -> str:
        return f"Message({self.id!r}, {self.kind!r}, {self.status!r})"


class DigestRun(Base):
    """One daily or weekly digest period; its messages are built once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("frequency", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frequency: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    messages: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"DigestRun({self.frequency!r}, {self.period_end!r})"
