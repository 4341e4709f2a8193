"""Notice text is untrusted: it can neither add email headers nor markup, from the crawl to the SMTP server.

Tenders are stored as the crawler stores them, emails are composed and sent by the same
code as ``alerts send`` and read back as the SMTP server received them: the envelope
recipients, the raw header block and the parsed parts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.delivery import deliver_pending
from alerts.runs import send_alerts
from alerts.subscribe import SearchRequest, subscribe
from alerts.transport import SmtpTransport
from config.settings import Settings, load_settings
from crawler.items import NoticeItem, Organisation, Place
from crawler.store import store_item
from models.db import session_scope
from tests.alerts.smtp_server import ReceivedMessage, SmtpTestServer
from tests.conftest import MakeNotice
from web import create_app

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
SUBSCRIBER = "maija@siivous.test"
#: Line breaks of every kind a header parser or a mail client might honour.
BREAKS = ["\r\n", "\n", "\r", "\u2028", "\x85", "\r\n\t"]
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SMTP_URL": smtp_server.url,
            "MAIL_FROM": "Hankintavahti <vahti@hankintavahti.test>",
            "BASE_URL": "https://hankintavahti.test",
            "SECRET_KEY": "test-secret-key",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        env_file=Path(os.devnull),
    )


Store = Callable[..., NoticeItem]


@pytest.fixture
def store(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> Store:
    def put(**overrides: Any) -> NoticeItem:
        values: dict[str, Any] = {"published_at": NOW - timedelta(days=1), "deadline": NOW + timedelta(days=14)}
        values.update(FORSSA)
        values.update(overrides)
        item = make_notice(**values)
        with session_scope(session_factory) as session:
            store_item(session, item)
        return item

    return put


@pytest.fixture
def subscribed(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with session_scope(session_factory) as session:
        subscribe(
            session,
            Mailer.from_settings(settings),
            email=SUBSCRIBER,
            search=SearchRequest(sectors=["siivous"], regions=["subregion:053"]),
            now=NOW - timedelta(days=2),
            name="Maija",
            confirmed=True,
        )


def header_block(received: ReceivedMessage) -> list[str]:
    """The header lines as they travelled, continuation lines joined to theirs."""
    head = received.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return re.sub(r"\r\n[ \t]", " ", head).split("\r\n")


def assert_no_injected_headers(received: ReceivedMessage) -> None:
    names = [line.split(":", 1)[0].lower() for line in header_block(received)]
    assert "bcc" not in names and "cc" not in names and names.count("to") == 1, names
    assert received.recipients == [SUBSCRIBER]
    assert received.message.get_all("Bcc") is None
    subject = str(received.message["Subject"])
    assert not any(mark in subject for mark in ("\r", "\n", "\u2028", "\x85")), repr(subject)


@pytest.mark.parametrize("line_break", BREAKS)
def test_a_title_with_line_breaks_cannot_add_headers_to_a_new_or_changed_tender_alert(
    settings: Settings,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    store: Store,
    subscribed: None,
    line_break: str,
) -> None:
    hostile = f"Siivous{line_break}Bcc: evil@example.com"
    first = store(titles={"fi": hostile})
    send_alerts(settings, session_factory, now=NOW)
    store(
        kind="correction",
        procedure_id=first.procedure_id,
        changed_notice=first.full_notice_id,
        titles={"fi": f"Koulujen siivous{line_break}To: toinen@example.com{line_break}{line_break}Runko"},
        published_at=NOW + timedelta(hours=1),
    )
    send_alerts(settings, session_factory, now=NOW + timedelta(hours=2))

    assert len(smtp_server.messages) == 2
    for received in smtp_server.messages:
        assert_no_injected_headers(received)
    change = smtp_server.messages[1].message
    subject = str(change["Subject"]).strip()  # the stdlib may fold a long ASCII subject right after "Subject:"
    assert subject.startswith("Muutos seuraamaasi hankintaan: Koulujen siivous To: toinen@example.com")


def test_hostile_notice_text_is_escaped_in_the_html_of_an_alert(
    settings: Settings,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    store: Store,
    subscribed: None,
) -> None:
    store(
        titles={"fi": f"Siivous {SCRIPT}"},
        descriptions={"fi": f"Kuvaus {SCRIPT}"},
        buyers=[Organisation(name=f"Forssan kaupunki {SCRIPT}", business_id="0203150-0", town="Forssa")],
        url="javascript:alert(1)",
    )
    send_alerts(settings, session_factory, now=NOW)

    [received] = smtp_server.messages
    assert_no_injected_headers(received)
    html = received.message.get_body(preferencelist=("html",)).get_content()
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html and "Forssan kaupunki &lt;script&gt;" in html


def test_a_hostile_name_from_the_subscribe_form_is_escaped_in_the_confirmation_and_the_manage_link_emails(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    client = create_app(settings, session_factory).test_client()
    name = f"Maija{SCRIPT}\r\nBcc: evil@example.com"
    form = client.get("/tilaa").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/tilaa",
        data={"csrf_token": token, "email": SUBSCRIBER, "name": name, "company": SCRIPT, "sectors": "siivous"},
    )
    assert answer.status_code == 200
    assert client.post("/tilaukseni", data={"csrf_token": token, "email": SUBSCRIBER}).status_code == 200
    mailer = Mailer.from_settings(settings)
    with SmtpTransport(smtp_server.url) as transport:
        assert deliver_pending(session_factory, transport, mail_from=mailer.mail_from).sent == 2

    for received in smtp_server.messages:
        assert_no_injected_headers(received)
        html = received.message.get_body(preferencelist=("html",)).get_content()
        assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
