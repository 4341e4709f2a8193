"""Fixtures shared by the whole suite: a migrated database on SQLite and on PostgreSQL, and notices.

Every test that asks for ``database_url`` (or ``engine``, ``session_factory``,
``session`` on top of it) runs twice: on a fresh SQLite file and on PostgreSQL.

* SQLite: the schema is migrated once into a template file; each test gets a copy.
* PostgreSQL: one database with a random name per test run (several runs may share
  the server), migrated once and dropped at the end; every table except Alembic's is
  emptied before each test. Without a server the PostgreSQL half is skipped, except
  under ``CI=true``, where a missing server is a failure.

``make_notice(**overrides)`` builds a valid :class:`~crawler.items.NoticeItem` (a
HILMA contract notice with fresh ids) so that a test states only what it is about.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import NoticeItem, Organisation, Place
from models.db import make_engine, make_session_factory, upgrade_database

#: The server CI provides; a developer may point the tests elsewhere.
POSTGRESQL_ADMIN_URL = os.environ.get(
    "HANKINTAVAHTI_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

MakeNotice = Callable[..., NoticeItem]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated PostgreSQL database for this test run: its URL and an engine to clean it."""
    admin = create_engine(POSTGRESQL_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRESQL_ADMIN_URL}: {str(error.orig).strip().splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true requires it)", pytrace=False)
        pytest.skip(reason)
    name = f"hankintavahti_test_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRESQL_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    cleaner = make_engine(url)
    try:
        upgrade_database(url)
        yield url, cleaner
    finally:
        cleaner.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database migrated to head, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hankintavahti.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, cleaner = request.getfixturevalue("postgresql_database")
    _empty_all_tables(cleaner)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def make_notice() -> MakeNotice:
    """A factory of valid notice items: ``make_notice(kind="award", deadline=None, …)``.

    Each call gets its own HILMA id, eForms notice id and procedure id, so two calls
    are two unrelated tenders unless the test links them (``procedure_id=…``).
    """
    counter = itertools.count(48000)

    def build(**overrides: Any) -> NoticeItem:
        number = next(counter)
        published_at = overrides.get("published_at", datetime(2026, 5, 4, 9, 30, tzinfo=UTC))
        source_id = overrides.get("source_id", f"EF-{number}")
        fields: dict[str, Any] = {
            "source": "hilma",
            "source_id": source_id,
            "url": f"https://www.hankintailmoitukset.fi/fi/public/procedure/{number}/enotice/{number}/",
            "published_at": published_at,
            "notice_id": str(uuid.uuid4()),
            "notice_version": "01",
            "procedure_id": str(uuid.uuid4()),
            "hilma_notice_number": f"2026-{number:06d}",
            "kind": "contract_notice",
            "notice_type": "cn-standard",
            "form_type": "competition",
            "subtype": "E3",
            "national": True,
            "language": "fi",
            "titles": {"fi": "Koulujen ja päiväkotien siivouspalvelut"},
            "descriptions": {"fi": "Hankinnan kohteena ovat kaupungin koulujen ja päiväkotien siivouspalvelut."},
            "cpv_main": "90911200",
            "contract_nature": "services",
            "procedure_type": "open",
            "estimated_value": Decimal("240000"),
            "currency": "EUR",
            "deadline": published_at + timedelta(days=21) if published_at else None,
            "documents_url": "https://tarjouspalvelu.fi/hameenlinna",
            "buyers": [
                Organisation(
                    name="Koulutuskuntayhtymä Tavastia",
                    business_id="0205303-4",
                    town="Hämeenlinna",
                    postcode="13100",
                    country="FIN",
                    nuts="FI1C2",
                )
            ],
            "places": [Place(nuts="FI1C2", town="Hämeenlinna")],
            "payloads": {"hilma-index": json.dumps({"id": source_id}).encode("utf-8")},
        }
        fields.update(overrides)
        return NoticeItem(**fields)

    return build


def _empty_all_tables(engine: Engine) -> None:
    """Empty every application table (whatever modules added them), keeping the schema and its revision."""
    with engine.begin() as connection:
        tables = connection.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        ).all()
        if tables:
            names = ", ".join(f'"{table}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
