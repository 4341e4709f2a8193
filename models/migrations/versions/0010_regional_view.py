"""The regional view's data: firms from the company register, HILMA's statistics flags.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

- ``companies``: the company register's (PRH/YTJ) answer per business ID, so that a
  winner whose location a notice leaves out is looked up once (:mod:`models.company`);
- ``notices.statistics``: the statistics flags HILMA publishes with a notice
  (SME participation, sustainability …), for the vitality meter. Lots keep theirs in
  ``notices.lots`` with the rest of the lot.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("business_id", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("municipality_code", sa.String(length=3), nullable=True),
        sa.Column("postal_municipality_code", sa.String(length=3), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("town", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", JSON, nullable=True),
        sa.CheckConstraint("result IN ('found', 'not_found')", name=op.f("ck_companies_result")),
        sa.PrimaryKeyConstraint("business_id", name=op.f("pk_companies")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("statistics", JSON, nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("statistics")
    op.drop_table("companies")
