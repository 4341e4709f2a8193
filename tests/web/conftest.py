"""What the web tests share: one app, one mailer, tenders stored as the crawler stores them, staff login.

Every web test talks to the real Flask app (``web.create_app``) over the migrated
database of ``tests/conftest.py`` (so each runs on SQLite and PostgreSQL), and staff
log in through the real login form with its CSRF token, so login and CSRF are tested
wherever a staff page is. Test modules import the plain helpers from here
(``from tests.web.conftest import log_in``), as they import ``MakeNotice`` from the
suite's conftest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from alerts.compose import Mailer
from config.settings import Settings, load_settings
from crawler.items import NoticeItem
from crawler.store import store_item
from models.db import session_scope
from models.staff import add_staff_user
from models.tender import Tender
from tests.conftest import MakeNotice
from web import create_app

#: The site's address in the test settings; links in emails start with it.
BASE_URL = "https://hankintavahti.test"
#: The password of the staff user ``maija`` that ``staff_user`` adds.
PASSWORD = "oikea-salasana-42"
LOGIN_PATH = "/henkilokunta/kirjaudu"

Store = Callable[..., NoticeItem]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings from these values only: a developer's ``.env`` must not change what the tests see."""
    return load_settings(
        {"DATABASE_URL": database_url, "BASE_URL": BASE_URL, "SECRET_KEY": "test-secret-key"},
        env_file=Path(os.devnull),
    )


@pytest.fixture
def mailer(settings: Settings) -> Mailer:
    """The mailer the app would build, so signed links in tests are the ones the app accepts."""
    return Mailer.from_settings(settings)


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> FlaskClient:
    """A browser without a session on the real app and the test database."""
    return create_app(settings, session_factory).test_client()


@pytest.fixture
def staff_user(session_factory: sessionmaker[Session]) -> str:
    """A staff account ``maija`` with ``PASSWORD`` (stored as "Maija": usernames are matched case-blind)."""
    with session_scope(session_factory) as session:
        add_staff_user(session, "Maija", PASSWORD, now=datetime.now(UTC))
    return "maija"


@pytest.fixture
def staff(client: FlaskClient, staff_user: str) -> FlaskClient:
    """The client logged in as staff through the real form."""
    sign_in(client)
    return client


@pytest.fixture
def store(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> Store:
    """Store a notice as the crawler would: published a day ago, deadline in two weeks (unless told).

    Times are relative to the real clock, because the pages list what is open now. The
    title may be given first (``store("Koulun siivous", **FORSSA)``).
    """

    def put(title: str | None = None, **overrides: Any) -> NoticeItem:
        now = datetime.now(UTC)
        values: dict[str, Any] = {"published_at": now - timedelta(days=1), "deadline": now + timedelta(days=14)}
        if title is not None:
            values["titles"] = {"fi": title}
        values.update(overrides)
        item = make_notice(**values)
        with session_scope(session_factory) as session:
            store_item(session, item)
        return item

    return put


def tender_id(session_factory: sessionmaker[Session], title: str) -> int:
    """The id of the one tender with this title (pages are addressed by tender id)."""
    with session_factory() as session:
        return session.scalars(select(Tender.id).where(Tender.title == title)).one()


def path(url: str) -> str:
    """A link from an email as the test client wants it: without the site's address."""
    return url.removeprefix(BASE_URL)


def token_of(page: str) -> str:
    """The CSRF token of the first form on a page: every POST needs the session's token."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def log_in(client: FlaskClient, username: str = "maija", password: str = PASSWORD, **extra: str) -> TestResponse:
    """Post the login form as a person would, with the token from the form; the answer, whatever it is."""
    return client.post(
        LOGIN_PATH,
        data={"csrf_token": token_of(client.get(LOGIN_PATH).text), "username": username, "password": password, **extra},
    )


def sign_in(client: FlaskClient) -> None:
    """Log in as ``maija`` and check that it worked (to the staff home), for tests about what comes after."""
    done = log_in(client)
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/"
