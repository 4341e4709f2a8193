"""Alerts: subscribers, their saved searches, the outbox (alerts, messages) and digest runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Tenders get a revision counter that the alert matching follows (a tender is matched
again while ``revision > matched_revision``); existing tenders start unmatched with
``matched_revision = 0`` and are matched once on the first run. The unique constraint
on alerts (subscriber, tender, event) is what makes "nobody is told twice" hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MONEY = sa.Numeric(18, 2)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("period_end", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint("frequency", "period_end", name=op.f("uq_digest_runs_frequency_period_end")),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("business_id", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused', 'unsubscribed')", name=op.f("ck_subscribers_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_subscribers_email")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("digest_run_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("message_id_header", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.CheckConstraint("kind IN ('confirmation', 'instant', 'daily', 'weekly')", name=op.f("ck_messages_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'rejected', 'failed', 'cancelled')", name=op.f("ck_messages_status")
        ),
        sa.ForeignKeyConstraint(
            ["digest_run_id"],
            ["digest_runs.id"],
            name=op.f("fk_messages_digest_run_id_digest_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_messages_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("message_id_header", name=op.f("uq_messages_message_id_header")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_digest_run_id"), ["digest_run_id"], unique=False)
        batch_op.create_index("ix_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_subscriber_id"), ["subscriber_id"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("sectors", JSON, nullable=False),
        sa.Column("regions", JSON, nullable=False),
        sa.Column("include_nationwide", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("excluded_keywords", JSON, nullable=False),
        sa.Column("cpv_prefixes", JSON, nullable=False),
        sa.Column("value_min", MONEY, nullable=True),
        sa.Column("value_max", MONEY, nullable=True),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("confirmed_at", TIME, nullable=True),
        sa.Column("ended_at", TIME, nullable=True),
        sa.CheckConstraint("frequency IN ('instant', 'daily', 'weekly')", name=op.f("ck_subscriptions_frequency")),
        sa.CheckConstraint(
            "status IN ('unconfirmed', 'active', 'paused', 'unsubscribed')", name=op.f("ck_subscriptions_status")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriptions_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_subscriber_id"), ["subscriber_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_alerts_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscribers.id"], name=op.f("fk_alerts_subscriber_id_subscribers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_alerts_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_alerts_tender_id_tenders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "subscriber_id", "tender_id", "event", name=op.f("uq_alerts_subscriber_id_tender_id_event")
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_message_id_subscription_id", ["message_id", "subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_subscription_id"), ["subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_tender_id"), ["tender_id"], unique=False)

    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("matched_revision", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_column("matched_revision")
        batch_op.drop_column("revision")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_tender_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_subscription_id"))
        batch_op.drop_index("ix_alerts_message_id_subscription_id")

    op.drop_table("alerts")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_subscriber_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_subscriber_id"))
        batch_op.drop_index("ix_messages_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_messages_digest_run_id"))

    op.drop_table("messages")
    op.drop_table("subscribers")
    op.drop_table("digest_runs")
