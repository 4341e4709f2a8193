"""Benchmark: render and send 10,000 daily digest emails to a local SMTP server, next to bare smtplib.

Run: ``.venv/bin/python bench/email_digests.py [--emails 10000] [--tenders 300] [--alerts 4] [--postgresql URL]``

Into a fresh database (a SQLite file; with ``--postgresql`` a new database on that
server, dropped at the end) it stores ``--tenders`` tenders the crawler's way (notice →
tender → classification), and ``--emails`` subscribers, each with one confirmed daily
search and ``--alerts`` recorded matches on random tenders. Then, timed:

1. **render**: ``compose_digest`` builds the period's digests (the tenders' sections, the
   "closing within 7 days" list, HTML and text, links signed per subscriber), one email
   per subscriber, frozen in the outbox;
2. **send**: ``deliver_pending`` sends the outbox over ``SmtpTransport``, each message
   marked sent in its own transaction after the server's ``250`` (the delivery guarantee);
3. **bare smtplib** (the yardstick): the same emails, the very bytes ``deliver_pending``
   sent (``wire_email``) built beforehand, sent with ``smtplib.SMTP.sendmail`` over one
   connection, nothing else.

The SMTP server is aiosmtpd with a handler that keeps nothing, in a process of its own,
so that neither side shares an interpreter with it. The issue's target: render and send
at least half as fast as bare smtplib (ratio ≥ 0.5).
"""

from __future__ import annotations

import argparse
import email.policy
import os
import platform
import random
import secrets
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from alerts.compose import Mailer
from alerts.delivery import deliver_pending, wire_email
from alerts.digests import compose_digest, immediate_period
from alerts.transport import SmtpTransport, WireEmail, envelope_sender
from config.settings import load_settings
from crawler.items import NoticeItem, Organisation, Place
from crawler.store import store_item
from models.db import make_engine, make_session_factory, session_scope, upgrade_database
from models.outbox import Alert, Message
from models.subscriptions import Subscriber, Subscription

MAIL_FROM = "Hankintavahti <hankintavahti@bench.test>"
TITLES = (
    "Koulujen ja päiväkotien ylläpitosiivous",
    "Kiinteistöjen lumityöt ja hiekoitus",
    "Koulukuljetukset lukuvuosille 2027–2029",
    "Kunnantalon peruskorjaus, LVI-urakka",
    "Ateriapalvelut vanhusten palvelutaloihin",
    "Tietoliikenneyhteydet ja verkkolaitteet",
    "Katuvalaistuksen kunnossapito",
    "Vesihuoltolinjojen saneeraus",
)
PLACES = (
    ("Hämeenlinna", "13100", "FI1C2"),
    ("Forssa", "30100", "FI1C2"),
    ("Riihimäki", "11100", "FI1C2"),
    ("Lahti", "15100", "FI1C3"),
    ("Heinola", "18100", "FI1C3"),
)
SECTORS = ("siivous", "kiinteistonhoito", "kuljetus", "rakentaminen", "ict")
CPV = ("90911200", "90620000", "60130000", "45331000", "55320000", "32420000", "50232100", "45232150")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--tenders", type=int, default=300)
    parser.add_argument("--alerts", type=int, default=4, help="matches per subscriber")
    parser.add_argument("--postgresql", metavar="URL", help="admin URL of a PostgreSQL server to measure on instead")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    random.seed(args.seed)

    with tempfile.TemporaryDirectory(prefix="hankintavahti-bench-email-") as folder:
        url, drop = fresh_database(args.postgresql, Path(folder))
        server = start_smtp_sink()
        try:
            run(args, url, server[1])
        finally:
            server[0].terminate()
            server[0].wait(timeout=10)
            drop()


def run(args: argparse.Namespace, url: str, port: int) -> None:
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    print(f"Tallennetaan {args.tenders} hankintaa, {args.emails} tilaajaa, {args.alerts} osumaa kullakin…", flush=True)
    store_tenders(sessions, args.tenders, now)
    queue_matches(engine, args.emails, args.alerts, now)
    settings = load_settings(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "MAIL_FROM": MAIL_FROM, "BASE_URL": "https://bench.test"},
        env_file=Path(os.devnull),
    )
    mailer = Mailer.from_settings(settings)
    smtp_url = f"smtp://127.0.0.1:{port}?starttls=no"

    started = time.perf_counter()
    with session_scope(sessions) as session:
        built = compose_digest(session, mailer, immediate_period("daily", now), now=now)
    rendered_at = time.perf_counter()
    outcome = deliver_pending(sessions, SmtpTransport(smtp_url), mail_from=MAIL_FROM)
    sent_at = time.perf_counter()
    with sessions() as session:
        sent = session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent")) or 0
        frozen = [frozen_email(message) for message in session.scalars(select(Message).order_by(Message.id))]
    if not (built == outcome.sent == sent == args.emails):
        sys.exit(f"expected {args.emails} emails built and sent, got {built} built, {outcome.sent} sent, {sent} marked")

    bare_started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipients, data in frozen:
            smtp.sendmail(sender, recipients, data)
    bare = time.perf_counter() - bare_started
    engine.dispose()

    render, send, total = rendered_at - started, sent_at - rendered_at, sent_at - started
    size = sum(len(data) for _, _, data in frozen) / len(frozen) / 1024
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n{args.emails} päiväkoostetta, {database}, keskimäärin {size:.0f} kt; {machine()}")
    print(f"{'vaihe':<44} {'viestiä/s':>10} {'s':>7} {'× smtplib':>10}")
    rows = [
        ("render (compose_digest)", render),
        ("send (deliver_pending, SmtpTransport)", send),
        ("render + send", total),
        ("bare smtplib, pre-rendered, one connection", bare),
    ]
    for label, seconds in rows:
        print(f"{label:<44} {args.emails / seconds:>10,.0f} {seconds:>7.2f} {bare / seconds:>10.2f}")
    verdict = "met" if bare / total >= 0.5 else "NOT met"
    print(f"\nratio render+send / bare smtplib: {bare / total:.2f} (target ≥ 0.5: {verdict})")


def frozen_email(message: Message) -> tuple[str, list[str], bytes]:
    """The envelope and the very bytes ``deliver_pending`` sent for this message."""
    wire = wire_email(message, MAIL_FROM)
    if isinstance(wire, WireEmail):
        return wire.sender, [wire.recipient], wire.data
    return envelope_sender(wire), [message.to_address], wire.as_bytes(policy=email.policy.SMTP)


# --- data ---------------------------------------------------------------------------------------------------------


def store_tenders(sessions: make_session_factory, count: int, now: datetime) -> None:  # type: ignore[valid-type]
    with session_scope(sessions) as session:
        for number in range(count):
            town, postcode, nuts = random.choice(PLACES)
            title = f"{random.choice(TITLES)}, {town} ({number + 1})"
            source_id = f"EF-{700_000 + number}"
            store_item(
                session,
                NoticeItem(
                    source="hilma",
                    source_id=source_id,
                    url=f"https://www.hankintailmoitukset.fi/fi/public/procedure/{number}/enotice/{number}/",
                    published_at=now - timedelta(hours=random.randint(1, 20)),
                    notice_id=str(uuid.uuid4()),
                    notice_version="01",
                    procedure_id=str(uuid.uuid4()),
                    kind="contract_notice",
                    language="fi",
                    titles={"fi": title},
                    descriptions={"fi": f"Hankinnan kohteena: {title.lower()}. Sopimuskausi on kaksi vuotta."},
                    cpv_main=random.choice(CPV),
                    contract_nature="services",
                    estimated_value=Decimal(random.randrange(20_000, 2_000_000, 1_000)),
                    currency="EUR",
                    deadline=now + timedelta(days=random.randint(2, 40)),
                    documents_url="https://tarjouspalvelu.fi/bench",
                    buyers=[Organisation(name=f"{town}n kaupunki", town=town, postcode=postcode, nuts=nuts)],
                    places=[Place(nuts=nuts, town=town, postcode=postcode)],
                    payloads={"hilma-index": f'{{"id": "{source_id}"}}'.encode()},
                ),
            )


def queue_matches(engine: object, subscribers: int, per_subscriber: int, now: datetime) -> None:
    """Subscribers with a confirmed daily search each, and their recorded matches (what matching leaves)."""
    with engine.begin() as connection:  # type: ignore[attr-defined]
        tender_ids = list(connection.scalars(text("SELECT id FROM tenders ORDER BY id")))
        connection.execute(
            insert(Subscriber),
            [
                {
                    "email": f"yrittaja{number:05d}@bench.test",
                    "name": f"Yrittäjä {number}",
                    "language": "fi",
                    "status": "active",
                    "bounces": 0,
                    "created_at": now - timedelta(days=30),
                }
                for number in range(subscribers)
            ],
        )
        subscriber_ids = list(connection.scalars(select(Subscriber.id).order_by(Subscriber.id)))
        connection.execute(
            insert(Subscription),
            [
                {
                    "subscriber_id": subscriber_id,
                    "sectors": [random.choice(SECTORS)],
                    "regions": ["region:05"],
                    "include_nationwide": False,
                    "keywords": [],
                    "excluded_keywords": [],
                    "cpv_prefixes": [],
                    "categories": ["upcoming", "call"],
                    "frequency": "daily",
                    "status": "active",
                    "origin": "staff",
                    "created_at": now - timedelta(days=30),
                    "confirmed_at": now - timedelta(days=30),
                }
                for subscriber_id in subscriber_ids
            ],
        )
        searches = dict(connection.execute(select(Subscription.subscriber_id, Subscription.id)).all())
        connection.execute(
            insert(Alert),
            [
                {
                    "subscriber_id": subscriber_id,
                    "subscription_id": searches[subscriber_id],
                    "tender_id": tender_id,
                    "event": "new",
                    "changes": [],
                    "created_at": now - timedelta(hours=1),
                }
                for subscriber_id in subscriber_ids
                for tender_id in random.sample(tender_ids, per_subscriber)
            ],
        )


# --- surroundings -------------------------------------------------------------------------------------------------


def fresh_database(admin_url: str | None, folder: Path) -> tuple[str, object]:
    """A new empty database and the function that removes it."""
    if admin_url is None:
        return f"sqlite:///{folder / 'bench.sqlite3'}", lambda: None
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"hankintavahti_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def start_smtp_sink() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd in its own process with a handler that accepts and drops every message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.terminate()
    sys.exit("the SMTP server did not start")


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} CPU, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
