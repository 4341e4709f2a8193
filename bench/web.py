"""Benchmark: the staff tender list and the public tender page over 100,000 tenders in PostgreSQL.

Run: ``.venv/bin/python bench/web.py [--tenders 100000] [--requests 30] [--seed 5]``

Creates its own database next to ``test`` on 127.0.0.1 (user postgres; the URL of
``HANKINTAVAHTI_TEST_POSTGRESQL_URL`` when set), migrates it, bulk-inserts buyers,
tenders with a notice each, their regions (municipality, sub-region, maakunta; a tenth
nationwide, half of all in Häme) and one to three sectors, statuses and dates spread
over three years, titles and descriptions from a Finnish vocabulary, and reviews for a
tenth, then ``VACUUM ANALYZE`` (the state autovacuum keeps a live database in) and a
``CHECKPOINT``. Then
it asks the Flask app (test client, logged in as staff) for each case ``--requests``
times and prints p50 and p95 in ms; the database is dropped at the end. The indexes
are the migrations' own (0005, 0006 and 0008).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from config.settings import load_settings
from crawler.classification.region_data import load_region_data
from crawler.classification.sectors import sector_names
from models.db import make_engine, make_session_factory, session_scope, upgrade_database
from models.notice import Buyer, Notice
from models.review import TenderReview
from models.staff import add_staff_user
from models.tender import Tender, TenderRegion, TenderSector
from web import create_app

ADMIN_URL = os.environ.get("HANKINTAVAHTI_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark-salasana"
VOCABULARY = (
    "siivous ylläpitosiivouksen ikkunanpesu kiinteistönhoito lumityöt aurauksen viheralueiden kunnossapito "
    "koulukuljetukset taksipalvelut ateriapalvelut elintarvikkeiden ohjelmistokehitys tietoliikenne "
    "peruskorjaus saneeraus putkiremontti sähköurakka LVI-urakka kattoremontti asfaltointi maanrakennus "
    "vartiointipalvelut turvallisuus jätehuolto vesihuollon konsultointi arkkitehtisuunnittelu "
    "kalusteet toimistotarvikkeet painotuotteet markkinointi koulutuspalvelut kotihoito hoitotarvikkeet "
    "polttoaineet kaukolämpö metsänhoito puunkorjuu huoltopalvelut hissihuolto ajoneuvojen leasing"
)
WORDS = tuple(VOCABULARY.split())
FILLER = (
    "Hankinnan kohteena ovat kaupungin ja sen yksiköiden tarvitsemat palvelut sopimuskaudelle. "
    "Tarjoajan on täytettävä soveltuvuusvaatimukset ja toimitettava tarjous sähköisesti määräaikaan mennessä. "
    "Hankinta kilpailutetaan avoimella menettelyllä ja valintaperusteena on kokonaistaloudellinen edullisuus. "
)
KINDS = ("contract_notice",) * 6 + ("prior_information", "award", "award", "cancellation", "correction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hankintavahti_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        engine = make_engine(url)
        started = time.perf_counter()
        sample_id = seed(engine, args.tenders, random.Random(args.seed))
        print(f"seeded {args.tenders} tenders in {time.perf_counter() - started:.1f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))  # the seeding's writes reach disk before, not during, the timing
        print_table(measure(url, engine, args.requests, sample_id))
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"machine: {machine()}")


def seed(engine: object, count: int, rng: random.Random) -> int:
    """Bulk-insert ``count`` tenders with notices, regions, sectors and some reviews; return a tender id to show."""
    regions = load_region_data()
    sectors = list(sector_names())
    towns = [town for town in regions.municipalities.values()]
    hame = [town for town in towns if town.maakunta in ("05", "07")]
    now = datetime.now(UTC)
    buyers = [
        {"id": number + 1, "name": f"{town.name_fi}n kaupunki", "name_key": f"{town.name_fi.lower()} {number}",
         "business_id": f"{1000000 + number}-{number % 10}", "town": town.name_fi}
        for number, town in enumerate(rng.sample(towns, 300))
    ]  # fmt: skip
    tenders, notices, places, classes, reviews = [], [], [], [], []
    for number in range(1, count + 1):
        town = rng.choice(hame) if rng.random() < 0.5 else rng.choice(towns)
        published = now - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        kind = rng.choice(KINDS)
        status = {"prior_information": "planned", "award": "awarded", "cancellation": "cancelled"}.get(kind, "open")
        deadline = published + timedelta(days=rng.randrange(7, 60)) if kind != "prior_information" else None
        words = rng.sample(WORDS, 3)
        title = f"{words[0].capitalize()} ja {words[1]}, {town.name_fi} {number}"
        description = f"{' '.join(rng.sample(WORDS, 6))}. {FILLER * rng.randint(1, 4)}"
        nationwide = rng.random() < 0.1
        tenders.append(
            {"id": number, "key": f"bench:{number}", "title": title, "description": description,
             "buyer_id": rng.randrange(1, len(buyers) + 1), "kind": kind, "status": status, "deadline": deadline,
             "estimated_value": Decimal(rng.randrange(10, 5000) * 1000), "currency": "EUR", "cpv": [],
             "places": [], "winners": [], "url": f"https://www.hankintailmoitukset.fi/fi/public/procedure/{number}/",
             "first_published_at": published, "last_published_at": published, "nationwide": nationwide}
        )  # fmt: skip
        notices.append(
            {"id": number, "source": "hilma", "source_id": f"EF-{number}", "status": "ok", "tender_id": number,
             "kind": kind, "title": title, "titles": {"fi": title}, "descriptions": {"fi": description},
             "published_at": published, "fetched_at": published, "deadline": deadline}
        )  # fmt: skip
        if not nationwide:
            places.append({"tender_id": number, "level": "municipality", "code": town.code})
            if town.subregion:
                places.append({"tender_id": number, "level": "subregion", "code": town.subregion})
            places.append({"tender_id": number, "level": "region", "code": town.maakunta})
        for rank, slug in enumerate(rng.sample(sectors, rng.randint(1, 3)), start=1):
            classes.append({"tender_id": number, "slug": slug, "rank": rank})
        if rng.random() < 0.1:
            reviews.append(
                {"tender_id": number, "relevance": rng.choice(("relevant", "not_relevant", None)),
                 "note": "Kiinnostava paikallisille." if rng.random() < 0.3 else None,
                 "reviewed_by": "bench", "reviewed_at": now}
            )  # fmt: skip
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(insert(Buyer), buyers)
        for table, rows in ((Tender, tenders), (Notice, notices), (TenderRegion, places), (TenderSector, classes)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[start : start + 5000])
        connection.execute(text("UPDATE tenders SET latest_notice_id = id"))
        if reviews:
            connection.execute(insert(TenderReview), reviews)
        for table in ("buyers", "tenders", "notices"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            connection.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
    return count // 2


CASES: tuple[tuple[str, str], ...] = (
    ("staff list, default (newest first)", "/henkilokunta/"),
    ("staff list, maakunta 05", "/henkilokunta/?maakunta=05"),
    ("staff list, sector + status", "/henkilokunta/?toimiala=siivous&tila=open"),
    ("staff list, free text 'siivous' (a third of all)", "/henkilokunta/?haku=siivous"),
    ("staff list, free text, two words", "/henkilokunta/?haku=lumi+kaupunki"),
    ("staff list, free text, rare ('hämeenlinna 4')", "/henkilokunta/?haku=h%C3%A4meenlinna+4"),
    ("staff list, free text in Häme, by deadline", "/henkilokunta/?maakunta=05&haku=ikkunanpesu&jarjestys=deadline"),
    ("staff list, sorted by published", "/henkilokunta/?jarjestys=published"),
    ("staff list, sorted by buyer", "/henkilokunta/?jarjestys=buyer"),
    ("staff list, page 100", "/henkilokunta/?sivu=100"),
    ("staff list, unreviewed in Häme, by deadline", "/henkilokunta/?maakunta=05&arvio=unreviewed&jarjestys=deadline"),
)


def measure(url: str, engine: object, requests: int, sample_id: int) -> list[tuple[str, float, float, int]]:
    """p50 and p95 in ms per case (after two warm-up requests), and the size of the answer."""
    settings = load_settings(
        {"DATABASE_URL": url, "BASE_URL": "http://localhost", "SECRET_KEY": "bench-secret"}, env_file=Path(os.devnull)
    )
    sessions = make_session_factory(engine)  # type: ignore[arg-type]
    with session_scope(sessions) as session:
        if session.scalar(text("SELECT count(*) FROM staff_users")) == 0:
            add_staff_user(session, "bench", PASSWORD, now=datetime.now(UTC))
    client = create_app(settings, sessions).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/henkilokunta/kirjaudu").text)
    assert token is not None
    login = {"csrf_token": token.group(1), "username": "bench", "password": PASSWORD}
    client.post("/henkilokunta/kirjaudu", data=login)
    results = []
    pages = (
        ("public tender page", f"/hankinnat/{sample_id}"),
        ("staff tender page", f"/henkilokunta/hankinnat/{sample_id}"),
    )
    for label, path in (*CASES, *pages):
        times = []
        for attempt in range(requests + 2):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if attempt >= 2:
                times.append(elapsed)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        results.append((label, statistics.median(times), p95, len(response.data)))
    return results


def print_table(results: list[tuple[str, float, float, int]]) -> None:
    print("\n| case | p50 ms | p95 ms | bytes |")
    print("|---|---:|---:|---:|")
    for label, p50, p95, size in results:
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {size} |")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


if __name__ == "__main__":
    main()
