"""Indexes for the staff list's speed on 100,000 tenders (issue 5).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

- ``ix_tenders_buyer_id_id`` replaces ``ix_tenders_buyer_id``: sorting by buyer reads
  the buyer and id of every tender from the index alone instead of the wide rows.
- On PostgreSQL only (SQLite cannot express them): the default newest-first order with
  NULLs last, and a pg_trgm GIN index on the free-text search expression (replaced by
  one on a stored column in 0008). pg_trgm is a trusted extension, so the database
  owner may create it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_ONLY_INDEXES = {
    "ix_tenders_newest_first": "ON tenders (first_published_at DESC NULLS LAST, id DESC)",
    "ix_tenders_search_trgm": (
        "ON tenders USING gin ((lower((coalesce(title, '') || ' ') || coalesce(description, ''))) gin_trgm_ops)"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_index("ix_tenders_buyer_id")
        batch_op.create_index("ix_tenders_buyer_id_id", ["buyer_id", "id"], unique=False)
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, definition in POSTGRESQL_ONLY_INDEXES.items():
            op.execute(f"CREATE INDEX {name} {definition}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for name in POSTGRESQL_ONLY_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_index("ix_tenders_buyer_id_id")
        batch_op.create_index("ix_tenders_buyer_id", ["buyer_id"], unique=False)
