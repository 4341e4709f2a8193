"""Free text is matched against a stored column, not an expression computed per row and search.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

``tenders.search_text`` is a generated column (title and description, lower-cased): on
PostgreSQL stored, so that a search no longer lower-cases every row's text once per
word, with the trigram index moved onto it; on SQLite virtual (SQLite can add only a
virtual generated column to an existing table), which costs what the expression did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_TEXT_SQL = "lower(coalesce(title, '') || ' ' || coalesce(description, ''))"
OLD_INDEX = (
    "CREATE INDEX ix_tenders_search_trgm ON tenders "
    "USING gin ((lower((coalesce(title, '') || ' ') || coalesce(description, ''))) gin_trgm_ops)"
)


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP INDEX IF EXISTS ix_tenders_search_trgm")
        op.add_column("tenders", sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT_SQL, persisted=True)))
        op.execute("CREATE INDEX ix_tenders_search_trgm ON tenders USING gin (search_text gin_trgm_ops)")
    else:
        op.execute(f"ALTER TABLE tenders ADD COLUMN search_text TEXT GENERATED ALWAYS AS ({SEARCH_TEXT_SQL}) VIRTUAL")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tenders_search_trgm")
        op.drop_column("tenders", "search_text")
        op.execute(OLD_INDEX)
    else:
        op.execute("ALTER TABLE tenders DROP COLUMN search_text")
