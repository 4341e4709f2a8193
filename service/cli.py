"""The ``hankintavahti`` command.

Each command is thin: it reads the settings, opens the database and calls into
``crawler/`` and ``models/``. Anything that goes wrong in a way we can name (a
:class:`~config.errors.HankintavahtiError`) becomes one line on stderr and exit
status 1; a traceback is a bug.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from config.errors import HankintavahtiError, InputError, PayloadError
from config.settings import Settings, load_settings


def settings() -> Settings:
    return load_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Hankintavahti: Hämeen julkiset hankinnat yrittäjille.

    Kerää hankintailmoitukset HILMAsta ja TEDistä, tallentaa ne tietokantaan ja
    näyttää avoimet tarjouspyynnöt.
    """


# db ------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Tietokannan ylläpito."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Luo tietokanta tai päivitä se uusimpaan versioon."""
    from models.db import upgrade_database

    app = settings()
    revision = upgrade_database(app.database_url)
    click.echo(f"Tietokanta on ajan tasalla (versio {revision}): {shown_url(app.database_url)}")


def shown_url(url: str) -> str:
    """The database URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# crawl ---------------------------------------------------------------------------------


@cli.command()
@click.argument("source", type=click.Choice(["hilma", "ted", "prh", "all"]), default="all")
@click.option("--since", metavar="YYYY-MM-DD", help="Hae tästä päivästä alkaen (täydentävä haku).")
@click.option("--quiet", "-q", is_flag=True, help="Älä näytä edistymistä, vain yhteenveto.")
def crawl(source: str, since: str | None, quiet: bool) -> None:
    """Hae uudet ilmoitukset lähteestä (hilma, ted tai all) tai voittajien sijainnit PRH:sta (prh).

    prh kysyy yritysrekisteristä Y-tunnuksella niiden voittajien käyntiosoitteen kunnan, joiden
    sijaintia tallennetut jälki-ilmoitukset eivät kerro.
    """
    from crawler.spiders.base import parse_since
    from models.db import open_database

    app = settings()
    sources = ["hilma", "ted"] if source == "all" else [source]
    if "hilma" in sources:
        app.require("HILMA_API_KEY")
    since_date = parse_since(since)
    sessions = open_database(app.database_url)
    ok = crawl_and_report(sources, app, sessions, since=since_date, progress=not quiet)
    if not ok:
        sys.exit(1)


def crawl_and_report(
    sources: Sequence[str], app: Settings, sessions: sessionmaker[Session], *, since: date | None, progress: bool
) -> bool:
    """Run the crawls and print one summary line per source; True when all finished cleanly."""
    from crawler.runner import run_crawls
    from models.crawl import CrawlRun
    from models.db import session_scope

    run_ids = run_crawls(sources, app=app, sessions=sessions, since=since, progress=progress)
    ok = len(run_ids) == len(sources)
    with session_scope(sessions) as session:
        for run_id in run_ids:
            run = session.get_one(CrawlRun, run_id)
            click.echo(run_summary(run))
            ok = ok and run.status == "finished"
    if len(run_ids) < len(sources):
        click.echo("Haku ei käynnistynyt: katso virheilmoitus yllä.", err=True)
    return ok


def count(number: int, one: str, many: str) -> str:
    """A number with its word in Finnish: "1 sivu", "3 sivua"."""
    return f"{number} {one if number == 1 else many}"


def run_summary(run: Any) -> str:
    """One line: what a crawl collected, and whether the next one continues from here."""
    label = {"hilma": "HILMA", "ted": "TED", "prh": "PRH"}.get(run.source, run.source)
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    if run.source == "prh":
        return lookup_summary(run, seconds)
    counts = (
        f"{count(run.new, 'uusi', 'uutta')}, {count(run.updated, 'päivittynyt', 'päivittynyttä')}, "
        f"{run.unchanged} ennallaan, {run.duplicate} jo toisesta lähteestä, "
        f"{count(run.failed, 'epäonnistunut', 'epäonnistunutta')}"
    )
    tail = f"{count(run.pages, 'sivu', 'sivua')}, {seconds:.0f} s"
    if run.status == "finished":
        return f"{label}: valmis – {counts} ({tail})."
    state = "keskeytettiin" if run.status == "interrupted" else "epäonnistui"
    reason = f": {run.message}" if run.message else ""
    return (
        f"{label}: haku {state}{reason}. Tallennettiin {counts} ({tail}). "
        "Seuraava haku jatkaa edellisestä onnistuneesta kohdasta, joten mitään ei jää väliin."
    )


def lookup_summary(run: Any, seconds: float) -> str:
    """The company register's run: firms found (``new``), not in the register (``unchanged``), failed."""
    counts = (
        f"{count(run.new + run.unchanged, 'yritys', 'yritystä')} haettu: {run.new} löytyi, "
        f"{run.unchanged} ei rekisterissä, {run.failed} epäonnistui ({seconds:.0f} s)"
    )
    if run.status == "finished":
        return f"PRH: valmis – {counts}."
    state = "keskeytettiin" if run.status == "interrupted" else "epäonnistui"
    reason = f": {run.message}" if run.message else ""
    return f"PRH: haku {state}{reason}. {counts}. Epäonnistuneet haetaan uudelleen seuraavalla kerralla."


# import --------------------------------------------------------------------------------


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def import_(paths: tuple[Path, ...]) -> None:
    """Tuo ilmoituksia tiedostoista tai kansioista.

    Kelpaavat HILMAn hakuvastaukset ja hakudokumentit (JSON), HILMAn ilmoituskuoret
    (JSON, jossa eForms-XML base64-muodossa), eForms-XML-tiedostot ja TEDin
    hakuvastaukset.
    """
    from crawler.payloads import expand_paths, read_payload
    from crawler.store import store_item
    from models.db import open_database, session_scope

    app = settings()
    files = expand_paths(paths)
    sessions = open_database(app.database_url)
    counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    unreadable: list[str] = []
    for number, path in enumerate(files, start=1):
        try:
            items = list(read_payload(path.read_bytes(), name=str(path)))
        except PayloadError as error:
            if not str(error).startswith(str(path)):
                error = PayloadError(f"{path}: {error}")
            unreadable.append(str(error))
            click.echo(f"Ohitettiin: {error}", err=True)
            continue
        except OSError as error:
            unreadable.append(f"{path}: {error.strerror}")
            click.echo(f"Ohitettiin: {path}: {error.strerror}", err=True)
            continue
        with session_scope(sessions) as session:
            for item in items:
                counts[store_item(session, item).status] += 1
        if len(files) > 20 and (number % 50 == 0 or number == len(files)):
            click.echo(f"{number}/{len(files)} tiedostoa luettu", err=True)
    click.echo(
        f"Tuotiin {len(files) - len(unreadable)}/{count(len(files), 'tiedosto', 'tiedostoa')}: "
        f"{count(counts['new'], 'uusi', 'uutta')}, {count(counts['updated'], 'päivittynyt', 'päivittynyttä')}, "
        f"{counts['unchanged']} ennallaan, {counts['duplicate']} jo toisesta lähteestä."
    )
    if unreadable:
        sys.exit(1)


# tenders -------------------------------------------------------------------------------

TABLE_COLUMNS = (
    ("deadline", "Määräaika", 16),
    ("title", "Hankinta", 52),
    ("buyer", "Hankkija", 30),
    ("place", "Alue", 18),
    ("status", "Tila", 10),
)
STATUS_NAMES = {
    "planned": "tulossa",
    "open": "avoin",
    "closed": "päättynyt",
    "cancelled": "keskeytetty",
    "awarded": "ratkaistu",
    "not_awarded": "ei ratkaisua",
}


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Kaikki hankinnat, myös päättyneet.")
@click.option(
    "--region", metavar="KOODI", help="Maakunnan, seutukunnan tai kunnan koodi tai nimi (esim. 05, 053, 109, Forssa)."
)
@click.option("--sector", metavar="TOIMIALA", help="Toimialan tunnus (esim. siivous).")
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def tenders(show_all: bool, region: str | None, sector: str | None, output: str) -> None:
    """Näytä avoimet hankinnat (tai kaikki: --all)."""
    from models.db import open_database, session_scope
    from models.queries import select_tenders, tender_record
    from service.explain import region_choice

    app = settings()
    sessions = open_database(app.database_url)
    with session_scope(sessions) as session:
        level, code = region_choice(region) if region else (None, None)
        statement = select_tenders(
            open_only=not show_all, now=datetime.now(UTC), region=code, region_level=level, sector=sector
        )
        records = [tender_record(tender, app.timezone) for tender in session.scalars(statement)]
    write_tenders(records, output)


def write_tenders(records: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else ["id"])
        writer.writeheader()
        for record in records:
            writer.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in record.items()})
    else:
        click.echo(tender_table(records))


def tender_table(records: list[dict[str, Any]]) -> str:
    """A plain-text table for a terminal, with Finnish dates and headings."""
    if not records:
        return "Ei hankintoja näillä ehdoilla."
    lines = ["  ".join(heading.ljust(width) for _, heading, width in TABLE_COLUMNS)]
    for record in records:
        values = {
            "deadline": finnish_datetime(record["deadline"]) if record["deadline"] else "–",
            "title": record["title"] or "(nimetön)",
            "buyer": record["buyer"] or "",
            "place": place_text(record),
            "status": STATUS_NAMES.get(record["status"], record["status"]),
        }
        lines.append("  ".join(clip(values[key], width).ljust(width) for key, _, width in TABLE_COLUMNS))
    lines.append(count(len(records), "hankinta", "hankintaa") + ".")
    return "\n".join(lines)


def place_text(record: dict[str, Any]) -> str:
    """Where the work is, in a few words: its municipalities, else its maakunta, else "koko maa"."""
    from crawler.classification.region_data import load_region_data

    return load_region_data().describe_places(
        record["regions"], [], record["municipalities"], record["nationwide"], most=99
    )


def finnish_datetime(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment.day}.{moment.month}.{moment.year} {moment:%H.%M}"


def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# classification ------------------------------------------------------------------------


@cli.command()
def reclassify() -> None:
    """Luokittele kaikki hankinnat uudelleen (esim. kun alue- tai toimialatiedostot ovat muuttuneet)."""
    from crawler.classification.tenders import reclassify_all
    from models.db import open_database

    sessions = open_database(settings().database_url)

    def progress(done: int, total: int, changed: int) -> None:
        click.echo(f"{done}/{total} hankintaa luokiteltu, {changed} muuttui", err=True)

    total, changed = reclassify_all(sessions, progress=progress)
    click.echo(
        f"Luokiteltiin {count(total, 'hankinta', 'hankintaa')} uudelleen: "
        f"{count(changed, 'luokitus muuttui', 'luokitusta muuttui')}. Henkilökunnan korjaukset pysyivät voimassa."
    )


@cli.command()
@click.argument("tender_id", type=int)
def explain(tender_id: int) -> None:
    """Näytä hankinnan alueet ja toimialat sekä perusteet kullekin."""
    from crawler.classification.sectors import sector_names
    from models.db import open_database, session_scope
    from models.tender import Tender
    from service.explain import explanation

    app = settings()
    with session_scope(open_database(app.database_url)) as session:
        tender = session.get(Tender, tender_id)
        if tender is None:
            raise InputError(f"hankintaa {tender_id} ei ole: katso tunnukset komennolla hankintavahti tenders --all")
        click.echo(explanation(tender, sector_names(), app.timezone))


@cli.command()
@click.argument("tender_id", type=int)
@click.option("--region", "regions", multiple=True, metavar="KOODI", help="Oikea alue (toista tarvittaessa).")
@click.option("--nationwide", is_flag=True, help="Hankinta koskee koko maata.")
@click.option("--sector", "sectors", multiple=True, metavar="TOIMIALA", help="Oikea toimiala (toista tarvittaessa).")
@click.option("--clear", type=click.Choice(["regions", "sectors"]), help="Poista korjaus: luokittelijan tulos palaa.")
@click.option("--by", "author", required=True, metavar="NIMI", help="Kuka korjaa (tallennetaan).")
@click.option("--note", help="Miksi (tallennetaan).")
def override(
    tender_id: int,
    regions: tuple[str, ...],
    nationwide: bool,
    sectors: tuple[str, ...],
    clear: str | None,
    author: str,
    note: str | None,
) -> None:
    """Korjaa hankinnan alue tai toimialat käsin; korjaus säilyy uusissa hauissa ja luokitteluissa."""
    from crawler.classification.sectors import sector_names
    from crawler.classification.tenders import classify_tender
    from models.classification import set_override
    from models.db import open_database, session_scope
    from models.tender import Tender
    from service.explain import explanation, override_regions, region_choice

    if not (regions or nationwide or sectors or clear):
        raise InputError("anna --region, --nationwide, --sector tai --clear")
    known_sectors = sector_names()
    for slug in sectors:
        if slug not in known_sectors:
            raise InputError(f"--sector {slug!r}: tuntematon toimiala; tunnetut: {', '.join(known_sectors)}")
    chosen = override_regions([region_choice(text) for text in regions], nationwide=nationwide)
    with session_scope(open_database(settings().database_url)) as session:
        tender = session.get(Tender, tender_id)
        if tender is None:
            raise InputError(f"hankintaa {tender_id} ei ole: katso tunnukset komennolla hankintavahti tenders --all")
        if clear:
            set_override(session, tender, clear, None, author=author, note=note)
        if regions or nationwide:
            set_override(session, tender, "regions", chosen.as_json(), author=author, note=note)
        if sectors:
            chosen_sectors = {"sectors": list(dict.fromkeys(sectors))}
            set_override(session, tender, "sectors", chosen_sectors, author=author, note=note)
        classify_tender(session, tender)
        click.echo(explanation(tender, known_sectors, settings().timezone))


# alerts --------------------------------------------------------------------------------

SUBSCRIBER_STATUS_NAMES = {"active": "", "paused": "tauolla", "unsubscribed": "lopettanut"}


@cli.command()
@click.argument("email")
@click.option("--name", help="Tilaajan nimi (tervehdykseen).")
@click.option("--company", help="Yritys.")
@click.option("--business-id", metavar="Y-TUNNUS", help="Yrityksen Y-tunnus, esim. 1234567-8.")
@click.option("--sector", "sectors", multiple=True, metavar="TOIMIALA", help="Toimiala (toista tarvittaessa).")
@click.option(
    "--region", "regions", multiple=True, metavar="ALUE", help="Maakunta, seutukunta tai kunta: koodi tai nimi."
)
@click.option("--keyword", "keywords", multiple=True, metavar="SANA", help="Hakusana (mikä tahansa riittää).")
@click.option("--exclude", "excluded", multiple=True, metavar="SANA", help="Sana, jonka sisältävät jätetään pois.")
@click.option("--cpv", "cpv_prefixes", multiple=True, metavar="KOODI", help="CPV-koodin alku, esim. 909.")
@click.option("--min-value", metavar="EUROA", help="Arvioidun arvon alaraja.")
@click.option("--max-value", metavar="EUROA", help="Arvioidun arvon yläraja.")
@click.option(
    "--kind",
    "categories",
    multiple=True,
    type=click.Choice(["upcoming", "call", "award"]),
    help="Ilmoitustyypit: upcoming (tulevat), call (tarjouspyynnöt), award (jälki-ilmoitukset); oletus upcoming, call.",
)
@click.option("--frequency", type=click.Choice(["instant", "daily", "weekly"]), default="instant", show_default=True)
@click.option("--nationwide", is_flag=True, help="Myös koko maata koskevat hankinnat.")
@click.option("--confirmed", is_flag=True, help="Henkilökunnan luoma: voimassa heti ilman vahvistusviestiä.")
def subscribe(
    email: str,
    name: str | None,
    company: str | None,
    business_id: str | None,
    sectors: tuple[str, ...],
    regions: tuple[str, ...],
    keywords: tuple[str, ...],
    excluded: tuple[str, ...],
    cpv_prefixes: tuple[str, ...],
    min_value: str | None,
    max_value: str | None,
    categories: tuple[str, ...],
    frequency: str,
    nationwide: bool,
    confirmed: bool,
) -> None:
    """Tallenna haku: uudet hankinnat sähköpostiin (ilman --confirmed lähtee ensin vahvistusviesti)."""
    from alerts.compose import Mailer, search_label
    from alerts.subscribe import FREQUENCY_WORDS, SearchRequest, parse_money
    from alerts.subscribe import subscribe as save_search
    from models.db import open_database, session_scope
    from service.explain import region_choice

    app = settings()
    request = SearchRequest(
        sectors=list(sectors),
        regions=[":".join(region_choice(text)) for text in regions],
        include_nationwide=nationwide,
        keywords=list(keywords),
        excluded_keywords=list(excluded),
        cpv_prefixes=list(cpv_prefixes),
        value_min=parse_money(min_value, "--min-value"),
        value_max=parse_money(max_value, "--max-value"),
        categories=list(categories) or ["upcoming", "call"],
        frequency=frequency,
    )
    sessions = open_database(app.database_url)
    mailer = Mailer.from_settings(app)
    with session_scope(sessions) as session:
        subscription = save_search(
            session,
            mailer,
            email=email,
            search=request,
            now=datetime.now(UTC),
            name=name,
            company=company,
            business_id=business_id,
            confirmed=confirmed,
            origin="staff" if confirmed else "cli",
        )
        label = search_label(subscription, mailer)
        address = subscription.subscriber.email
    when = FREQUENCY_WORDS[frequency]
    if confirmed:
        click.echo(f"Haku {subscription.id} tallennettu ja voimassa: {label} ({when}) → {address}")
    else:
        click.echo(
            f"Haku {subscription.id} tallennettu: {label} ({when}) → {address}. "
            "Vahvistusviesti lähtee seuraavassa lähetyksessä (hankintavahti alerts send); "
            "haku on voimassa, kun linkkiä on painettu."
        )


@cli.group()
def subscribers() -> None:
    """Tilaajat ja heidän hakunsa."""


@subscribers.command("list")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def subscribers_list(output: str) -> None:
    """Näytä tilaajat, heidän hakunsa ja toimitukset."""
    from sqlalchemy import func, select

    from alerts.compose import Mailer, search_label
    from alerts.subscribe import FREQUENCY_WORDS, SUBSCRIPTION_STATUS_WORDS
    from models.db import open_database, session_scope
    from models.outbox import Message
    from models.subscriptions import Subscriber

    app = settings()
    mailer = Mailer.from_settings(app)
    records: list[dict[str, Any]] = []
    with session_scope(open_database(app.database_url)) as session:
        sent = dict(
            session.execute(
                select(Message.subscriber_id, func.count())
                .where(Message.status == "sent")
                .group_by(Message.subscriber_id)
            ).all()
        )
        for subscriber in session.scalars(select(Subscriber).order_by(Subscriber.email)):
            records.append(
                {
                    "id": subscriber.id,
                    "email": subscriber.email,
                    "name": subscriber.name,
                    "company": subscriber.company,
                    "business_id": subscriber.business_id,
                    "status": subscriber.status,
                    "bounces": subscriber.bounces,
                    "sent": sent.get(subscriber.id, 0),
                    "searches": [
                        {
                            "id": row.id,
                            "label": search_label(row, mailer),
                            "frequency": row.frequency,
                            "status": row.status,
                        }
                        for row in subscriber.subscriptions
                    ],
                }
            )
    if output == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not records:
        click.echo("Ei tilaajia. Lisää: hankintavahti subscribe OSOITE --sector siivous --region Forssa")
        return
    for record in records:
        who = ", ".join(filter(None, (record["name"], record["company"], record["business_id"])))
        state = SUBSCRIBER_STATUS_NAMES.get(record["status"], record["status"])
        extra = "; ".join(filter(None, (state, f"{count(record['sent'], 'viesti', 'viestiä')} lähetetty")))
        click.echo(f"{record['email']}" + (f" ({who})" if who else "") + f" – {extra}")
        for search in record["searches"]:
            click.echo(
                f"  {search['id']:>5}  {search['label']} – {FREQUENCY_WORDS[search['frequency']]}, "
                f"{SUBSCRIPTION_STATUS_WORDS[search['status']]}"
            )
    click.echo(count(len(records), "tilaaja", "tilaajaa") + ".")


@cli.group()
def alerts() -> None:
    """Hälytysten lähetys."""


@alerts.command("send")
def alerts_send() -> None:
    """Etsi uusien ja muuttuneiden hankintojen tilaajat ja lähetä viestit (myös vahvistukset ja uusinnat)."""
    from alerts.runs import send_alerts
    from alerts.transport import transport_for
    from models.db import open_database

    app = settings()
    transport = transport_for(app.smtp_url, app.outbox_dir)
    summary = send_alerts(app, open_database(app.database_url), transport=transport)
    click.echo(alert_summary(summary, transport.description))


@cli.group()
def digest() -> None:
    """Päivä- ja viikkokoosteet."""


@digest.command("send")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--now", "immediate", is_flag=True, help="Kokoa heti tähän hetkeen asti (ei odoteta klo 7:ää).")
def digest_send(frequency: str, immediate: bool) -> None:
    """Kokoa erääntynyt päivä- tai viikkokooste ja lähetä se (kukin jakso vain kerran)."""
    from alerts.runs import send_digest
    from alerts.transport import transport_for
    from models.db import open_database

    app = settings()
    transport = transport_for(app.smtp_url, app.outbox_dir)
    summary = send_digest(app, open_database(app.database_url), frequency, immediate=immediate, transport=transport)
    click.echo(alert_summary(summary, transport.description))


def alert_summary(summary: Any, where: str) -> str:
    """One line: what matching, composing and delivery did."""
    matched = summary.matched
    parts = [
        f"{count(matched.tenders, 'hankinta', 'hankintaa')} tarkistettu",
        f"{count(matched.new, 'uusi osuma', 'uutta osumaa')}",
        f"{count(matched.updates, 'muutos', 'muutosta')} tiedotettavaksi",
    ]
    if summary.period is not None:
        start, end = (
            summary.period.start.astimezone(settings().timezone),
            summary.period.end.astimezone(settings().timezone),
        )
        label = "Päiväkooste" if summary.period.frequency == "daily" else "Viikkokooste"
        span = f"{finnish_datetime(start.isoformat())}–{finnish_datetime(end.isoformat())}"
        parts.append(
            f"{label} {span} oli jo koottu"
            if summary.period_done_before
            else f"{label} {span}: {count(summary.composed, 'viesti', 'viestiä')} koottu"
        )
    else:
        parts.append(f"{count(summary.composed, 'viesti', 'viestiä')} koottu")
    delivery = summary.delivery
    parts.append(f"{delivery.sent} lähetetty ({where})")
    if delivery.deferred:
        parts.append(f"{delivery.deferred} yritetään myöhemmin uudelleen")
    if delivery.rejected:
        parts.append(f"{delivery.rejected} hylätty pysyvästi")
    return ", ".join(parts) + "."


@cli.command()
def run() -> None:
    """Käynnistä palvelu: haku CRAWL_INTERVAL-minuutin välein, hälytykset heti perään, koosteet klo 7."""
    from models.db import open_database
    from service.scheduler import run_service

    app = settings()
    open_database(app.database_url)  # a clear line now, rather than failing jobs later
    run_service(app)


# staff ---------------------------------------------------------------------------------


@cli.group()
def staff() -> None:
    """Henkilökunnan käyttäjät (verkkosovelluksen kirjautuminen)."""


@staff.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Lue salasana syötteestä (ensimmäinen rivi) kysymättä.")
def staff_add(username: str, password_stdin: bool) -> None:
    """Lisää käyttäjä; salasana kysytään kahdesti (vähintään 10 merkkiä)."""
    from models.db import open_database, session_scope
    from models.staff import add_staff_user, check_new_credentials

    if password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        check_new_credentials(username, password)
    else:
        password = click.prompt("Salasana", hide_input=True, default="", show_default=False)
        check_new_credentials(username, password)  # say it before asking again
        if click.prompt("Salasana uudelleen", hide_input=True, default="", show_default=False) != password:
            raise InputError("salasanat eivät täsmää: aja komento uudelleen")
    app = settings()
    with session_scope(open_database(app.database_url)) as session:
        user = add_staff_user(session, username, password, now=datetime.now(UTC))
        click.echo(f"Käyttäjä {user.username} lisätty.")


@staff.command("list")
def staff_list() -> None:
    """Näytä henkilökunnan käyttäjät ja milloin he viimeksi kirjautuivat."""
    from sqlalchemy import select

    from models.db import open_database, session_scope
    from models.staff import StaffUser

    app = settings()
    with session_scope(open_database(app.database_url)) as session:
        users = session.scalars(select(StaffUser).order_by(StaffUser.username)).all()
        if not users:
            click.echo("Ei käyttäjiä. Lisää: hankintavahti staff add TUNNUS")
            return
        for user in users:
            created = finnish_datetime(user.created_at.astimezone(app.timezone).isoformat())
            last = (
                finnish_datetime(user.last_login_at.astimezone(app.timezone).isoformat())
                if user.last_login_at
                else "ei vielä kirjautunut"
            )
            click.echo(f"{user.username}  lisätty {created}, viimeksi kirjautunut: {last}")
        click.echo(count(len(users), "käyttäjä", "käyttäjää") + ".")


# web -----------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Osoite, jota kuunnellaan.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Portti.")
def serve(host: str, port: int) -> None:
    """Käynnistä verkkosovellus (waitress); taustalle käänteinen välityspalvelin, ks. README."""
    from models.db import open_database
    from web.serve import serve as serve_web

    app = settings()
    open_database(app.database_url)  # a clear line now rather than errors on every page
    click.echo(f"Hankintavahti verkossa: http://{host}:{port}/  (pysäytä Ctrl-C:llä)")
    serve_web(app, host=host, port=port)


# demo ----------------------------------------------------------------------------------


@cli.command()
@click.option("--no-serve", is_flag=True, help="Älä käynnistä verkkosovellusta lopuksi.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Verkkosovelluksen portti."
)
def demo(no_serve: bool, port: int) -> None:
    """Aja palvelu paikallisesti esimerkkiaineistolla ilman verkkoyhteyttä, lopuksi verkkosovellus."""
    from service.demo import run_demo

    run_demo(settings(), serve_port=None if no_serve else port)


# entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command; named errors become one line and exit status 1."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="hankintavahti", standalone_mode=False)
    except HankintavahtiError as error:
        click.echo(f"hankintavahti: {error}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Keskeytetty.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("Keskeytetty.", err=True)
        sys.exit(130)
