"""Staff review: a review per tender (relevance, note), staff picks for the weekly digest, list indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

The indexes on tenders' status and first publication serve the staff list's
filters and sorting (issue 5's speed target on 100,000 tenders).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("picked_by", sa.String(length=64), nullable=False),
        sa.Column("picked_at", TIME, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("digest_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["digest_run_id"],
            ["digest_runs.id"],
            name=op.f("fk_staff_picks_digest_run_id_digest_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_staff_picks_tender_id_tenders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_picks")),
        sa.UniqueConstraint("tender_id", "digest_run_id", name=op.f("uq_staff_picks_tender_id_digest_run_id")),
    )
    with op.batch_alter_table("staff_picks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_picks_digest_run_id"), ["digest_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_picks_tender_id"), ["tender_id"], unique=False)

    op.create_table(
        "tender_reviews",
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("relevance", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", TIME, nullable=False),
        sa.CheckConstraint("relevance IN ('relevant', 'not_relevant')", name=op.f("ck_tender_reviews_relevance")),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_tender_reviews_tender_id_tenders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_tender_reviews")),
    )
    with op.batch_alter_table("tender_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tender_reviews_relevance"), ["relevance"], unique=False)

    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenders_first_published_at"), ["first_published_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenders_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenders_status"))
        batch_op.drop_index(batch_op.f("ix_tenders_first_published_at"))

    with op.batch_alter_table("tender_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tender_reviews_relevance"))

    op.drop_table("tender_reviews")
    with op.batch_alter_table("staff_picks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_picks_tender_id"))
        batch_op.drop_index(batch_op.f("ix_staff_picks_digest_run_id"))

    op.drop_table("staff_picks")
