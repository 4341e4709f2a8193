"""Scaling out against one database: several senders, two service instances, named locks.

* Four ``hankintavahti alerts send`` processes at once over 10,000 queued messages on
  PostgreSQL: each message reaches the SMTP server exactly once (``FOR UPDATE SKIP LOCKED``).
* Two ``hankintavahti run`` instances on one database: one runs the jobs, the other waits
  and takes over when the first is killed; crawls never overlap, and a crawl run that a
  killed process left marked running is closed as interrupted.
* :func:`models.locks.named_lock` on both databases, and on PostgreSQL a lock held by a
  process killed with SIGKILL is free again.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from models.crawl import CrawlRun
from models.locks import named_lock
from models.outbox import Message
from models.subscriptions import Subscriber
from tests.alerts.smtp_server import SmtpTestServer
from tests.service.conftest import API_KEY, COMMAND

PROJECT = Path(__file__).resolve().parents[2]
QUEUED = 10_000
SUBSCRIBERS = 200
SENDERS = 4


@pytest.fixture
def smtp_server() -> SmtpTestServer:  # type: ignore[misc]
    with SmtpTestServer() as server:
        yield server


def base_environment(database_url: str, home: Path, **more: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "scaling-test-key",
        "MAIL_FROM": "Hankintavahti <vahti@hankintavahti.test>",
        **more,
    }


def queue_messages(engine: Engine, count: int) -> dict[str, str]:
    """``count`` pending emails spread over SUBSCRIBERS subscribers, as composing leaves them; Message-ID → address."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Subscriber),
            [
                {
                    "email": f"tilaaja{number:04d}@example.fi",
                    "language": "fi",
                    "status": "active",
                    "bounces": 0,
                    "created_at": now,
                }
                for number in range(SUBSCRIBERS)
            ],
        )
        ids = {email: id_ for email, id_ in connection.execute(select(Subscriber.email, Subscriber.id))}
        addresses = sorted(ids)
        rows = []
        for number in range(count):
            address = addresses[number % len(addresses)]
            rows.append(
                {
                    "subscriber_id": ids[address],
                    "kind": "instant",
                    "to_address": address,
                    "subject": f"Hankintavahti: {number} uusi hankinta",
                    "text": f"Viesti {number}.",
                    "html": f"<p>Viesti {number}.</p>",
                    "headers": {},
                    "message_id_header": f"<skaalaus.{number}@hankintavahti.test>",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now - timedelta(minutes=1),
                    "created_at": now,
                }
            )
        connection.execute(insert(Message), rows)
    return {row["message_id_header"]: row["to_address"] for row in rows}


@pytest.mark.postgresql
@pytest.mark.e2e
def test_four_senders_at_once_send_each_queued_message_exactly_once(
    database_url: str, engine: Engine, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several senders at once is PostgreSQL's job (SQLite has no row locks)")
    queued = queue_messages(engine, QUEUED)
    environment = base_environment(database_url, tmp_path, SMTP_URL=smtp_server.url)
    started = time.monotonic()
    senders = [
        subprocess.Popen(
            [str(COMMAND), "alerts", "send"],
            env=environment,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(SENDERS)
    ]
    outputs = [sender.communicate(timeout=300)[0] for sender in senders]
    elapsed = time.monotonic() - started
    assert [sender.returncode for sender in senders] == [0] * SENDERS, outputs

    sent_by_each = [int(re.search(r"(\d+) lähetetty \(SMTP", output).group(1)) for output in outputs]  # type: ignore[union-attr]
    assert sum(sent_by_each) == QUEUED
    assert all(sent > 0 for sent in sent_by_each), sent_by_each  # they really shared the queue
    received = Counter((str(m.message["Message-ID"]).strip(), tuple(m.recipients)) for m in smtp_server.messages)
    assert received == Counter({(message_id, (address,)): 1 for message_id, address in queued.items()})
    with engine.connect() as connection:
        assert Counter(connection.scalars(select(Message.status))) == {"sent": QUEUED}
    print(f"\n{QUEUED} messages, {SENDERS} senders: {elapsed:.1f} s ({QUEUED / elapsed:.0f}/s), each {sent_by_each}")


# --- named locks ----------------------------------------------------------------------------------------------------


def test_a_named_lock_has_one_holder_at_a_time_and_is_free_after_release(engine: Engine) -> None:
    with named_lock(engine, "job:crawl-and-alert") as first:
        assert first.taken and first.still_held()
        with named_lock(engine, "job:crawl-and-alert") as second:
            assert not second.taken and not second.still_held()
        with named_lock(engine, "job:digest-daily") as other:
            assert other.taken  # another name is another lock
    with named_lock(engine, "job:crawl-and-alert") as again:
        assert again.taken


HOLD_LOCK = """
import sys, time
from models.db import make_engine
from models.locks import named_lock
with named_lock(make_engine(sys.argv[1]), "scheduler") as lock:
    print("held" if lock.taken else "refused", flush=True)
    time.sleep(600)
"""


def test_a_lock_held_by_a_killed_process_is_free_again(database_url: str, engine: Engine, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, database_url], cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with named_lock(engine, "scheduler") as lock:
            assert not lock.taken
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    deadline = time.monotonic() + 10  # PostgreSQL ends the session when it sees the socket close
    while True:
        with named_lock(engine, "scheduler") as lock:
            if lock.taken or time.monotonic() > deadline:
                assert lock.taken
                break
        time.sleep(0.1)


# --- two services on one database -----------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def crawl_runs(engine: Engine) -> list[tuple[str, datetime, datetime | None, str, str | None]]:
    with engine.connect() as connection:
        return [
            tuple(row)  # type: ignore[misc]
            for row in connection.execute(
                select(
                    CrawlRun.source, CrawlRun.started_at, CrawlRun.finished_at, CrawlRun.status, CrawlRun.message
                ).order_by(CrawlRun.started_at, CrawlRun.id)
            )
        ]


@pytest.mark.e2e
def test_two_services_on_one_database_run_each_job_in_one_place_and_a_standby_takes_over(
    database_url: str, engine: Engine, hilma: object, ted: object, tmp_path: Path
) -> None:
    environment = base_environment(
        database_url,
        tmp_path,
        OUTBOX_DIR=str(tmp_path / "outbox"),
        HILMA_API_URL=hilma.base_url,  # type: ignore[attr-defined]
        HILMA_API_KEY=API_KEY,
        TED_API_URL=ted.base_url,  # type: ignore[attr-defined]
        HILMA_RATE_LIMIT="600000",
        TED_RATE_LIMIT="600000",
        CRAWL_INTERVAL="0.05",  # three seconds
    )
    # A crawl that a killed process left marked running.
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with engine.begin() as connection:
        connection.execute(insert(CrawlRun).values(source="hilma", started_at=long_ago, status="running", errors=[]))
    logs = {name: tmp_path / f"{name}.log" for name in ("first", "second")}

    def start(name: str) -> subprocess.Popen[bytes]:
        with logs[name].open("wb") as log:
            return subprocess.Popen(
                [str(COMMAND), "run"], env=environment, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
            )

    first = start("first")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: "Hälytykset:" in logs["first"].read_text(), 60, "the first service's first cycle")
        second = start("second")
        wait_for(lambda: "odottaa varalla" in logs["second"].read_text(), 30, "the second service to stand by")
        time.sleep(7)  # two more cycles of the first; the second must do nothing
        assert "Hälytykset:" not in logs["second"].read_text()
        assert "Hankintavahti käynnissä" not in logs["second"].read_text()

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = datetime.now(UTC)
        wait_for(lambda: "Hälytykset:" in logs["second"].read_text(), 60, "the standby to take over")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
        if second is not None:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    assert second is not None and second.returncode == 0, logs["second"].read_text()
    second_log = logs["second"].read_text()
    assert "Traceback" not in logs["first"].read_text() + second_log
    assert "Hankintavahti käynnissä" in second_log and "Hankintavahti pysähtyi." in second_log

    runs = crawl_runs(engine)
    abandoned, *crawls = runs
    assert abs(abandoned[1] - long_ago) < timedelta(seconds=1)
    assert abandoned[3] == "interrupted" and "pysähtyi kesken" in (abandoned[4] or "")
    assert all(status != "running" for _, _, _, status, _ in runs)  # the killed service's crawl stopped too
    assert any(started > killed_at for _, started, _, _, _ in crawls)  # the standby crawled
    before_kill = [run for run in crawls if run[1] < killed_at]
    for earlier, later in itertools.pairwise(before_kill):  # one crawl at a time: never two services at once
        assert earlier[2] is not None and earlier[2] <= later[1], (earlier, later)
