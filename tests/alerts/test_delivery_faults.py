"""Delivery when the sender dies: ``hankintavahti alerts send`` killed with SIGKILL in the middle of a batch.

The command runs in its own process against the test's database (SQLite and
PostgreSQL) and a real SMTP server on loopback in this process. The server accepts
some messages and then withholds its answer to the next one's final dot, so that the
kill lands while a message is in flight: either the server has not kept it (a send that
broke off) or it has (a server that queued the message but whose ``250`` never reached
us, the same as a sender that dies between the ``250`` and its commit). Then the
command runs again, and every (subscriber, tender, event) must have arrived exactly as
the README promises: at least once, at most twice, and twice only for the one message
that was in flight, with the same Message-ID both times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.delivery import deliver_pending
from alerts.subscribe import SearchRequest, subscribe
from alerts.transport import SmtpTransport
from config.settings import load_settings
from crawler.store import store_item
from models.db import session_scope
from models.outbox import Alert, Message
from models.subscriptions import Subscriber
from tests.alerts.smtp_server import SmtpTestServer
from tests.conftest import MakeNotice

COMMAND = Path(sys.executable).with_name("hankintavahti")
SUBSCRIBERS = 40
TENDERS = 3
ACCEPTED_BEFORE_KILL = 15


def command_environment(database_url: str, smtp_url: str, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "SMTP_URL": smtp_url,
        "SECRET_KEY": "delivery-fault-key",
        "MAIL_FROM": "Hankintavahti <vahti@hankintavahti.test>",
        "BASE_URL": "https://hankintavahti.test",
    }


def queue_alerts(database_url: str, sessions: sessionmaker[Session], make_notice: MakeNotice) -> None:
    """Tenders and confirmed instant searches that match them all: each subscriber gets one email of TENDERS alerts."""
    now = datetime.now(UTC)
    settings = load_settings({"DATABASE_URL": database_url, "SECRET_KEY": "x"}, env_file=Path(os.devnull))
    mailer = Mailer.from_settings(settings)
    with session_scope(sessions) as session:
        for number in range(TENDERS):
            item = make_notice(
                titles={"fi": f"Koulujen siivouspalvelut, alue {number + 1}"},
                published_at=now - timedelta(hours=1),
                deadline=now + timedelta(days=20),
            )
            store_item(session, item)
        for number in range(SUBSCRIBERS):
            subscribe(
                session,
                mailer,
                email=f"yrittaja{number:03d}@siivous.test",
                search=SearchRequest(sectors=["siivous"]),
                now=now - timedelta(days=1),
                confirmed=True,
            )


def alert_keys_by_message_id(sessions: sessionmaker[Session]) -> dict[str, list[tuple[int, int, str]]]:
    """Each email's Message-ID and the (subscriber, tender, event) it carries."""
    keys: dict[str, list[tuple[int, int, str]]] = {}
    with sessions() as session:
        rows = session.execute(
            select(Message.message_id_header, Alert.subscriber_id, Alert.tender_id, Alert.event).join(
                Alert, Alert.message_id == Message.id
            )
        )
        for message_id, subscriber_id, tender_id, event in rows:
            keys.setdefault(message_id, []).append((subscriber_id, tender_id, event))
    return keys


@pytest.mark.parametrize("server_kept_it", [False, True], ids=["in-flight-lost", "in-flight-kept"])
def test_sigkill_mid_batch_then_restart_delivers_each_alert_once_or_the_in_flight_one_twice(
    database_url: str,
    session_factory: sessionmaker[Session],
    make_notice: MakeNotice,
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    server_kept_it: bool,
) -> None:
    queue_alerts(database_url, session_factory, make_notice)
    environment = command_environment(database_url, smtp_server.url, tmp_path)
    smtp_server.stall_after(ACCEPTED_BEFORE_KILL, keep=server_kept_it)

    sender = subprocess.Popen(
        [str(COMMAND), "alerts", "send"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.stalled and sender.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert smtp_server.stalled, "the sender never reached the stalled message"
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.communicate(timeout=30)
    assert sender.returncode == -signal.SIGKILL
    before_restart = [str(received.message["Message-ID"]).strip() for received in smtp_server.messages]
    assert len(before_restart) == ACCEPTED_BEFORE_KILL + server_kept_it

    restarted = subprocess.run(
        [str(COMMAND), "alerts", "send"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    resent = SUBSCRIBERS - ACCEPTED_BEFORE_KILL
    assert f"{resent} lähetetty (SMTP" in restarted.stdout

    keys = alert_keys_by_message_id(session_factory)
    assert sum(len(carried) for carried in keys.values()) == SUBSCRIBERS * TENDERS  # every match is in an email
    received = Counter(str(message.message["Message-ID"]).strip() for message in smtp_server.messages)
    assert set(received) == set(keys)  # nothing lost, nothing foreign
    copies_of_alert = Counter({key: received[message_id] for message_id, carried in keys.items() for key in carried})
    assert set(copies_of_alert.values()) <= {1, 2}
    twice = sorted(message_id for message_id, copies in received.items() if copies == 2)
    if server_kept_it:
        # Only the message in flight at the kill, and it is the same email (same Message-ID) both times.
        assert twice == [before_restart[-1]]
    else:
        assert twice == []
    with session_factory() as session:
        statuses = Counter(session.scalars(select(Message.status)))
    assert statuses == {"sent": SUBSCRIBERS}


# --- the commit before the next email, in process ------------------------------------------------------------------

MAIL_FROM = "Hankintavahti <vahti@hankintavahti.test>"


def queue_messages(sessions: sessionmaker[Session], count: int) -> list[str]:
    """``count`` pending emails to one subscriber, as composing leaves them; their Message-IDs in sending order."""
    now = datetime.now(UTC)
    with session_scope(sessions) as session:
        subscriber = Subscriber(email="yrittaja@siivous.test", language="fi", status="active", created_at=now)
        session.add(subscriber)
        session.flush()
        for number in range(count):
            session.add(
                Message(
                    subscriber_id=subscriber.id,
                    kind="instant",
                    to_address=subscriber.email,
                    subject=f"{number + 1} uutta tarjouspyyntöä",
                    text=f"Viesti {number}.\n",
                    html=f"<p>Viesti {number}.</p>\n",
                    headers={},
                    message_id_header=f"<viesti.{number}@hankintavahti.test>",
                    status="pending",
                    attempts=0,
                    next_attempt_at=now - timedelta(minutes=1),
                    created_at=now,
                )
            )
    return [f"<viesti.{number}@hankintavahti.test>" for number in range(count)]


def sent_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent")) or 0


class Watched:
    """A transport that, at the moment each email could be accepted, counts the emails marked sent for good."""

    def __init__(self, inner: SmtpTransport, sessions: sessionmaker[Session]) -> None:
        self.inner, self.sessions, self.description = inner, sessions, inner.description
        self.marked_before_accept: list[int] = []

    def __enter__(self) -> Watched:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.inner.__exit__(*exc_info)

    def send(self, message: Any, *, before_accept: Callable[[], object] | None = None) -> None:
        def watch() -> None:
            if before_accept is not None:
                before_accept()
            self.marked_before_accept.append(sent_count(self.sessions))  # another connection: only what is committed

        self.inner.send(message, before_accept=watch)


def test_each_email_is_accepted_only_after_the_one_before_it_is_marked_sent_for_good(
    session_factory: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_messages(session_factory, 12)
    watched = Watched(SmtpTransport(smtp_server.url), session_factory)

    outcome = deliver_pending(session_factory, watched, mail_from=MAIL_FROM)

    assert outcome.sent == 12 and sent_count(session_factory) == 12
    assert watched.marked_before_accept == list(range(12))
    assert [str(m.message["Message-ID"]) for m in smtp_server.messages] == ids


def test_a_failed_commit_stops_the_batch_before_the_next_email_is_accepted_and_the_rerun_sends_it_once_more(
    engine: Engine, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_messages(session_factory, 8)
    commits = Counter[str]()

    def third_commit_fails(connection: Connection) -> None:
        commits["seen"] += 1
        if commits["seen"] == 3:
            raise RuntimeError("levy täynnä")

    event.listen(engine, "commit", third_commit_fails)
    try:
        with pytest.raises(RuntimeError, match="levy täynnä"):
            deliver_pending(session_factory, SmtpTransport(smtp_server.url), mail_from=MAIL_FROM)
    finally:
        event.remove(engine, "commit", third_commit_fails)
    # The third was accepted and its mark lost; the fourth was under way but never accepted.
    assert [str(m.message["Message-ID"]) for m in smtp_server.messages] == ids[:3]
    assert sent_count(session_factory) == 2

    assert deliver_pending(session_factory, SmtpTransport(smtp_server.url), mail_from=MAIL_FROM).sent == 6
    received = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
    assert received == Counter({**dict.fromkeys(ids, 1), ids[2]: 2})  # twice only the one in flight, same ID
    assert sent_count(session_factory) == 8
