"""The alert commands as a user runs them: subscribe, subscribers list, alerts send, digest send, run.

Each runs in its own process against the test's database, the HILMA and TED stand-ins
and either the outbox folder (no ``SMTP_URL``) or a real SMTP server on loopback.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.smtp_server import SmtpTestServer
from tests.service.conftest import API_KEY, COMMAND, RunCommand

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


def outbox_messages(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


def test_subscribe_crawl_and_send_into_the_outbox_folder_once(hankintavahti: RunCommand, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    env = {"OUTBOX_DIR": str(outbox), "SECRET_KEY": "cli-test-key"}
    assert hankintavahti("db", "upgrade").returncode == 0
    saved = hankintavahti(
        "subscribe",
        "Maija@Example.fi",
        "--name",
        "Maija",
        "--sector",
        "rakentaminen",
        "--sector",
        "kiinteistonhoito",
        "--region",
        "Kanta-Häme",
        "--nationwide",
        "--confirmed",
        **env,
    )
    assert saved.returncode == 0, saved.output
    assert "voimassa: rakentaminen, kiinteistönhoito, Kanta-Häme, koko maa (heti) → maija@example.fi" in saved.stdout
    unconfirmed = hankintavahti("subscribe", "timo@example.fi", "--sector", "kuljetus", "--region", "053", **env)
    assert unconfirmed.returncode == 0 and "Vahvistusviesti lähtee" in unconfirmed.stdout

    assert hankintavahti("crawl", "all", "--quiet").returncode == 0
    sent = hankintavahti("alerts", "send", **env)
    assert sent.returncode == 0, sent.output
    assert "2 lähetetty (kansio " in sent.stdout
    messages = outbox_messages(outbox)
    assert Counter(str(m["To"]) for m in messages) == {"maija@example.fi": 1, "timo@example.fi": 1}
    alert = next(m for m in messages if m["To"] == "maija@example.fi")
    assert "uutta" in str(alert["Subject"]) and "rakentaminen" in str(alert["Subject"])
    confirmation = next(m for m in messages if m["To"] == "timo@example.fi")
    assert str(confirmation["Subject"]) == "Vahvista Hankintavahdin tilaus"

    again = hankintavahti("alerts", "send", **env)
    assert again.returncode == 0 and "0 lähetetty" in again.stdout
    assert len(outbox_messages(outbox)) == 2

    listed = hankintavahti("subscribers", "list", "--format", "json", **env)
    records = {record["email"]: record for record in json.loads(listed.stdout)}
    assert records["maija@example.fi"]["sent"] == 1
    assert records["timo@example.fi"]["searches"][0]["status"] == "unconfirmed"
    table = hankintavahti("subscribers", "list", **env).stdout
    assert "maija@example.fi (Maija) – 1 viesti lähetetty" in table and "odottaa vahvistusta" in table


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["subscribe", "ei-osoite", "--sector", "siivous"], {}, "sähköpostiosoite 'ei-osoite' ei kelpaa"),
        (["subscribe", "a@b.fi", "--sector", "putkityöt"], {}, "tuntematon toimiala 'putkityöt'"),
        (["subscribe", "a@b.fi", "--region", "Atlantis"], {}, "--region 'Atlantis': ei maakunnan"),
        (["subscribe", "a@b.fi", "--min-value", "paljon"], {}, "--min-value 'paljon' ei ole euromäärä"),
        (["subscribe", "a@b.fi", "--business-id", "1234567-2"], {}, "Y-tunnus '1234567-2' ei kelpaa"),
        (["alerts", "send"], {"SMTP_URL": "ftp://mail.example.fi"}, "SMTP_URL="),
        (["alerts", "send"], {"MAIL_FROM": "ei osoite"}, "MAIL_FROM='ei osoite' ei kelpaa"),
    ],
)
def test_bad_input_is_one_finnish_line(
    hankintavahti: RunCommand, args: list[str], env: dict[str, str], expected: str
) -> None:
    assert hankintavahti("db", "upgrade").returncode == 0
    done = hankintavahti(*args, **env)
    assert done.returncode != 0
    assert expected in done.stderr
    assert "Traceback" not in done.output and len(done.stderr.strip().splitlines()) == 1


def test_digest_send_over_smtp_once_per_period(hankintavahti: RunCommand, smtp_server: SmtpTestServer) -> None:
    env = {"SMTP_URL": smtp_server.url, "SECRET_KEY": "cli-test-key"}
    assert hankintavahti("db", "upgrade").returncode == 0
    args = ("subscribe", "viikko@example.fi", "--sector", "rakentaminen", "--frequency", "weekly", "--confirmed")
    assert hankintavahti(*args, **env).returncode == 0
    assert hankintavahti("crawl", "all", "--quiet").returncode == 0
    assert hankintavahti("alerts", "send", **env).returncode == 0
    assert smtp_server.messages == []  # a weekly search waits for its digest
    done = hankintavahti("digest", "send", "--frequency", "weekly", "--now", **env)
    assert done.returncode == 0, done.output
    assert "Viikkokooste" in done.stdout and "1 viesti koottu" in done.stdout and "1 lähetetty (SMTP" in done.stdout
    [message] = smtp_server.messages
    assert str(message.message["Subject"]).startswith("Viikkokooste ")
    assert str(message.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    scheduled = hankintavahti("digest", "send", "--frequency", "weekly", **env)
    assert scheduled.returncode == 0 and "0 lähetetty" in scheduled.stdout
    assert len(smtp_server.messages) == 1


def test_run_crawls_alerts_and_stops_cleanly_on_sigterm(
    hankintavahti: RunCommand,
    smtp_server: SmtpTestServer,
    database_url: str,
    tmp_path: Path,
    hilma: object,
    ted: object,
) -> None:
    env = {"SMTP_URL": smtp_server.url, "SECRET_KEY": "cli-test-key"}
    assert hankintavahti("db", "upgrade").returncode == 0
    subscribe = ("subscribe", "heti@example.fi", "--sector", "rakentaminen", "--confirmed")
    assert hankintavahti(*subscribe, **env).returncode == 0
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "HILMA_API_URL": hilma.base_url,  # type: ignore[attr-defined]
        "HILMA_API_KEY": API_KEY,
        "TED_API_URL": ted.base_url,  # type: ignore[attr-defined]
        "HILMA_RATE_LIMIT": "600000",
        "TED_RATE_LIMIT": "600000",
        "CRAWL_INTERVAL": "0.05",  # three seconds
        **env,
    }
    service = subprocess.Popen(
        [str(COMMAND), "run"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages and time.monotonic() < deadline and service.poll() is None:
            time.sleep(0.2)
        assert smtp_server.messages, "no alert reached the SMTP server within a minute"
        time.sleep(4)  # at least one more cycle: it must not send the same again
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=60)
    assert service.returncode == 0, output
    assert "Hankintavahti käynnissä" in output and "Hankintavahti pysähtyi." in output
    assert "Traceback" not in output
    assert [m.recipients for m in smtp_server.messages] == [["heti@example.fi"]]
