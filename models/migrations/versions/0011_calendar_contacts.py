"""The calendar reads what it needs from columns: buyers' contacts, prior information's planned date.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

- ``buyers.email``, ``buyers.website``: the contact the buyer's latest notice gives
  (eForms ``cac:Contact``), shown on the meetup handout;
- ``notices.planned_date``: BT-127, when a prior information notice says the call for
  tenders will be published, the calendar's expected date for it.

Before, the calendar parsed stored eForms documents on every page to find both. Rows
stored before this migration get the values when their notices are stored again (a
later version, or ``hankintavahti import`` of saved payloads); until then the calendar
shows the notice link as the contact and a prior information notice as expected within
the year, as for any notice that gives neither.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("website", sa.Text(), nullable=True))
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("planned_date")
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_column("website")
        batch_op.drop_column("email")
