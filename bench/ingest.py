"""Benchmark: parse, classify and store notices, next to parsing the same payloads alone; and peak memory by batch size.

Run: ``.venv/bin/python bench/ingest.py [--notices 20000] [--postgresql ADMIN_URL] [--memory 10000,50000,100000]``

The notices are the sample's, copied with fresh ids (``bench/notices.py``): HILMA
index documents with their eForms XML (base64 in HILMA's envelope) and TED search
notices with theirs, about a quarter TED's. Each chunk of 200 payloads is generated
once (not timed) and then, side by side, read by json and lxml alone; parsed into
items by the project's mappers (the spiders' work: the baseline of the target);
and parsed, stored and classified into a fresh SQLite file and a fresh PostgreSQL
database through the crawl's own store path (:func:`crawler.pipelines.store_in_order`,
one transaction per chunk, as the store pipeline does). Target: the whole pipeline at
most 3× the parsing.

``--memory`` runs the SQLite pipeline in a child process per size and reports its
peak resident memory (``VmHWM``): ingestion streams, so the peak should not grow with
the number of notices (target: 100,000 under 300 MB).
"""

from __future__ import annotations

import argparse
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # import from the repository (bench.notices, crawler, models), not from bench/

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench.notices import Payload, parse, parse_only, payloads  # noqa: E402
from crawler.pipelines import STORE_BATCH, store_in_order  # noqa: E402
from models.db import open_database, session_scope, upgrade_database  # noqa: E402


def chunks(count: int, size: int = STORE_BATCH) -> Iterator[list[Payload]]:
    chunk: list[Payload] = []
    for payload in payloads(count):
        chunk.append(payload)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def store(sessions: sessionmaker[Session], chunk: list[Payload]) -> list[str]:
    """The pipeline's work on one chunk: parse each payload, then store and classify them in one transaction."""
    items = [parse(payload) for payload in chunk]
    with session_scope(sessions) as session:
        return store_in_order(session, items)


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PostgresDatabase:
    """A fresh database on the server of ``admin_url``, dropped afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"hankintavahti_bench_{secrets.token_hex(4)}"
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *_: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def side_by_side(count: int, postgresql: str | None) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        databases = {"SQLite": f"sqlite:///{workdir}/bench.sqlite3"}
        postgres = PostgresDatabase(postgresql) if postgresql else None
        if postgres is not None:
            databases["PostgreSQL"] = postgres.__enter__()
        try:
            stores: dict[str, sessionmaker[Session]] = {}
            for name, url in databases.items():
                upgrade_database(url)
                stores[name] = open_database(url)
            seconds: Counter[str] = Counter()
            outcomes: dict[str, Counter[str]] = {name: Counter() for name in stores}
            sources: Counter[str] = Counter()
            done = 0
            started = time.monotonic()
            for chunk in chunks(count):
                sources.update(payload.source for payload in chunk)
                seconds["json + lxml"] += timed(lambda chunk=chunk: [parse_only(p) for p in chunk])
                seconds["parse"] += timed(lambda chunk=chunk: [parse(p) for p in chunk])
                for name, sessions in stores.items():
                    seconds[name] += timed(lambda s=sessions, c=chunk, n=name: outcomes[n].update(store(s, c)))
                done += len(chunk)
                if done % 2000 < len(chunk):
                    print(f"  {done}/{count} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
            for sessions in stores.values():
                sessions.kw["bind"].dispose()
        finally:
            if postgres is not None:
                postgres.__exit__()

    print(f"{count} notices: {sources['hilma']} HILMA (index + eForms), {sources['ted']} TED (search + eForms)")
    for name, counts in outcomes.items():
        print(f"  {name} outcomes: {dict(counts)}")
    parse_seconds = seconds["parse"]
    print(f"{'step':42} {'notices/s':>10} {'seconds':>8} {'× parsing':>10} {'× json+lxml':>12}")
    rows = [
        ("json + lxml only (no mapping)", "json + lxml"),
        ("parse: mappers + eForms parser (baseline)", "parse"),
        *((f"parse + classify + store, {name}", name) for name in stores),
    ]
    for label, key in rows:
        value = seconds[key]
        print(
            f"{label:42} {count / value:10,.0f} {value:8.1f} {value / parse_seconds:10.2f} "
            f"{value / seconds['json + lxml']:12.2f}"
        )


def memory(sizes: list[int]) -> None:
    print(f"{'notices':>8} {'peak RSS MB':>12} {'seconds':>8}  (SQLite, one child process each)")
    for size in sizes:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(size)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"memory run of {size} failed: {done.stderr.strip()[-2000:]}")
        print(f"{size:8,} {float(done.stdout.strip()):12.1f} {time.monotonic() - started:8.0f}", flush=True)


def memory_child(size: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{workdir}/bench.sqlite3"
        upgrade_database(url)
        sessions = open_database(url)
        for chunk in chunks(size):
            store(sessions, chunk)
    print(f"{peak_rss_mb():.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--notices", type=int, default=20_000)
    parser.add_argument("--postgresql", help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--memory", help="comma-separated sizes for the peak-memory runs, e.g. 10000,50000,100000")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    print(f"{platform.machine()}, {platform.processor() or '?'}, Python {platform.python_version()}")
    if args.notices:
        side_by_side(args.notices, args.postgresql)
    if args.memory:
        memory([int(size) for size in args.memory.split(",")])


if __name__ == "__main__":
    main()
