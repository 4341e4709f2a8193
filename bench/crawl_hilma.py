"""Benchmark: a whole HILMA crawl against the local stand-in, next to bare parsing of the same payloads.

Run: ``.venv/bin/python bench/crawl_hilma.py [--notices 2000] [--postgresql URL]``

It serves N notices (the sample, then copies with fresh ids) from the HILMA stand-in
at an unlimited rate, runs ``hankintavahti crawl hilma`` into a fresh SQLite file (and
a fresh PostgreSQL database when given), and in the same run times parsing the same
index documents and eForms XML with the project's mappers alone. The ratio says what
the crawl (HTTP, Scrapy, storing, tender state) costs over parsing; machines here are
shared and noisy, so compare ratios from one run rather than absolute figures.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.eforms import parse_eforms
from crawler.hilma_json import map_index_document
from crawler.items import combine
from crawler.standins import HilmaStandIn, load_sample
from tests.service.conftest import more_notices

COMMAND = Path(sys.executable).with_name("hankintavahti")


def bare_parse_seconds(documents: list[dict], eforms: dict[int, bytes]) -> float:
    started = time.perf_counter()
    for document in documents:
        item = map_index_document(document)
        xml = eforms.get(document["noticeId"])
        if xml is not None:
            envelope = base64.b64encode(xml)  # as the spider gets it: base64 in a JSON envelope
            combine(item, parse_eforms(base64.b64decode(envelope), source="hilma", source_id=item.source_id))
    return time.perf_counter() - started


def crawl_seconds(database_url: str, standin: HilmaStandIn, workdir: Path) -> float:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url,
        "HILMA_API_URL": standin.base_url,
        "HILMA_API_KEY": "bench-key",
        "HILMA_RATE_LIMIT": "6000000",
        "CRAWL_INITIAL_DAYS": "3650",
    }
    subprocess.run([str(COMMAND), "db", "upgrade"], env=environment, cwd=workdir, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run(
        [str(COMMAND), "crawl", "hilma", "-q"], env=environment, cwd=workdir, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"crawl failed: {done.stdout}{done.stderr}")
    print("   ", done.stdout.strip())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--postgresql", help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    sample = load_sample()
    standin = HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key="bench-key")
    eforms = {**sample.hilma_eforms}
    for document, xml in more_notices(sample, max(0, args.notices - len(sample.hilma_documents))):
        standin.publish(document, xml)
        eforms[document["noticeId"]] = xml
    documents = standin.documents
    count = len(documents)
    print(f"{count} HILMA notices ({sum(1 for d in documents if not d['isPlan'])} with eForms XML)")

    parse = bare_parse_seconds(documents, eforms)
    print(f"bare parsing:  {count / parse:8.0f} notices/s ({parse:.2f} s)")
    with standin, tempfile.TemporaryDirectory() as workdir:
        results = {"SQLite": crawl_seconds(f"sqlite:///{workdir}/bench.sqlite3", standin, Path(workdir))}
        if args.postgresql:
            admin = create_engine(args.postgresql, isolation_level="AUTOCOMMIT")
            name = f"hankintavahti_bench_{secrets.token_hex(4)}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(args.postgresql).set(database=name).render_as_string(hide_password=False)
                results["PostgreSQL"] = crawl_seconds(url, standin, Path(workdir))
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for database, seconds in results.items():
        print(
            f"crawl into {database + ':':11} {count / seconds:6.0f} notices/s ({seconds:.1f} s), "
            f"{seconds / parse:5.1f}× bare parsing"
        )


if __name__ == "__main__":
    main()
