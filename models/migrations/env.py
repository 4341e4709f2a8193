"""Alembic environment: migrations run on the engine that :mod:`models.db` hands over.

``hankintavahti db upgrade`` calls :func:`models.db.upgrade_database`, which passes
its engine in ``config.attributes``; running ``alembic`` by hand works too with
``-x url=…`` or ``DATABASE_URL``. SQLite cannot alter tables, so migrations run in
batch mode there (the table is recreated).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

import models
from models.db import compared_with_models, make_engine

target_metadata = models.Base.metadata


def _run(connection: Connection) -> None:
    """Run the migrations in one transaction; on SQLite with foreign keys unenforced meanwhile.

    SQLite alters a table by copying it into a new one and dropping the old: with foreign
    keys enforced, that drop would cascade to (or null the references of) every row that
    points at the table. The pragma has no effect inside a transaction, so it is set
    before the first one, and the references are checked before the commit instead.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            include_object=compared_with_models,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left references to missing rows: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is not None:
        with engine.connect() as connection:
            _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("give the database with -x url=… or DATABASE_URL")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run against a database")
run_migrations_online()
