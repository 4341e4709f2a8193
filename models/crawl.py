"""Crawl runs: one row per crawl of one source, with its counts and watermarks.

The watermark is where the next crawl starts (the newest publication time stored).
Only a run that finished moves it: a failed or interrupted run may have skipped
notices, so the next run starts again from the last watermark that is known to be
complete (the same rule as kingfisher-collect's incremental crawls).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, one_of
from models.types import Json, UtcDateTime, to_utc

RUN_STATUSES = ("running", "finished", "failed", "interrupted")
COUNTERS = ("pages", "new", "updated", "unchanged", "duplicate", "failed")
#: A run keeps this many error lines: enough to diagnose, not a log file in a column.
MAX_ERRORS = 50
MAX_ERROR_LENGTH = 500


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, what it stored, where it left off."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
        Index("ix_crawl_runs_source_started_at", "source", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[str]] = mapped_column(Json, default=list)
    message: Mapped[str | None] = mapped_column(Text)
    watermark_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    watermark_after: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"CrawlRun({self.id!r}, {self.source!r}, {self.status!r})"


def start_run(session: Session, source: str, watermark_before: datetime | None) -> CrawlRun:
    """Record that a crawl of ``source`` starts now from ``watermark_before``."""
    run = CrawlRun(
        source=source,
        started_at=datetime.now(UTC),
        status="running",
        watermark_before=to_utc(watermark_before),
        errors=[],
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run: CrawlRun,
    *,
    status: str,
    counts: dict[str, int],
    errors: list[str],
    message: str | None,
    watermark_after: datetime | None,
) -> CrawlRun:
    """Close a run with its outcome; ``counts`` uses the names in :data:`COUNTERS`."""
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"a run ends as finished, failed or interrupted, not {status!r}")
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown crawl counters {sorted(unknown)}; known: {', '.join(COUNTERS)}")
    for name in COUNTERS:
        setattr(run, name, int(counts.get(name, 0)))
    run.status = status
    run.finished_at = datetime.now(UTC)
    run.errors = [_short(error) for error in errors[:MAX_ERRORS]]
    run.message = message
    run.watermark_after = to_utc(watermark_after)
    session.flush()
    return run


def last_watermark(session: Session, source: str) -> datetime | None:
    """Where the next crawl of ``source`` starts: the watermark of its latest finished run."""
    statement = (
        select(CrawlRun.watermark_after)
        .where(
            CrawlRun.source == source,
            CrawlRun.status == "finished",
            CrawlRun.watermark_after.is_not(None),
        )
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def recent_runs(session: Session, source: str | None = None, limit: int = 20) -> list[CrawlRun]:
    """The latest runs, newest first (all sources unless ``source`` is given)."""
    statement = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)
    if source is not None:
        statement = statement.where(CrawlRun.source == source)
    return list(session.scalars(statement))


def _short(error: str) -> str:
    line = " ".join(str(error).split())
    return line if len(line) <= MAX_ERROR_LENGTH else line[: MAX_ERROR_LENGTH - 1] + "…"


def abandon_running_runs(session: Session, *, reason: str, now: datetime | None = None) -> list[CrawlRun]:
    """Close the runs still marked running as interrupted: their process died without saying how it ended.

    Call this only where no crawl can be running (the service holds its crawl lock).
    The watermark is not touched: an interrupted run never moves it, so the next
    crawl starts again from the last complete one and collects what this one missed.
    """
    runs = list(session.scalars(select(CrawlRun).where(CrawlRun.status == "running").order_by(CrawlRun.id)))
    for run in runs:
        run.status = "interrupted"
        run.finished_at = now or datetime.now(UTC)
        run.message = reason
    session.flush()
    return runs
