"""``hankintavahti run``: the service's clock (APScheduler 3).

Jobs, kept in the project database by APScheduler's SQLAlchemy job store so that a
restart knows what was due:

* ``crawl-and-alert`` every ``CRAWL_INTERVAL`` minutes (and at start): crawl every
  source, then match and send the instant alerts at once, then look up in the company
  register (PRH) the winners whose award notices leave their location out (last, as
  nothing waits for it; SIGTERM stops it between two firms);
* ``digest-daily`` at 07:00 Europe/Helsinki and ``digest-weekly`` on Mondays at 07:00.

Each job coalesces (a backlog of missed runs is one run), runs one instance at a
time, and has no misfire limit: a run missed while the machine was off runs once on
start. A crawl runs in a child process (a Twisted reactor cannot be restarted in one
process); the child is stopped with SIGTERM if the service dies, so no crawl outlives it.
SIGTERM or Ctrl-C stop taking new work; the job in flight finishes its current message
and the rest stays pending in the outbox for the next start.

Several instances against one database (a standby on a second machine): only the one
that holds the ``scheduler`` lock (:mod:`models.locks`: a PostgreSQL advisory lock, or a
file lock next to a SQLite file) runs jobs; the others wait and take over within
:data:`STANDBY_POLL_SECONDS` when it stops or dies. Each job also holds a lock of its
own name while it runs, so that even two schedulers that both believe they lead (a
leader whose database connection broke, before it notices) never run the same job at
once. The leader that takes over first closes the crawl runs a dead process left
marked as running.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings, load_settings
from models.locks import Lock, named_lock

log = logging.getLogger("hankintavahti")

#: Set when the service is asked to stop: long jobs look at it between units of work.
STOPPING = threading.Event()

#: The lock whose holder runs the jobs; the other instances are standbys.
SCHEDULER_LOCK = "scheduler"
#: How often a standby tries to take over, and how often the leader checks that its lock still holds.
STANDBY_POLL_SECONDS = 5.0

#: The crawl's child process gets SIGTERM when the thread that started it (and so the service) dies.
CRAWL_COMMAND = [
    sys.executable,
    "-c",
    "from service.scheduler import die_with_parent; die_with_parent(); from service.cli import main; main()",
    "crawl",
    "all",
    "--quiet",
]
#: After the alerts, in its own child process likewise: the company register's lookups.
LOOKUP_COMMAND = [*CRAWL_COMMAND[:3], "crawl", "prh", "--quiet"]
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the crawl's child: ask Linux for SIGTERM when the service dies (Scrapy then stops cleanly, 'interrupted').

    Elsewhere nothing happens, and a crawl left behind ends on its own.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the service died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


@contextmanager
def job_database(job: str) -> Iterator[tuple[Settings, sessionmaker[Session] | None]]:
    """The settings and the database for one run of ``job``, or None as the database when the job runs elsewhere."""
    from models.db import open_database

    settings = load_settings()
    sessions = open_database(settings.database_url)
    engine = sessions.kw["bind"]
    try:
        with named_lock(engine, f"job:{job}") as lock:
            if not lock.taken:
                log.warning(
                    "Työ %s on jo käynnissä toisessa Hankintavahti-palvelussa; tämä kerta jätetään väliin.", job
                )
            yield settings, sessions if lock.taken else None
    finally:
        engine.dispose()


def crawl_and_alert() -> None:
    """One cycle: crawl all sources in a child process, then send the instant alerts."""
    from alerts.runs import send_alerts
    from service.cli import alert_summary

    if STOPPING.is_set():
        return
    with job_database("crawl-and-alert") as (settings, sessions):
        if sessions is None:
            return
        started = datetime.now(UTC)
        crawl = subprocess.run(CRAWL_COMMAND, capture_output=True, text=True, check=False)
        for line in (crawl.stdout + crawl.stderr).splitlines():
            if line.strip():
                log.info("%s", line)
        if crawl.returncode != 0:
            log.warning("Haku ei onnistunut kokonaan (%.0f s); hälytykset lähetetään silti.", _since(started))
        summary = send_alerts(settings, sessions, stop=STOPPING.is_set)
        log.info("Hälytykset: %s", alert_summary(summary, "lähetys"))
        if not STOPPING.is_set():
            look_up_companies()


def look_up_companies() -> None:
    """``crawl prh`` in a child process, told to stop when the service is (what it did not ask, it asks next time)."""
    lookups = subprocess.Popen(LOOKUP_COMMAND, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    told = False
    while True:
        try:
            output, _ = lookups.communicate(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            if STOPPING.is_set() and not told:
                # Once: Scrapy stops cleanly after the lookup in flight (the run is "interrupted"); twice would kill it.
                lookups.send_signal(signal.SIGTERM)
                told = True
    for line in output.splitlines():
        if line.strip():
            log.info("%s", line)
    if lookups.returncode != 0:
        log.warning("Yritysrekisteristä ei saatu kaikkia voittajia; puuttuvat haetaan seuraavalla kerralla.")


def send_digest_job(frequency: str) -> None:
    """The daily or weekly digest that is due now."""
    from alerts.runs import send_digest
    from service.cli import alert_summary

    with job_database(f"digest-{frequency}") as (settings, sessions):
        if sessions is None:
            return
        summary = send_digest(settings, sessions, frequency, stop=STOPPING.is_set)
        label = "Päiväkooste" if frequency == "daily" else "Viikkokooste"
        log.info("%s: %s", label, alert_summary(summary, "lähetys"))


def build_scheduler(settings: Settings, kind: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    """The scheduler with its jobs, stored in the project database (replacing stored definitions)."""
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
    """Run until SIGTERM or Ctrl-C, as the leader or as a standby that takes over; the job in flight finishes first."""
    from models.db import make_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_late_submissions)

    def stop(signum: int, frame: FrameType | None) -> None:
        if not STOPPING.is_set():
            log.info("Pysähdytään: käynnissä oleva työ viedään loppuun.")
            STOPPING.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    engine = make_engine(settings.database_url)
    waiting_said = False
    try:
        while not STOPPING.is_set():
            with named_lock(engine, SCHEDULER_LOCK) as leader:
                if leader.taken:
                    lead(settings, leader)
                    waiting_said = False
                    continue
            if not waiting_said:
                log.info(
                    "Toinen Hankintavahti-palvelu hoitaa ajastetut työt tässä tietokannassa; "
                    "tämä odottaa varalla ja jatkaa, jos se pysähtyy."
                )
                waiting_said = True
            STOPPING.wait(STANDBY_POLL_SECONDS)
    finally:
        engine.dispose()
    log.info("Hankintavahti pysähtyi.")


def lead(settings: Settings, leader: Lock) -> None:
    """Run the jobs while this process holds the scheduler lock and is not asked to stop."""
    close_abandoned_crawls(settings)
    scheduler = build_scheduler(settings)
    log.info(
        "Hankintavahti käynnissä: haku %s min välein, koosteet klo 7 (viikkokooste maanantaisin). Pysäytä Ctrl-C:llä.",
        f"{settings.crawl_interval_minutes:g}",
    )
    scheduler.start()
    try:
        while not STOPPING.wait(STANDBY_POLL_SECONDS):
            if not leader.still_held():
                log.warning("Yhteys tietokantaan katkesi ja ajastuslukko menetettiin; odotetaan varalla.")
                break
    finally:
        scheduler.shutdown(wait=True)


def close_abandoned_crawls(settings: Settings) -> None:
    """Crawl runs still marked running when no crawl can be: their process was killed. Mark them interrupted."""
    from models.crawl import abandon_running_runs
    from models.db import session_scope

    with job_database("crawl-and-alert") as (_, sessions):
        if sessions is None:
            return
        with session_scope(sessions) as session:
            runs = abandon_running_runs(
                session, reason="prosessi pysähtyi kesken haun; seuraava haku jatkaa edellisestä onnistuneesta"
            )
            for run in runs:
                log.warning(
                    "Haku %s (%s, aloitettu %s) jäi kesken: merkitty keskeytetyksi.", run.id, run.source, run.started_at
                )


def _late_submissions(record: logging.LogRecord) -> bool:
    """Drop APScheduler's traceback for a run that fell due while stopping: its executor is closed, and the
    run is not lost (it is still due in the job store, so the next start runs it)."""
    return not (STOPPING.is_set() and record.getMessage().startswith("Error submitting job"))


def _since(started: datetime) -> float:
    return (datetime.now(UTC) - started).total_seconds()
