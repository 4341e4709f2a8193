"""``make demo``: the whole collection pipeline offline, on the embedded defaults.

Local stand-ins for HILMA and TED serve the project's sample of notices (dates
relative to today) on loopback; the spiders crawl them into the default SQLite
database exactly as they would crawl the real services. The demo ignores
``DATABASE_URL`` and the API settings of ``.env`` on purpose: sample data must
never be written into a production database or sent to a real API.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings, load_settings
from crawler.items import NOTICE_KINDS
from crawler.standins import load_sample, sample_standins
from models.db import open_database, session_scope, upgrade_database
from models.notice import Notice
from models.queries import select_tenders, tender_record
from models.tender import Tender, TenderChange
from service.cli import STATUS_NAMES, count, crawl_and_report, shown_url, tender_table

KIND_WORDS = {
    "plan": ("hankintasuunnitelma", "hankintasuunnitelmaa"),
    "prior_information": ("ennakkoilmoitus", "ennakkoilmoitusta"),
    "contract_notice": ("hankintailmoitus", "hankintailmoitusta"),
    "correction": ("korjausilmoitus", "korjausilmoitusta"),
    "cancellation": ("keskeytysilmoitus", "keskeytysilmoitusta"),
    "award": ("jälki-ilmoitus", "jälki-ilmoitusta"),
}

#: The stand-ins are on this machine: no need to keep to the real APIs' request rates.
LOCAL_RATE = 60_000.0


def run_demo(configured: Settings) -> None:
    """Crawl the sample from local stand-ins into the embedded database and show what came in."""
    defaults = load_settings(environ={"TIMEZONE": configured.timezone.key}, env_file=Path(os.devnull))
    sample = load_sample()
    hilma, ted = sample_standins(sample, api_key="demo-key")
    with hilma, ted:
        app = dataclasses.replace(
            defaults,
            hilma_api_url=hilma.base_url,
            hilma_api_key="demo-key",
            hilma_rate_limit=LOCAL_RATE,
            ted_api_url=ted.base_url,
            ted_rate_limit=LOCAL_RATE,
        )
        click.echo("Hankintavahti – esittely ilman verkkoyhteyttä")
        click.echo(
            f"Paikallinen HILMA ({hilma.base_url}) tarjoaa {len(sample.hilma_documents)} ja "
            f"paikallinen TED ({ted.base_url}) {len(sample.ted_notices)} esimerkki-ilmoitusta."
        )
        revision = upgrade_database(app.database_url)
        click.echo(f"Tietokanta: {shown_url(app.database_url)} (versio {revision})\n")
        sessions = open_database(app.database_url)
        ok = crawl_and_report(["hilma", "ted"], app, sessions, since=None, progress=True)
    click.echo("")
    with session_scope(sessions) as session:
        click.echo(collection_summary(session, app))
    click.echo(next_steps(app, configured))
    if not ok:
        raise SystemExit(1)


def collection_summary(session: Session, app: Settings) -> str:
    """What the database now holds: notices per kind, tenders per status, the open ones."""
    kinds = Counter(dict(session.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all()))
    statuses = Counter(
        tender.effective_status(datetime.now(UTC)) for tender in session.scalars(select(Tender))
    )
    changes = session.scalar(select(func.count()).select_from(TenderChange)) or 0
    lines = [
        "Tietokannassa on nyt "
        + ", ".join(count(kinds[kind], *KIND_WORDS[kind]) for kind in NOTICE_KINDS if kinds[kind])
        + ".",
        f"Niistä muodostui {count(sum(statuses.values()), 'hankinta', 'hankintaa')}: "
        + ", ".join(f"{number} {STATUS_NAMES.get(status, status)}" for status, number in statuses.most_common())
        + f". Myöhemmät ilmoitukset muuttivat {count(changes, 'tietoa', 'tietoa')} (esim. määräaika tai tila).",
        "",
        "Avoimet hankinnat:",
    ]
    statement = select_tenders(open_only=True, now=datetime.now(UTC), region=None, sector=None)
    records = [tender_record(tender, app.timezone) for tender in session.scalars(statement)]
    lines.append(tender_table(records))
    return "\n".join(lines)


def next_steps(app: Settings, configured: Settings) -> str:
    env = "" if configured.database_url == app.database_url else f"DATABASE_URL={app.database_url} "
    return f"""
Mitä seuraavaksi:
  {env}.venv/bin/hankintavahti tenders                  avoimet hankinnat
  {env}.venv/bin/hankintavahti tenders --all --format json   kaikki hankinnat JSON-muodossa
Oikeisiin lähteisiin: kopioi .env.example tiedostoksi .env, lisää HILMA_API_KEY ja aja
  .venv/bin/hankintavahti db upgrade && .venv/bin/hankintavahti crawl all"""
