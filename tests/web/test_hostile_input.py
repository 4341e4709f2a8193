"""A notice written to break things: stored on both databases, shown safely everywhere it is shown.

Notice text is untrusted: a buyer's clerk, a broken integration or an attacker can put
anything in it. One notice carries all of it at once: a 1 MB description with a word
thousands of characters long, 500 lots, control characters (NUL included, which
PostgreSQL refuses in text), right-to-left text and overrides, and HTML/script in every
text field. It must be stored, and the public tender page, the staff list and detail
page, the API and an alert email must show it as text, never as markup.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.runs import send_alerts
from alerts.subscribe import SearchRequest, subscribe
from config.settings import load_settings
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem
from crawler.standins import load_sample
from crawler.store import store_item
from models.db import session_scope
from models.notice import Notice
from models.tender import Tender
from tests.alerts.smtp_server import SmtpTestServer

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RTL = "\u202eabc\u202c مناقصة تنظيف עברית"
CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x1b[31m\x7f\u200b\ufeff"
#: What every text field carries.
HOSTILE = f"Siivous {SCRIPT} {RTL} {CONTROLS}"
LONG_WORD = "Ä" * 5000
#: About a megabyte of description: text, markup, a very long word, more text.
DESCRIPTION = f"{HOSTILE} {LONG_WORD} " + ("siivous ja kiinteistöhuolto " * 37_000)
MARKER = "Vihamielinen hankinta"
SAMPLE_DOCUMENT = next(d for d in load_sample().hilma_documents if d["id"].startswith("EF-") and not d["isCorrigendum"])


def hostile_document(**overrides: object) -> dict:
    """A HILMA index document with hostile text in every text field, published yesterday, open for two weeks.

    It goes through the mapper as a crawled one does: the mapper is where text is cleaned.
    """
    now = datetime.now(UTC)
    lots = [
        {
            "id": f"LOT-{number:04d}",
            "titleFi": f"Osa {number} {SCRIPT}",
            "titleOther": RTL,
            "descriptionFi": f"{HOSTILE} {number}",
            "cpvCodes": "90911200",
            "nutsCodes": "FI1C2",
            "estimatedValue": number,
        }
        for number in range(1, 501)
    ]
    document = {
        **SAMPLE_DOCUMENT,
        "titleFi": f"{MARKER} {HOSTILE}",
        "titleSv": f"{SCRIPT}{RTL}",
        "descriptionFi": DESCRIPTION,
        "organisationNameFi": f"Forssan kaupunki {SCRIPT}",
        "organisationAddress": f"{HOSTILE} 30100 Forssa FIN",
        "procurementDocumentsUrl": "javascript:alert(document.cookie)",
        "winnerOrganisations": f"{SCRIPT} (1234567-1)",
        "datePublished": (now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "dateModified": (now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "deadline": (now + timedelta(days=14)).isoformat().replace("+00:00", "Z"),
        "nutsCodes": "FI1C2",
        "cpvCodes": "90911200",
        "lots": lots,
    }
    document.update(overrides)
    return document


def store_document(session_factory: sessionmaker[Session], document: dict) -> NoticeItem:
    item = map_index_document(document)
    with session_scope(session_factory) as session:
        store_item(session, item)
    return item


@pytest.fixture
def hostile(session_factory: sessionmaker[Session]) -> tuple[NoticeItem, int]:
    item = store_document(session_factory, hostile_document())
    with session_factory() as session:
        tender_id = session.scalars(select(Tender.id)).one()
    return item, tender_id


def assert_shown_as_text(page: str) -> None:
    """No markup from the notice reaches the page as markup, and no NUL or escape byte reaches it at all."""
    assert "<script>alert" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page.lower() and "href='javascript:" not in page.lower()
    assert "\x00" not in page and "\x1b" not in page


def test_it_is_stored_whole_apart_from_the_bytes_text_cannot_hold(
    hostile: tuple[NoticeItem, int], session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        notice = session.scalars(select(Notice)).one()
        tender = session.scalars(select(Tender)).one()
        assert notice.status == "ok" and len(notice.lots) == 500
        assert SCRIPT in tender.title and "مناقصة" in tender.title
        assert LONG_WORD in notice.descriptions["fi"] and len(notice.descriptions["fi"]) > 1_000_000
        assert "\x00" not in tender.title and "\x00" not in notice.descriptions["fi"]


def test_the_public_tender_page_shows_it_as_text(hostile: tuple[NoticeItem, int], client: FlaskClient) -> None:
    _, tender_id = hostile
    page = client.get(f"/hankinnat/{tender_id}")
    assert page.status_code == 200
    assert_shown_as_text(page.text)
    assert "&lt;script&gt;alert(" in page.text and "مناقصة" in page.text
    assert "script-src 'self'" in page.headers.get("Content-Security-Policy", "") or "default-src" in page.headers.get(
        "Content-Security-Policy", ""
    )


def test_the_staff_list_and_detail_page_show_it_as_text(hostile: tuple[NoticeItem, int], staff: FlaskClient) -> None:
    _, tender_id = hostile
    listing = staff.get("/henkilokunta/?q=siivous&all=1")
    assert listing.status_code == 200 and MARKER in listing.text
    assert_shown_as_text(listing.text)
    detail = staff.get(f"/henkilokunta/hankinnat/{tender_id}")
    assert detail.status_code == 200 and "&lt;script&gt;alert(" in detail.text
    assert_shown_as_text(detail.text)


def test_the_staff_exports_neutralise_it(hostile: tuple[NoticeItem, int], staff: FlaskClient) -> None:
    export = staff.get("/henkilokunta/vienti.csv?all=1")
    assert export.status_code == 200 and MARKER in export.text
    assert "\x00" not in export.text


def test_the_api_returns_it_as_json_strings(hostile: tuple[NoticeItem, int], client: FlaskClient) -> None:
    answer = client.get("/api/tenders?all=1")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    (tender,) = answer.get_json()["items"]
    assert SCRIPT in tender["title"] and "مناقصة" in tender["title"]
    # Markup travels as JSON text; a browser must not sniff the answer into an HTML page.
    assert answer.headers.get("X-Content-Type-Options") == "nosniff"
    json.loads(answer.text)


def test_an_alert_email_shows_it_as_text_with_safe_headers_and_wrapping_words(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with SmtpTestServer() as smtp:
        settings = load_settings(
            {
                "DATABASE_URL": database_url,
                "SMTP_URL": smtp.url,
                "BASE_URL": "https://hankintavahti.test",
                "SECRET_KEY": "test-secret-key",
                "OUTBOX_DIR": str(tmp_path / "outbox"),
            },
            env_file=Path(os.devnull),
        )
        with session_factory() as session, session.begin():
            subscribe(
                session,
                Mailer.from_settings(settings),
                email="maija@siivous.test",
                search=SearchRequest(keywords=["siivous"]),
                now=now - timedelta(days=1),
                confirmed=True,
            )
        store_document(session_factory, hostile_document(titleFi=f"{MARKER}\r\nBcc: kaikki@example.test {HOSTILE}"))
        send_alerts(settings, session_factory)
        (received,) = smtp.messages
    message = received.message
    assert message["Bcc"] is None and "kaikki@example.test" not in received.recipients
    assert "\n" not in str(message["Subject"]).strip()
    html = message.get_body(preferencelist=("html",)).get_content()
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert MARKER in html and MARKER in plain
    assert_shown_as_text(html)
    assert "\x00" not in plain
    assert re.search(r"(overflow-wrap|word-break)\s*:\s*(anywhere|break-word|break-all)", html), "long words must wrap"
    assert len(received.data) < 2_000_000  # one long description does not make a megabyte email
