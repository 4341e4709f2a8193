"""Crawl runs and their watermarks (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from models.crawl import MAX_ERRORS, finish_run, last_watermark, recent_runs, start_run

START = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def crawl(session: Session, source: str, status: str, watermark_after: datetime | None) -> None:
    run = start_run(session, source, last_watermark(session, source))
    finish_run(session, run, status=status, counts={"new": 1}, errors=[], message=None, watermark_after=watermark_after)


def test_a_source_never_crawled_has_no_watermark(session: Session) -> None:
    assert last_watermark(session, "hilma") is None


def test_only_a_finished_run_moves_the_watermark(session: Session) -> None:
    crawl(session, "hilma", "finished", START + timedelta(hours=1))
    crawl(session, "hilma", "failed", START + timedelta(hours=5))
    crawl(session, "hilma", "interrupted", START + timedelta(hours=6))
    assert last_watermark(session, "hilma") == START + timedelta(hours=1)
    crawl(session, "hilma", "finished", START + timedelta(hours=7))
    assert last_watermark(session, "hilma") == START + timedelta(hours=7)


def test_a_run_still_running_does_not_move_the_watermark(session: Session) -> None:
    crawl(session, "ted", "finished", START)
    run = start_run(session, "ted", START)
    run.watermark_after = START + timedelta(days=1)
    session.flush()
    assert last_watermark(session, "ted") == START


def test_watermarks_are_kept_per_source(session: Session) -> None:
    crawl(session, "hilma", "finished", START)
    crawl(session, "ted", "finished", START + timedelta(days=2))
    assert last_watermark(session, "hilma") == START
    assert last_watermark(session, "ted") == START + timedelta(days=2)


def test_a_finished_run_keeps_its_counts_and_at_most_fifty_short_errors(session: Session) -> None:
    run = start_run(session, "hilma", START)
    errors = [f"EF-{n}: not well-formed XML\n  at line {n}" for n in range(80)]
    finish_run(
        session,
        run,
        status="finished",
        counts={"pages": 3, "new": 12, "updated": 2, "unchanged": 40, "duplicate": 1, "failed": 80},
        errors=errors,
        message="valmis",
        watermark_after=START + timedelta(hours=2),
    )
    assert (run.pages, run.new, run.updated, run.unchanged, run.duplicate, run.failed) == (3, 12, 2, 40, 1, 80)
    assert len(run.errors) == MAX_ERRORS
    assert run.errors[0] == "EF-0: not well-formed XML at line 0"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.watermark_before == START


def test_a_run_cannot_finish_as_running_or_with_unknown_counters(session: Session) -> None:
    run = start_run(session, "hilma", None)
    with pytest.raises(ValueError, match="not 'running'"):
        finish_run(session, run, status="running", counts={}, errors=[], message=None, watermark_after=None)
    with pytest.raises(ValueError, match="unknown crawl counters"):
        finish_run(
            session, run, status="finished", counts={"skipped": 1}, errors=[], message=None, watermark_after=None
        )


def test_recent_runs_are_newest_first_and_filtered_by_source(session: Session) -> None:
    for source in ("hilma", "ted", "hilma"):
        crawl(session, source, "finished", START)
    runs = recent_runs(session)
    assert [run.id for run in runs] == sorted((run.id for run in runs), reverse=True)
    assert [run.source for run in recent_runs(session, "hilma")] == ["hilma", "hilma"]
    assert len(recent_runs(session, limit=1)) == 1
