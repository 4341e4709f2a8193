"""Staff picks in the weekly digest: shown to every weekly recipient once, in one run, and nowhere else.

Tenders are stored as the crawler stores them; the picks are the rows the staff page
writes (``StaffPick`` waiting with no digest run). The emails are read from the outbox.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.runs import send_alerts, send_digest
from alerts.subscribe import SearchRequest, subscribe
from config.settings import Settings, load_settings
from crawler.items import Place
from crawler.store import store_item
from models.db import session_scope
from models.outbox import DigestRun, Message
from models.review import StaffPick
from models.subscriptions import Subscriber
from models.tender import Tender
from tests.alerts.smtp_server import SmtpTestServer
from tests.conftest import MakeNotice

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 12.00 in Helsinki
NEXT_MONDAY = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # 07.00 in Helsinki
TUESDAY = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
PICKED = "Lahden kaupungin ohjelmistokehitys"
SECTION = "Henkilökunnan poiminnat"


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


Store = Callable[..., int]


@pytest.fixture
def store(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> Store:
    """Store a notice (published a day before NOW, deadline in two weeks); the tender's id."""

    def put(**overrides: Any) -> int:
        values: dict[str, Any] = {"published_at": NOW - timedelta(days=1), "deadline": NOW + timedelta(days=14)}
        values.update(FORSSA)
        values.update(overrides)
        with session_scope(session_factory) as session:
            store_item(session, make_notice(**values))
        with session_factory() as session:
            return session.scalars(select(Tender.id).order_by(Tender.id.desc()).limit(1)).one()

    return put


def save(session_factory: sessionmaker[Session], settings: Settings, email: str, frequency: str) -> None:
    with session_scope(session_factory) as session:
        subscribe(
            session,
            Mailer.from_settings(settings),
            email=email,
            search=SearchRequest(sectors=["siivous"], frequency=frequency),
            now=NOW - timedelta(days=2),
            confirmed=True,
        )


def pick(session_factory: sessionmaker[Session], tender_id: int) -> None:
    with session_scope(session_factory) as session:
        session.add(StaffPick(tender_id=tender_id, picked_by="maija", picked_at=NOW - timedelta(hours=1)))


def texts_to(session_factory: sessionmaker[Session], email: str) -> list[tuple[str, str]]:
    with session_factory() as session:
        rows = session.execute(
            select(Message.text, Message.html)
            .join(Subscriber, Message.subscriber_id == Subscriber.id)
            .where(Subscriber.email == email)
            .order_by(Message.id)
        )
        return [(text, html) for text, html in rows]


def test_picks_reach_every_weekly_recipient_once_and_no_other_email(
    settings: Settings, session_factory: sessionmaker[Session], store: Store
) -> None:
    for email, frequency in (("viikko@a.test", "weekly"), ("viikko@b.test", "weekly")):
        save(session_factory, settings, email, frequency)
    save(session_factory, settings, "paiva@firma.test", "daily")
    save(session_factory, settings, "heti@firma.test", "instant")
    store(titles={"fi": "Forssan koulujen siivous"}, deadline=NOW + timedelta(days=10))
    picked = store(titles={"fi": PICKED}, cpv_main="72000000", descriptions={"fi": "Ohjelmistokehitys."})
    pick(session_factory, picked)

    send_alerts(settings, session_factory, now=NOW)
    send_digest(settings, session_factory, "daily", now=TUESDAY)
    send_digest(settings, session_factory, "weekly", now=NEXT_MONDAY)

    for email in ("viikko@a.test", "viikko@b.test"):
        [(text, html)] = texts_to(session_factory, email)
        assert text.count(SECTION) == 1 and text.count(PICKED) == 1
        assert text.index("Forssan koulujen siivous") < text.index(SECTION) < text.index("Määräaika lähestyy")
        assert re.search(rf"<h2[^>]*>{SECTION}</h2>", html) and html.count(PICKED) >= 1
    for email in ("paiva@firma.test", "heti@firma.test"):
        [(text, _)] = texts_to(session_factory, email)
        assert SECTION not in text and PICKED not in text
    with session_factory() as session:
        run_id = session.scalars(select(DigestRun.id).where(DigestRun.frequency == "weekly")).one()
        assert session.scalars(select(StaffPick.digest_run_id)).all() == [run_id]

    store(titles={"fi": "Forssan uimahallin siivous"}, published_at=NEXT_MONDAY)
    send_alerts(settings, session_factory, now=NEXT_MONDAY + timedelta(hours=1))
    send_digest(settings, session_factory, "weekly", now=NEXT_MONDAY + timedelta(days=7))
    later = texts_to(session_factory, "viikko@a.test")[1][0]
    assert "Forssan uimahallin siivous" in later and SECTION not in later and PICKED not in later


def test_a_weekly_run_that_mails_nobody_leaves_the_picks_waiting(
    settings: Settings, session_factory: sessionmaker[Session], store: Store
) -> None:
    save(session_factory, settings, "viikko@a.test", "weekly")
    pick(session_factory, store(titles={"fi": PICKED}, cpv_main="72000000"))

    send_alerts(settings, session_factory, now=NOW)
    send_digest(settings, session_factory, "weekly", now=NEXT_MONDAY)  # no matches: no email (picks alone are not one)

    assert texts_to(session_factory, "viikko@a.test") == []
    with session_factory() as session:
        assert session.scalars(select(StaffPick.digest_run_id)).all() == [None]
