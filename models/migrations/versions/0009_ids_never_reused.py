"""SQLite never hands a deleted subscriber's or search's id to a new one (AUTOINCREMENT).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

The signed links in emails name a subscriber or a search by id. SQLite without
AUTOINCREMENT gives a new row the highest id plus one, so after the newest subscriber
deleted their data, the next one to subscribe got that id, and the first one's old
links opened the newcomer's page. With AUTOINCREMENT SQLite remembers the highest id
ever used. The tables are copied into new ones (SQLite cannot alter this in place);
the migration environment keeps foreign keys unenforced while it does. PostgreSQL's
sequences never reuse a value: nothing changes there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("subscribers", "subscriptions")


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)


def _recreate(*, autoincrement: bool) -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass
