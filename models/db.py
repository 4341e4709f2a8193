"""Opening the database: engines, sessions, migrations, and a clear message when it is not ready.

One unit of work is one session and one transaction (:func:`session_scope`). The
schema is owned by Alembic: the application refuses a database whose revision is not
the code's head, because running new code on an old schema fails later and less
clearly (a missing column in the middle of a crawl).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config.errors import ConfigurationError

#: Alembic scripts, addressed as a package resource so that an installed copy finds them.
SCRIPT_LOCATION = "models:migrations"
#: How long SQLite waits for another writer (the crawler and the web app share the file).
SQLITE_BUSY_TIMEOUT_MS = 10_000
UPGRADE_HINT = "Aja ensin: hankintavahti db upgrade"


#: Tables that others own in the same database: APScheduler's job store keeps its own.
FOREIGN_TABLE_PREFIXES = ("apscheduler_",)


def compared_with_models(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Whether a schema object belongs in the comparison of the migrated schema with the models.

    Alembic's ``include_object`` hook, for the migrations and the schema test alike:
    another library's tables and the indexes only PostgreSQL has stay out.
    """
    from models.tender import POSTGRESQL_ONLY_INDEXES

    if type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES):
        return False
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


def make_engine(url: str) -> Engine:
    """An engine for a SQLite file (its folder is created) or a PostgreSQL server."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # psycopg prepares a statement after its fifth run, and PostgreSQL may then plan it
    # once for any parameters: a generic plan cannot tell a rare search word from a common
    # one, so free text lost its trigram index (4× slower in bench/web.py). Plans stay
    # per query; planning costs well under a millisecond here.
    return create_engine(parsed, pool_pre_ping=True, connect_args={"options": "-c plan_cache_mode=force_custom_plan"})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the CLI prints them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration without an ini file; ``engine`` is handed to env.py as is."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise ConfigurationError(
            "asennetusta paketista puuttuvat tietokannan migraatiot: asenna Hankintavahti uudelleen (make install)"
        )
    return head


def upgrade_database(url: str) -> str:
    """Create or migrate the schema to the newest revision; return that revision."""
    engine = make_engine(url)
    try:
        _check_reachable(engine, url)
        command.upgrade(alembic_config(engine), "head")
        return _revision(engine, url) or head_revision()
    finally:
        engine.dispose()


def database_revision(url: str) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    engine = make_engine(url)
    try:
        return _revision(engine, url)
    finally:
        engine.dispose()


def open_database(url: str) -> sessionmaker[Session]:
    """Sessions on a database that is reachable and migrated to the code's revision, or a clear error."""
    engine = make_engine(url)
    revision = _revision(engine, url)
    head = head_revision()
    if revision is None:
        engine.dispose()
        raise ConfigurationError(f"tietokantaa {_shown(url)} ei ole vielä luotu. {UPGRADE_HINT}")
    if revision != head:
        engine.dispose()
        raise ConfigurationError(
            f"tietokanta {_shown(url)} on versiossa {revision}, tämä ohjelma tarvitsee version {head}. {UPGRADE_HINT}"
        )
    return make_session_factory(engine)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"DATABASE_URL={url!r} ei ole tietokannan osoite") from None


def _shown(url: str) -> str:
    """The URL without its password, fit for a message."""
    return _parse(url).render_as_string(hide_password=True)


def _revision(engine: Engine, url: str) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        raise _unreachable(url, error) from None


def _check_reachable(engine: Engine, url: str) -> None:
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        raise _unreachable(url, error) from None


def _unreachable(url: str, error: DBAPIError) -> ConfigurationError:
    detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
    return ConfigurationError(f"tietokantaa {_shown(url)} ei saatu avattua (DATABASE_URL): {detail}")


def _configure_sqlite(connection: Any, _record: Any) -> None:
    """Per connection: enforce foreign keys, let readers work while the crawler writes, wait for locks."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
