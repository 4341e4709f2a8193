"""``make demo``: the whole loop offline, on the embedded defaults: collect, classify, alert.

Local stand-ins for HILMA and TED serve the project's sample of notices (dates
relative to today) on loopback, and one for the company register (PRH) its firms;
the spiders crawl them into the default SQLite database exactly as they would crawl
the real services. Sample subscribers then get
their instant alerts, a confirmation email and both digests, written as ``.eml``
files into the outbox folder (with HTML previews for a browser). The demo ignores
``DATABASE_URL`` and the API settings of ``.env`` on purpose: sample data must
never be written into a production database, sent to a real API or mailed to anyone.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.runs import send_alerts, send_digest
from alerts.subscribe import SearchRequest, subscribe
from alerts.transport import transport_for
from config.errors import HankintavahtiError
from config.settings import Settings, load_settings
from crawler.items import NOTICE_KINDS
from crawler.standins import load_sample, sample_standins
from crawler.standins.prh import prh_standin
from models.db import open_database, session_scope, upgrade_database
from models.notice import Notice
from models.outbox import Message
from models.queries import select_tenders, tender_record
from models.subscriptions import Subscriber
from models.tender import Tender, TenderChange
from service.cli import STATUS_NAMES, alert_summary, count, crawl_and_report, shown_url, tender_table

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


DEMO_STAFF_USER = "henkilokunta"
DEMO_STAFF_PASSWORD = "hankintavahti-demo"


def run_demo(configured: Settings, *, serve_port: int | None = None) -> None:
    """Crawl the sample from local stand-ins into the embedded database, send the sample alerts, serve the web app."""
    defaults = load_settings(environ={"TIMEZONE": configured.timezone.key}, env_file=Path(os.devnull))
    sample = load_sample()
    hilma, ted = sample_standins(sample, api_key="demo-key")
    register = prh_standin()
    with hilma, ted, register:
        app = dataclasses.replace(
            defaults,
            hilma_api_url=hilma.base_url,
            hilma_api_key="demo-key",
            hilma_rate_limit=LOCAL_RATE,
            ted_api_url=ted.base_url,
            ted_rate_limit=LOCAL_RATE,
            prh_api_url=register.api_url,
            prh_rate_limit=LOCAL_RATE,
            base_url=f"http://127.0.0.1:{serve_port or 8000}",  # the links in the emails open the demo's web app
        )
        click.echo("Hankintavahti – esittely ilman verkkoyhteyttä")
        click.echo(
            f"Paikallinen HILMA ({hilma.base_url}) tarjoaa {len(sample.hilma_documents)} ja "
            f"paikallinen TED ({ted.base_url}) {len(sample.ted_notices)} esimerkki-ilmoitusta; "
            f"paikallinen yritysrekisteri ({register.base_url}) tuntee {len(register.business_ids)} yritystä."
        )
        revision = upgrade_database(app.database_url)
        click.echo(f"Tietokanta: {shown_url(app.database_url)} (versio {revision})\n")
        sessions = open_database(app.database_url)
        # from the sample's oldest notice: its award history (the vitality meter's data) is two years long;
        # then the register, for the winners whose award notices leave their address out
        ok = crawl_and_report(["hilma", "ted", "prh"], app, sessions, since=sample.oldest, progress=True)
    click.echo("")
    with session_scope(sessions) as session:
        click.echo(collection_summary(session, app))
    click.echo("")
    click.echo(send_sample_alerts(app, sessions))
    click.echo(next_steps(app, configured))
    if not ok:
        raise SystemExit(1)
    if serve_port is not None:
        serve_demo(app, sessions, serve_port)


def serve_demo(app: Settings, sessions: sessionmaker[Session], port: int) -> None:
    """The web app on this machine, with a staff login for trying the staff pages; Ctrl-C ends it."""
    from models.staff import StaffUser, add_staff_user
    from web.serve import serve

    with session_scope(sessions) as session:
        if session.scalars(select(StaffUser).where(StaffUser.username == DEMO_STAFF_USER)).first() is None:
            add_staff_user(session, DEMO_STAFF_USER, DEMO_STAFF_PASSWORD, now=datetime.now(UTC))
    click.echo(
        f"\nVerkkosovellus: http://127.0.0.1:{port}/  – sähköpostien linkit toimivat, kun se on käynnissä.\n"
        f"Hankintakalenteri ja tapaamisten tulosteet: http://127.0.0.1:{port}/kalenteri\n"
        f"Henkilökunnan sivut: http://127.0.0.1:{port}/henkilokunta/  "
        f"(tunnus {DEMO_STAFF_USER}, salasana {DEMO_STAFF_PASSWORD}),\n"
        f"  elinvoimamittari: http://127.0.0.1:{port}/henkilokunta/elinvoima. Lopeta Ctrl-C:llä."
    )
    # The crawl's Twisted reactor left its own SIGINT/SIGTERM handlers behind; Ctrl-C must stop the server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        serve(app, host="127.0.0.1", port=port)
    except OSError as error:
        raise HankintavahtiError(
            f"portti {port} ei ole vapaana ({error.strerror}): anna toinen, esim. hankintavahti demo --port 8001"
        ) from None


#: The demo's subscribers: (email, name, company, search, confirmed).
SAMPLE_SUBSCRIBERS: tuple[tuple[str, str, str, SearchRequest, bool], ...] = (
    (
        "maija.virtanen@example.fi",
        "Maija",
        "Forssan Puhtauspalvelu Oy",
        SearchRequest(sectors=["siivous", "kiinteistonhoito"], regions=["region:05"], frequency="instant"),
        True,
    ),
    (
        "rakennus.lahtinen@example.fi",
        "Pekka",
        "Rakennus Lahtinen Oy",
        SearchRequest(
            sectors=["rakentaminen", "suunnittelu"],
            regions=["subregion:051", "subregion:052"],
            include_nationwide=True,
            frequency="daily",
        ),
        True,
    ),
    (
        "ohjelmistotalo@example.fi",
        "Sanna",
        "Hämeen Koodi Oy",
        SearchRequest(sectors=["ict"], keywords=["ohjelmisto", "tietojärjestelmä"], frequency="weekly"),
        True,
    ),
    (
        "uusi.tilaaja@example.fi",
        "Timo",
        "Jokioisten Kuljetus Ky",
        SearchRequest(sectors=["kuljetus"], regions=["subregion:053"], frequency="instant"),
        False,
    ),
)


def send_sample_alerts(app: Settings, sessions: sessionmaker[Session]) -> str:
    """Subscribe the sample subscribers (once), send the instant alerts and both digests into the outbox folder."""
    now = datetime.now(UTC)
    mailer = Mailer.from_settings(app)
    with session_scope(sessions) as session:
        for email, name, company, search, confirmed in SAMPLE_SUBSCRIBERS:
            if session.scalars(select(Subscriber).where(Subscriber.email == email)).first() is None:
                subscribe(
                    session,
                    mailer,
                    email=email,
                    search=search,
                    now=now,
                    name=name,
                    company=company,
                    confirmed=confirmed,
                    origin="staff" if confirmed else "web",
                )
    transport = transport_for(app.smtp_url, app.outbox_dir)
    summaries = [
        ("Heti lähtevät hälytykset ja vahvistukset", send_alerts(app, sessions, transport=transport)),
        ("Päiväkooste", send_digest(app, sessions, "daily", immediate=True, transport=transport)),
        ("Viikkokooste", send_digest(app, sessions, "weekly", immediate=True, transport=transport)),
    ]
    lines = [f"Esimerkkitilaajat: {count(len(SAMPLE_SUBSCRIBERS), 'tilaaja', 'tilaajaa')}."]
    lines += [f"{label}: {alert_summary(summary, transport.description)}" for label, summary in summaries]
    previews = app.outbox_dir / "esikatselu"
    previews.mkdir(parents=True, exist_ok=True)
    with session_scope(sessions) as session:
        messages = session.scalars(select(Message).where(Message.status == "sent").order_by(Message.id)).all()
        for number, message in enumerate(messages, start=1):
            (previews / f"{number:02d}-{message.kind}.html").write_text(message.html, encoding="utf-8")
        lines.append(f"\nSähköpostit ({len(messages)}): {app.outbox_dir}/*.eml; selaimella: {previews}/")
        lines += [f"  {number:02d}  {m.to_address}: {m.subject}" for number, m in enumerate(messages, start=1)]
    return "\n".join(lines)


def collection_summary(session: Session, app: Settings) -> str:
    """What the database now holds: notices per kind, tenders per status, the open ones."""
    kinds = Counter(dict(session.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all()))
    statuses = Counter(tender.effective_status(datetime.now(UTC)) for tender in session.scalars(select(Tender)))
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
Tilaa oma haku:  {env}.venv/bin/hankintavahti subscribe oma@osoite.fi --sector siivous --region Forssa --confirmed
Lähetä hälytykset: {env}.venv/bin/hankintavahti alerts send  (ilman SMTP_URL:ää viestit menevät var/outboxiin)
Palvelu päälle:  {env}.venv/bin/hankintavahti run
Oikeisiin lähteisiin: kopioi .env.example tiedostoksi .env, lisää HILMA_API_KEY ja aja
  .venv/bin/hankintavahti db upgrade && .venv/bin/hankintavahti crawl all"""
