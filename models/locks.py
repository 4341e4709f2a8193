"""Named locks across processes and machines that share one database.

Several ``hankintavahti run`` instances may point at one database (a standby on a
second machine, or a restart that overlaps the old process). A named lock lets one
of them be the scheduler and lets each job run in one place at a time.

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection
  of its own, held while the ``with`` block runs. The server releases it when that
  connection ends, so a process killed with SIGKILL, or a machine that vanished, leaves
  no stale lock behind once PostgreSQL notices the connection is gone.
* SQLite: ``flock`` on a file next to the database file (``<file>.<name>.lock``). SQLite
  is one machine's database, so a file lock reaches every process that can open it,
  and the kernel releases it when the holder dies. An in-memory database belongs to one
  process: its locks are always granted.

Locks are tried, not waited for: :func:`named_lock` yields a :class:`Lock` whose
``taken`` is False when another holder has it, and the caller decides whether to skip
the work or to try again later. A lock held for long (the scheduler's) asks
:meth:`Lock.still_held` now and then: a PostgreSQL connection that broke took its lock
with it, and a standby may have taken over.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

#: All of the service's advisory lock keys share this prefix, so they do not collide with another application's.
KEY_PREFIX = "hankintavahti:"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (Python's ``hash`` differs between processes)."""
    digest = hashlib.sha256((KEY_PREFIX + name).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file(database: str, name: str) -> Path:
    """The file that stands for lock ``name`` of the SQLite database file ``database``."""
    return Path(f"{database}.{re.sub(r'[^A-Za-z0-9_-]+', '-', name)}.lock")


@dataclass
class Lock:
    """A named lock as :func:`named_lock` yields it."""

    name: str
    taken: bool
    _connection: Connection | None = None

    def still_held(self) -> bool:
        """Whether the lock is still ours: its PostgreSQL session answers (a file lock lasts as long as we do)."""
        if not self.taken:
            return False
        if self._connection is None:
            return True
        try:
            self._connection.scalar(text("SELECT 1"))
        except DBAPIError:
            return False
        return True


@contextmanager
def named_lock(engine: Engine, name: str) -> Iterator[Lock]:
    """Hold lock ``name`` for the block when no other process holds it (``taken``), or say that one does."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name) as lock:
            yield lock
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield Lock(name, taken=True)
        return
    with _file_lock(lock_file(database, name)) as taken:
        yield Lock(name, taken=taken)


@contextmanager
def _advisory_lock(engine: Engine, name: str) -> Iterator[Lock]:
    key = advisory_key(name)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    taken = False
    try:
        taken = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        yield Lock(name, taken, connection)
    finally:
        try:
            if taken:
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        except DBAPIError:
            # The session is gone, and its lock with it; the broken connection must not go back to the pool.
            connection.invalidate()
        finally:
            connection.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
