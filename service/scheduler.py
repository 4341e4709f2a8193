"""``hankintavahti run``: the service's clock (APScheduler 3).

Jobs, kept in the project database by APScheduler's SQLAlchemy job store so that a
restart knows what was due:

* ``crawl-and-alert`` every ``CRAWL_INTERVAL`` minutes (and at start): crawl every
  source, then match and send the instant alerts at once;
* ``digest-daily`` at 07:00 Europe/Helsinki and ``digest-weekly`` on Mondays at 07:00.

Each job coalesces (a backlog of missed runs is one run), runs one instance at a
time, and has no misfire limit: a run missed while the machine was off runs once on
start. A crawl runs in a child process (a Twisted reactor cannot be restarted in one
process). SIGTERM or Ctrl-C stop taking new work; the job in flight finishes its
current message and the rest stays pending in the outbox for the next start.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.settings import Settings, load_settings

log = logging.getLogger("hankintavahti")

#: Set when the service is asked to stop: long jobs look at it between units of work.
STOPPING = threading.Event()

CRAWL_COMMAND = [sys.executable, "-c", "from service.cli import main; main()", "crawl", "all", "--quiet"]


def crawl_and_alert() -> None:
    """One cycle: crawl all sources in a child process, then send the instant alerts."""
    from alerts.runs import send_alerts
    from models.db import open_database
    from service.cli import alert_summary

    settings = load_settings()
    if STOPPING.is_set():
        return
    started = datetime.now(UTC)
    crawl = subprocess.run(CRAWL_COMMAND, capture_output=True, text=True, check=False)
    for line in (crawl.stdout + crawl.stderr).splitlines():
        if line.strip():
            log.info("%s", line)
    if crawl.returncode != 0:
        log.warning("Haku ei onnistunut kokonaan (%.0f s); hälytykset lähetetään silti.", _since(started))
    summary = send_alerts(settings, open_database(settings.database_url), stop=STOPPING.is_set)
    log.info("Hälytykset: %s", alert_summary(summary, "lähetys"))


def send_digest_job(frequency: str) -> None:
    """The daily or weekly digest that is due now."""
    from alerts.runs import send_digest
    from models.db import open_database
    from service.cli import alert_summary

    settings = load_settings()
    summary = send_digest(settings, open_database(settings.database_url), frequency, stop=STOPPING.is_set)
    log.info("%s: %s", "Päiväkooste" if frequency == "daily" else "Viikkokooste", alert_summary(summary, "lähetys"))


def build_scheduler(settings: Settings, kind: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """The scheduler with its jobs, stored in the project database (replacing stored definitions).

    ``run`` blocks in a :class:`BlockingScheduler`; tests take a background one.
    """
    scheduler = kind(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=settings.timezone,
    )
    scheduler.add_job(
        "service.scheduler:crawl_and_alert",
        IntervalTrigger(minutes=settings.crawl_interval_minutes, timezone=settings.timezone),
        id="crawl-and-alert",
        name="Haku ja hälytykset",
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    missed = stored_next_runs(settings)
    for job_id, name, trigger, frequency in (
        ("digest-daily", "Päiväkooste", CronTrigger(hour=7, minute=0, timezone=settings.timezone), "daily"),
        (
            "digest-weekly",
            "Viikkokooste",
            CronTrigger(day_of_week="mon", hour=7, minute=0, timezone=settings.timezone),
            "weekly",
        ),
    ):
        # The definition is replaced (a new version may change it), but a run that was due
        # while the service was down keeps its time, so it runs once on start.
        extra = {"next_run_time": missed[job_id]} if job_id in missed else {}
        scheduler.add_job(
            "service.scheduler:send_digest_job",
            trigger,
            args=[frequency],
            id=job_id,
            name=name,
            replace_existing=True,
            **extra,
        )
    return scheduler


def stored_next_runs(settings: Settings) -> dict[str, datetime]:
    """The stored jobs whose next run is already due (missed while the service was down)."""
    store = SQLAlchemyJobStore(url=settings.database_url)
    store.start(BackgroundScheduler(timezone=settings.timezone), "default")
    try:
        now = datetime.now(UTC)
        return {
            job.id: job.next_run_time
            for job in store.get_all_jobs()
            if job.next_run_time is not None and job.next_run_time <= now
        }
    finally:
        store.shutdown()


def run_service(settings: Settings) -> None:
    """Run until SIGTERM or Ctrl-C; the job in flight finishes first."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(settings)

    def stop(signum: int, frame: FrameType | None) -> None:
        if not STOPPING.is_set():
            log.info("Pysähdytään: käynnissä oleva työ viedään loppuun.")
            STOPPING.set()
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "Hankintavahti käynnissä: haku %s min välein, koosteet klo 7 (viikkokooste maanantaisin). Pysäytä Ctrl-C:llä.",
        f"{settings.crawl_interval_minutes:g}",
    )
    scheduler.start()
    log.info("Hankintavahti pysähtyi.")


def _since(started: datetime) -> float:
    return (datetime.now(UTC) - started).total_seconds()
