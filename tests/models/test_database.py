"""The schema, the migrations and opening a database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import models
from models.db import (
    alembic_config,
    compared_with_models,
    database_revision,
    head_revision,
    make_engine,
    open_database,
    session_scope,
    upgrade_database,
)
from models.notice import Notice
from models.subscriptions import Subscriber, Subscription
from models.tender import Tender

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def notice_row(source: str = "hilma", source_id: str = "EF-1", **values: object) -> Notice:
    return Notice(source=source, source_id=source_id, fetched_at=NOW, **values)


def test_the_migrated_schema_equals_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": compared_with_models}
        )
        assert compare_metadata(context, models.Base.metadata) == []


def test_the_database_is_at_the_head_revision(database_url: str) -> None:
    assert database_revision(database_url) == head_revision() == "0011"


def test_one_source_id_is_one_row_by_constraint_of_the_database(session: Session) -> None:
    session.add(notice_row())
    session.flush()
    session.add(notice_row())
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_same_source_id_from_another_source_is_another_row(session: Session) -> None:
    session.add_all([notice_row("hilma", "525037-2024"), notice_row("ted", "525037-2024")])
    session.flush()
    assert session.scalar(select(Notice.id).where(Notice.source == "ted")) is not None


def test_a_status_outside_the_known_ones_is_refused_by_the_database(session: Session) -> None:
    session.add(notice_row(status="deleted"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(notice_row(tender_id=999))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_new_tender_is_not_nationwide_until_classified(session: Session) -> None:
    insert = (
        "INSERT INTO tenders (key, kind, status, cpv, places, winners)"
        " VALUES ('k', 'plan', 'planned', '[]', '[]', '[]')"
    )
    session.execute(text(insert))
    assert session.scalar(select(Tender.nationwide)) is False


def test_a_unit_of_work_commits_when_it_succeeds(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        session.add(notice_row())
    with session_factory() as session:
        assert session.scalar(select(Notice.source_id)) == "EF-1"


def test_a_unit_of_work_that_fails_leaves_nothing(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        session.add(notice_row())
        session.flush()
        raise RuntimeError("the crawl broke")
    with session_factory() as session:
        assert session.scalar(select(Notice.id)) is None


def test_a_sqlite_file_in_a_missing_folder_is_created_and_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/data/hankintavahti.sqlite3"
    assert upgrade_database(url) == head_revision()
    assert (tmp_path / "var" / "data" / "hankintavahti.sqlite3").is_file()
    factory = open_database(url)
    with factory() as session:
        assert session.scalar(select(Notice.id)) is None
    factory.kw["bind"].dispose()


def test_a_relative_sqlite_path_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert upgrade_database("sqlite:///var/hankintavahti.sqlite3") == head_revision()
    assert (tmp_path / "var" / "hankintavahti.sqlite3").is_file()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.sqlite3")
    with engine.connect() as connection:
        assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
        assert connection.scalar(text("PRAGMA busy_timeout")) > 0
    engine.dispose()


def test_a_database_that_was_never_migrated_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    with pytest.raises(models.db.ConfigurationError) as raised:
        open_database(url)
    assert str(raised.value) == f"tietokantaa {url} ei ole vielä luotu. Aja ensin: hankintavahti db upgrade"


def test_a_database_at_an_older_revision_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    upgrade_database(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    with pytest.raises(
        models.db.ConfigurationError, match=r"versiossa 0000, tämä ohjelma tarvitsee version 0011. Aja ensin"
    ):
        open_database(url)


def test_an_unreachable_server_is_one_line_naming_database_url() -> None:
    url = "postgresql+psycopg://hv:secret@127.0.0.1:1/hankintavahti"
    with pytest.raises(models.db.ConfigurationError) as raised:
        open_database(url)
    message = str(raised.value)
    assert "\n" not in message
    assert "DATABASE_URL" in message
    assert "secret" not in message
    assert message.startswith("tietokantaa postgresql+psycopg://hv:***@127.0.0.1:1/hankintavahti ei saatu avattua")


def test_migrations_go_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/updown.sqlite3"
    upgrade_database(url)
    engine = make_engine(url)
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
    assert database_revision(url) is None
    assert upgrade_database(url) == head_revision()


def test_migrating_sqlite_keeps_every_row_that_points_at_a_copied_table(tmp_path: Path) -> None:
    """0009 copies subscribers and searches into new tables: rows pointing at them survive; ids are not reused."""
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    engine = make_engine(url)
    config = alembic_config(engine)
    command.upgrade(config, "0008")
    with engine.begin() as connection:
        for number in (1, 2):
            connection.execute(insert(Subscriber), {"id": number, "email": f"t{number}@yritys.test", "created_at": NOW})
            connection.execute(insert(Subscription), {"id": number, "subscriber_id": number, "created_at": NOW})
    command.upgrade(config, "head")
    with engine.begin() as connection:
        assert connection.scalar(text("SELECT count(*) FROM subscriptions WHERE subscriber_id IN (1, 2)")) == 2
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert connection.scalar(text("PRAGMA foreign_keys")) == 1
        connection.execute(text("DELETE FROM subscribers WHERE id = 2"))
        assert connection.scalar(text("SELECT count(*) FROM subscriptions")) == 1  # the cascade still works
        connection.execute(insert(Subscriber), {"email": "uusi@yritys.test", "created_at": NOW})
        assert connection.scalar(select(Subscriber.id).where(Subscriber.email == "uusi@yritys.test")) == 3
    engine.dispose()
