"""Benchmark: from a notice published on HILMA to the alert at the SMTP server, with ``hankintavahti run`` going.

Run: ``.venv/bin/python bench/end_to_end.py [--interval-seconds 30] [--notices 3] [--postgresql ADMIN_URL]``

The service runs as in production, in its own process: ``hankintavahti run`` with
``CRAWL_INTERVAL`` of 30 seconds, the HILMA and TED stand-ins on loopback serving
the sample (at an unlimited request rate), a local SMTP server (aiosmtpd), one
confirmed subscriber with an instant search for anything, a fresh SQLite file (or
PostgreSQL database). After the first crawl's email, notices are published on the
HILMA stand-in one at a time, each at a random moment of the crawl cycle, and the
time until its alert is accepted by the SMTP server is measured. Target: within one
crawl interval plus 10 seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # import from the repository (bench.notices, crawler, models), not from bench/

from bench.ingest import PostgresDatabase  # noqa: E402
from crawler.standins import HilmaStandIn, TedStandIn, load_sample  # noqa: E402
from crawler.standins.sample import SampleData  # noqa: E402
from tests.alerts.smtp_server import SmtpTestServer  # noqa: E402
from tests.service.conftest import more_notices  # noqa: E402

COMMAND = Path(sys.executable).with_name("hankintavahti")
API_KEY = "bench-key"


def wait_for(condition: object, timeout: float, service: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        if service.poll() is not None:
            raise SystemExit(f"hankintavahti run stopped: {service.communicate()[0][-2000:]}")
        time.sleep(0.05)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--interval-seconds", type=float, default=30.0)
    parser.add_argument("--notices", type=int, default=3)
    parser.add_argument("--postgresql", help="admin URL: run against a fresh PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    interval = args.interval_seconds
    target = interval + 10

    sample = load_sample()
    with (
        tempfile.TemporaryDirectory() as workdir,
        HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=API_KEY) as hilma,
        TedStandIn(sample.ted_notices) as ted,
        SmtpTestServer() as smtp,
    ):
        postgres = PostgresDatabase(args.postgresql) if args.postgresql else None
        database_url = postgres.__enter__() if postgres else f"sqlite:///{workdir}/e2e.sqlite3"
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": workdir,
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "HILMA_API_URL": hilma.base_url,
            "HILMA_API_KEY": API_KEY,
            "TED_API_URL": ted.base_url,
            "HILMA_RATE_LIMIT": "600000",
            "TED_RATE_LIMIT": "600000",
            "CRAWL_INTERVAL": f"{interval / 60:.4f}",
            "SMTP_URL": smtp.url,
            "SECRET_KEY": "bench-secret-key-bench-secret-key",
        }
        try:
            for command in (["db", "upgrade"], ["subscribe", "kaikki@example.fi", "--confirmed"]):
                subprocess.run([str(COMMAND), *command], env=environment, cwd=workdir, check=True, capture_output=True)
            log = Path(workdir) / "run.log"
            with log.open("w") as output:
                service = subprocess.Popen(
                    [str(COMMAND), "run"],
                    env=environment,
                    cwd=workdir,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                try:
                    latencies = measure(service, hilma, smtp, sample, args.notices, interval)
                finally:
                    service.send_signal(signal.SIGTERM)
                    service.wait(timeout=120)
        finally:
            if postgres is not None:
                postgres.__exit__()

    database = "PostgreSQL" if postgres else "SQLite"
    print(f"CRAWL_INTERVAL {interval:.0f} s, {database}; target: each alert within {target:.0f} s")
    for number, latency in enumerate(latencies, start=1):
        print(f"  notice {number}: {latency:5.1f} s ({latency / interval:.2f} × interval)")
    print(
        f"median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s "
        f"({max(latencies) / target:.2f} × target): {'met' if max(latencies) <= target else 'NOT met'}"
    )


def measure(
    service: subprocess.Popen[str],
    hilma: HilmaStandIn,
    smtp: SmtpTestServer,
    sample: SampleData,
    count: int,
    interval: float,
) -> list[float]:
    """The first crawl's email, then per fresh notice the seconds from publishing to the next accepted email."""
    print("waiting for the first crawl and its email…", file=sys.stderr, flush=True)
    if not wait_for(lambda: smtp.messages, 180, service):
        raise SystemExit("no email within 3 minutes of starting hankintavahti run")
    latencies: list[float] = []
    for number in range(1, count + 1):
        time.sleep(random.uniform(0, interval))  # a random moment of the crawl cycle
        document, xml = more_notices(sample, number, published_at=datetime.now(UTC))[-1]  # fresh ids each
        seen = len(smtp.messages)
        hilma.publish(document, xml)
        published = time.monotonic()
        if not wait_for(lambda seen=seen: len(smtp.messages) > seen, interval * 3 + 60, service):
            raise SystemExit(f"notice {number} did not reach the SMTP server within {interval * 3 + 60:.0f} s")
        latencies.append(time.monotonic() - published)
        print(f"  notice {number}: {latencies[-1]:.1f} s", file=sys.stderr, flush=True)
    return latencies


if __name__ == "__main__":
    main()
