"""Staff overrides of a tender's regions and sectors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

A row per override, kept as a history (the newest of an aspect is in force), so that
a staff member's correction survives re-crawls and reclassification.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "classification_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("aspect", sa.String(16), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("aspect IN ('regions', 'sectors')", name="ck_classification_overrides_aspect"),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name="fk_classification_overrides_tender_id_tenders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_classification_overrides"),
    )
    op.create_index(
        "ix_classification_overrides_tender_aspect", "classification_overrides", ["tender_id", "aspect", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_classification_overrides_tender_aspect", table_name="classification_overrides")
    op.drop_table("classification_overrides")
