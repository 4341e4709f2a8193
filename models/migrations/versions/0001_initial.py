"""Initial schema: buyers, notices, tenders and their changes, regions and sectors, crawl runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out by hand from the models (``models/notice.py``, ``models/tender.py``,
``models/crawl.py``) so that it never changes when the models do; a test checks that
the schema it creates equals the models on SQLite and PostgreSQL. Datetimes are
``timestamptz`` (``models.types.UtcDateTime`` adds the UTC handling in Python); JSON
is JSONB on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MONEY = sa.Numeric(18, 2)


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "buyers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("business_id", sa.String(32), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.Column("town", sa.Text(), nullable=True),
        sa.Column("country", sa.String(3), nullable=True),
        sa.Column("nuts", sa.String(8), nullable=True),
        sa.Column("legal_type", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_buyers"),
        sa.UniqueConstraint("business_id", name="uq_buyers_business_id"),
    )
    op.create_index("ix_buyers_name_key", "buyers", ["name_key"])

    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("started_at", utc(), nullable=False),
        sa.Column("finished_at", utc(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("watermark_before", utc(), nullable=True),
        sa.Column("watermark_after", utc(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'finished', 'failed', 'interrupted')", name="ck_crawl_runs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
    )
    op.create_index("ix_crawl_runs_source_started_at", "crawl_runs", ["source", "started_at"])

    # tenders.latest_notice_id → notices is added once notices exists (the two tables refer to each other).
    op.create_table(
        "tenders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline", utc(), nullable=True),
        sa.Column("estimated_value", MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("cpv", JSON, nullable=False),
        sa.Column("cpv_main", sa.String(8), nullable=True),
        sa.Column("contract_nature", sa.String(32), nullable=True),
        sa.Column("procedure_type", sa.String(32), nullable=True),
        sa.Column("documents_url", sa.Text(), nullable=True),
        sa.Column("places", JSON, nullable=False),
        sa.Column("winners", JSON, nullable=False),
        sa.Column("awarded_value", MONEY, nullable=True),
        sa.Column("awarded_currency", sa.String(3), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("latest_notice_id", sa.Integer(), nullable=True),
        sa.Column("first_published_at", utc(), nullable=True),
        sa.Column("last_published_at", utc(), nullable=True),
        sa.Column("nationwide", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("classification", JSON, nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'open', 'cancelled', 'awarded', 'not_awarded')", name="ck_tenders_status"
        ),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name="fk_tenders_buyer_id_buyers"),
        sa.PrimaryKeyConstraint("id", name="pk_tenders"),
        sa.UniqueConstraint("key", name="uq_tenders_key"),
    )
    op.create_index("ix_tenders_buyer_id", "tenders", ["buyer_id"])
    op.create_index("ix_tenders_deadline", "tenders", ["deadline"])
    op.create_index("ix_tenders_last_published_at", "tenders", ["last_published_at"])

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tender_id", sa.Integer(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("notice_type", sa.String(32), nullable=True),
        sa.Column("form_type", sa.String(32), nullable=True),
        sa.Column("subtype", sa.String(8), nullable=True),
        sa.Column("legal_basis", sa.String(32), nullable=True),
        sa.Column("notice_id", sa.String(64), nullable=True),
        sa.Column("notice_version", sa.String(8), nullable=True),
        sa.Column("full_notice_id", sa.String(80), nullable=True),
        sa.Column("procedure_id", sa.String(64), nullable=True),
        sa.Column("publication_number", sa.String(32), nullable=True),
        sa.Column("hilma_notice_number", sa.String(32), nullable=True),
        sa.Column("hilma_procedure_id", sa.Integer(), nullable=True),
        sa.Column("changed_notice", sa.String(80), nullable=True),
        sa.Column("previous_notices", JSON, nullable=False),
        sa.Column("change_reason", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("national", sa.Boolean(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("titles", JSON, nullable=False),
        sa.Column("descriptions", JSON, nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("cpv_main", sa.String(8), nullable=True),
        sa.Column("cpv", JSON, nullable=False),
        sa.Column("contract_nature", sa.String(32), nullable=True),
        sa.Column("procedure_type", sa.String(32), nullable=True),
        sa.Column("estimated_value", MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("deadline", utc(), nullable=True),
        sa.Column("framework_agreement", sa.Boolean(), nullable=True),
        sa.Column("documents_url", sa.Text(), nullable=True),
        sa.Column("places", JSON, nullable=False),
        sa.Column("lots", JSON, nullable=False),
        sa.Column("awards", JSON, nullable=False),
        sa.Column("awarded_value", MONEY, nullable=True),
        sa.Column("awarded_currency", sa.String(3), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", utc(), nullable=True),
        sa.Column("modified_at", utc(), nullable=True),
        sa.Column("fetched_at", utc(), nullable=False),
        sa.Column("enrichment", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("raw_format", sa.String(64), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('ok', 'quarantined')", name="ck_notices_status"),
        sa.CheckConstraint("enrichment IN ('complete', 'missing', 'not_needed')", name="ck_notices_enrichment"),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name="fk_notices_buyer_id_buyers"),
        sa.ForeignKeyConstraint(["tender_id"], ["tenders.id"], name="fk_notices_tender_id_tenders"),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("source", "source_id", name="uq_notices_source_source_id"),
    )
    for column in (
        "buyer_id",
        "full_notice_id",
        "hilma_notice_number",
        "hilma_procedure_id",
        "notice_id",
        "procedure_id",
        "publication_number",
        "published_at",
        "tender_id",
    ):
        op.create_index(f"ix_notices_{column}", "notices", [column])

    with op.batch_alter_table("tenders") as batch:
        batch.create_foreign_key(
            "fk_tenders_latest_notice_id_notices", "notices", ["latest_notice_id"], ["id"], ondelete="SET NULL"
        )

    op.create_table(
        "notice_refs",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name="fk_notice_refs_notice_id_notices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("notice_id", "ref", name="pk_notice_refs"),
    )
    op.create_index("ix_notice_refs_ref", "notice_refs", ["ref"])

    op.create_table(
        "tender_regions",
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.CheckConstraint("level IN ('region', 'subregion', 'municipality')", name="ck_tender_regions_level"),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name="fk_tender_regions_tender_id_tenders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tender_id", "level", "code", name="pk_tender_regions"),
    )
    op.create_index("ix_tender_regions_code", "tender_regions", ["code"])

    op.create_table(
        "tender_sectors",
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name="fk_tender_sectors_tender_id_tenders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tender_id", "slug", name="pk_tender_sectors"),
    )
    op.create_index("ix_tender_sectors_slug", "tender_sectors", ["slug"])

    op.create_table(
        "tender_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", JSON, nullable=True),
        sa.Column("new", JSON, nullable=True),
        sa.Column("changed_at", utc(), nullable=False),
        sa.Column("recorded_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name="fk_tender_changes_notice_id_notices", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name="fk_tender_changes_tender_id_tenders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tender_changes"),
    )
    op.create_index("ix_tender_changes_notice_id", "tender_changes", ["notice_id"])
    op.create_index("ix_tender_changes_recorded_at", "tender_changes", ["recorded_at"])
    op.create_index("ix_tender_changes_tender_id_changed_at", "tender_changes", ["tender_id", "changed_at"])


def downgrade() -> None:
    op.drop_table("tender_changes")
    op.drop_table("tender_sectors")
    op.drop_table("tender_regions")
    op.drop_table("notice_refs")
    with op.batch_alter_table("tenders") as batch:
        batch.drop_constraint("fk_tenders_latest_notice_id_notices", type_="foreignkey")
    op.drop_table("notices")
    op.drop_table("tenders")
    op.drop_table("crawl_runs")
    op.drop_table("buyers")
