"""The scheduler's policy: which jobs, when, and how they behave after a pause or a crash.

``test_alert_commands.py`` runs ``hankintavahti run`` end to end; this checks what
that run cannot show in a minute: the digest times in Helsinki time, and that a run
missed while the machine was off runs once (coalesced, no misfire limit) from the
job store in the project database.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from config.settings import load_settings
from service.scheduler import build_scheduler

HELSINKI_MONDAY_0700 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
RUNS_FILE = "HANKINTAVAHTI_TEST_RUNS_FILE"


def record_run(frequency: str) -> None:
    """Stands in for the digest job: a line per run in a file (the job store imports this module by name,
    which may be another module object than the test's, so a list in memory would not do)."""
    with open(os.environ[RUNS_FILE], "a", encoding="utf-8") as runs:
        runs.write(frequency + "\n")


def settings_for(database_url: str):  # type: ignore[no-untyped-def]
    return load_settings({"DATABASE_URL": database_url, "CRAWL_INTERVAL": "15"}, env_file=Path(os.devnull))


def test_jobs_digests_at_seven_helsinki_time_and_one_instance_each(database_url: str) -> None:
    scheduler = build_scheduler(settings_for(database_url), BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"crawl-and-alert", "digest-daily", "digest-weekly"}
        for job in jobs.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
        sunday_evening = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
        assert jobs["digest-weekly"].trigger.get_next_fire_time(None, sunday_evening) == HELSINKI_MONDAY_0700
        summer = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # EEST: 07.00 is 04.00 UTC
        assert jobs["digest-daily"].trigger.get_next_fire_time(None, summer) == datetime(2026, 6, 11, 4, 0, tzinfo=UTC)
        assert jobs["crawl-and-alert"].trigger.interval == timedelta(minutes=15)
        assert jobs["digest-weekly"].args == ("weekly",)
    finally:
        scheduler.shutdown(wait=False)


def test_a_run_missed_while_stopped_runs_once_on_start(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs live in the project database: a scheduler started later finds the missed run and runs it once."""
    settings = settings_for(database_url)
    first = build_scheduler(settings, BackgroundScheduler)
    first.start(paused=True)  # stores the jobs
    first.shutdown(wait=True)
    # The machine was off for three days: the stored next run of the daily digest is in the past.
    store = SQLAlchemyJobStore(url=settings.database_url)
    store.start(BackgroundScheduler(timezone=settings.timezone), "default")
    stored = store.lookup_job("digest-daily")
    assert stored is not None
    stored._modify(next_run_time=datetime.now(UTC) - timedelta(days=3))
    store.update_job(stored)
    store.shutdown()

    runs = tmp_path / "runs.txt"
    runs.touch()
    monkeypatch.setenv(RUNS_FILE, str(runs))
    second = build_scheduler(settings, BackgroundScheduler)  # as `hankintavahti run` starts again
    second.start(paused=True)
    job = second.get_job("digest-daily")
    assert job is not None and job.next_run_time < datetime.now(UTC)  # the missed run is still there
    second.modify_job("digest-daily", func="tests.service.test_scheduler:record_run")
    for other in ("crawl-and-alert", "digest-weekly"):
        second.remove_job(other)
    second.resume()
    deadline = time.monotonic() + 10
    while not runs.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a second run would come now
    second.shutdown(wait=True)
    assert runs.read_text().splitlines() == ["daily"]  # three missed days, coalesced into one run
