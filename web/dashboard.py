"""Staff dashboards: is the crawl healthy, and who subscribes to what.

Both pages are read-only summaries for the association's staff, so they are built
from a handful of aggregate queries whatever the size of the tables: the runs of
each source (20 rows each), the notices collected per Helsinki day (one query with
a sum per day), quarantined notices (a count and the latest rows), and for the
subscribers page the subscribers, their searches and their message counts in one
query each (never a query per subscriber).

The crawl page warns when something needs a person: a source's latest run failed or
was interrupted, a run has been "running" for longer than any crawl takes, or a
source has collected nothing for a day (HILMA publishes every working day, and a
silent crawler is the failure nobody notices otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import Session

from alerts.compose import Mailer, search_label
from alerts.subscribe import FREQUENCY_WORDS, SUBSCRIPTION_STATUS_WORDS
from models.crawl import CrawlRun, recent_runs
from models.db import session_scope
from models.notice import Notice
from models.outbox import Message
from models.subscriptions import Subscriber, Subscription
from web.auth import login_required

blueprint = Blueprint("dashboard", __name__, url_prefix="/henkilokunta")

SOURCES = ("hilma", "ted")
SOURCE_NAMES = {"hilma": "HILMA", "ted": "TED"}
RUNS_SHOWN = 20
CHART_DAYS = 30
#: A crawl takes minutes; one still "running" after this has died without closing its run.
STUCK_AFTER = timedelta(hours=2)
#: A source that has stored no notice for this long is worth a look.
QUIET_AFTER = timedelta(hours=24)
QUARANTINE_SHOWN = 50

RUN_STATUS_WORDS = {
    "running": "käynnissä",
    "finished": "valmis",
    "failed": "epäonnistui",
    "interrupted": "keskeytyi",
}
SUBSCRIBER_STATUS_WORDS = {"active": "aktiivinen", "paused": "tauolla", "unsubscribed": "lopettanut"}
MESSAGE_STATUS_WORDS = {
    "pending": "odottaa",
    "sent": "lähetetty",
    "rejected": "hylätty",
    "failed": "epäonnistui",
    "cancelled": "peruttu",
}


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as db:
        yield db


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


# crawl health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass
class SourceHealth:
    """What the crawl page shows for one source."""

    source: str
    name: str
    runs: list[CrawlRun]
    days: list[DayCount]
    collected_last_day: int
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(day.count for day in self.days)

    @property
    def peak(self) -> int:
        return max((day.count for day in self.days), default=0)


def day_bounds(today: date, days: int, timezone: ZoneInfo) -> list[datetime]:
    """The UTC moments of the Helsinki midnights that start each of the last ``days`` days, and the next one.

    Days are counted on the staff's calendar, not UTC's: a notice fetched at 01.30
    Helsinki time belongs to that day, not the one before.
    """
    first = today - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=offset), time(), tzinfo=timezone).astimezone(UTC)
        for offset in range(days + 1)
    ]


def collected_per_day(session: Session, bounds: Sequence[datetime]) -> dict[str, list[int]]:
    """Notices collected (stored or given a new version) per source per day: one query, a sum per day."""
    columns = [
        func.sum(case((and_(Notice.fetched_at >= start, Notice.fetched_at < end), 1), else_=0))
        for start, end in pairwise(bounds)
    ]
    statement = (
        select(Notice.source, *columns)
        .where(Notice.fetched_at >= bounds[0], Notice.fetched_at < bounds[-1])
        .group_by(Notice.source)
    )
    return {row[0]: [int(value or 0) for value in row[1:]] for row in session.execute(statement)}


def collected_since(session: Session, since: datetime) -> dict[str, int]:
    statement = select(Notice.source, func.count()).where(Notice.fetched_at >= since).group_by(Notice.source)
    return {source: int(count) for source, count in session.execute(statement)}


def stuck_runs(session: Session, now: datetime) -> list[CrawlRun]:
    statement = select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.started_at < now - STUCK_AFTER)
    return list(session.scalars(statement.order_by(CrawlRun.started_at)))


def source_warnings(
    name: str,
    runs: Sequence[CrawlRun],
    stuck: Sequence[CrawlRun],
    collected_last_day: int,
    *,
    now: datetime,
    timezone: ZoneInfo,
) -> list[str]:
    """The Finnish warnings for one source ([] when all is well); ``runs`` newest first."""
    warnings: list[str] = []
    if runs and runs[0].status in ("failed", "interrupted"):
        latest = runs[0]
        verb = "epäonnistui" if latest.status == "failed" else "keskeytyi"
        reason = f": {latest.message}" if latest.message else "."
        warnings.append(f"{name}: viimeisin haku {format_time(latest.started_at, timezone)} {verb}{reason}")
    for run in stuck:
        hours = int((now - run.started_at).total_seconds() // 3600)
        warnings.append(
            f"{name}: haku, joka alkoi {format_time(run.started_at, timezone)}, on ollut käynnissä "
            f"{hours} tuntia. Se on todennäköisesti kaatunut kirjaamatta loppuaan."
        )
    if collected_last_day == 0:
        since = "Hakuja ei ole ajettu lainkaan." if not runs else "Tarkista, ajetaanko haku ja toimiiko lähde."
        warnings.append(f"{name}: yhtään ilmoitusta ei ole kerätty viimeisen vuorokauden aikana. {since}")
    return warnings


def crawl_health(session: Session, *, now: datetime, timezone: ZoneInfo) -> list[SourceHealth]:
    """Everything the crawl page shows, per source."""
    today = now.astimezone(timezone).date()
    bounds = day_bounds(today, CHART_DAYS, timezone)
    per_day = collected_per_day(session, bounds)
    last_day = collected_since(session, now - QUIET_AFTER)
    stuck_by_source: dict[str, list[CrawlRun]] = defaultdict(list)
    for run in stuck_runs(session, now):
        stuck_by_source[run.source].append(run)
    days = [bounds[index].astimezone(timezone).date() for index in range(CHART_DAYS)]
    result = []
    for source in SOURCES:
        name = SOURCE_NAMES[source]
        runs = recent_runs(session, source, RUNS_SHOWN)
        counts = per_day.get(source, [0] * CHART_DAYS)
        collected = last_day.get(source, 0)
        result.append(
            SourceHealth(
                source=source,
                name=name,
                runs=runs,
                days=[DayCount(day, count) for day, count in zip(days, counts, strict=True)],
                collected_last_day=collected,
                warnings=source_warnings(name, runs, stuck_by_source[source], collected, now=now, timezone=timezone),
            )
        )
    return result


@dataclass
class RegisterHealth:
    """What the crawl page shows for the company register lookups (``hankintavahti crawl prh``).

    The lookups store no notices, so there is no chart and no "nothing collected" warning:
    a day without winners to place is normal. A failed or stuck run warns as a crawl's does.
    """

    name: str
    runs: list[CrawlRun]
    warnings: list[str] = field(default_factory=list)


REGISTER_SOURCE = "prh"


def register_health(session: Session, *, now: datetime, timezone: ZoneInfo) -> RegisterHealth:
    """The register lookups' latest runs and their warnings."""
    name = "Yritysrekisteri (PRH)"
    runs = recent_runs(session, REGISTER_SOURCE, RUNS_SHOWN)
    stuck = [run for run in stuck_runs(session, now) if run.source == REGISTER_SOURCE]
    warnings = source_warnings(name, runs, stuck, 1, now=now, timezone=timezone)  # 1: no quiet-day warning
    return RegisterHealth(name=name, runs=runs, warnings=warnings)


def quarantined(session: Session) -> tuple[int, list[Notice]]:
    """How many notices could not be parsed, and the latest of them."""
    where = Notice.status == "quarantined"
    count = session.scalar(select(func.count()).select_from(Notice).where(where)) or 0
    rows = session.scalars(
        select(Notice).where(where).order_by(Notice.fetched_at.desc(), Notice.id.desc()).limit(QUARANTINE_SHOWN)
    )
    return int(count), list(rows)


def format_time(moment: datetime | None, timezone: ZoneInfo) -> str:
    """A moment in Helsinki time as staff read it: "4.12.2026 klo 12.05"."""
    if moment is None:
        return "–"
    local = moment.astimezone(timezone)
    return f"{local.day}.{local.month}.{local.year} klo {local.hour}.{local.minute:02d}"


def format_duration(run: CrawlRun, now: datetime) -> str:
    """How long the run took (or has taken so far): "45 s", "3 min 5 s", "2 h 10 min"."""
    end = run.finished_at or now
    seconds = max(0, int((end - run.started_at).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


@blueprint.get("/haut")
@login_required
def crawl() -> str:
    timezone = _mailer().timezone
    now = datetime.now(UTC)
    with _session() as db:
        sources = crawl_health(db, now=now, timezone=timezone)
        register = register_health(db, now=now, timezone=timezone)
        quarantine_count, quarantine = quarantined(db)
        return render_template(
            "dashboard/crawl.html",
            title="Haun tila",
            sources=sources,
            register=register,
            quarantine_count=quarantine_count,
            quarantine=quarantine,
            status_words=RUN_STATUS_WORDS,
            format_time=lambda moment: format_time(moment, timezone),
            format_duration=lambda run: format_duration(run, now),
        )


# subscribers --------------------------------------------------------------------------------


@dataclass
class SubscriberRow:
    subscriber: Subscriber
    searches: list[dict[str, str]]
    messages: dict[str, int]


def message_counts(session: Session) -> dict[int, dict[str, int]]:
    """Messages per subscriber per status, counted in SQL."""
    statement = select(Message.subscriber_id, Message.status, func.count()).group_by(
        Message.subscriber_id, Message.status
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for subscriber_id, status, count in session.execute(statement):
        counts[subscriber_id][status] = int(count)
    return counts


_ELEMENTS = {
    "sqlite": "SELECT j.value, count(DISTINCT s.id) FROM subscriptions AS s, json_each(s.{column}) AS j "
    "WHERE s.status = 'active' GROUP BY j.value",
    "postgresql": "SELECT j.value, count(DISTINCT s.id) FROM subscriptions AS s "
    "CROSS JOIN LATERAL jsonb_array_elements_text(s.{column}) AS j(value) "
    "WHERE s.status = 'active' GROUP BY j.value",
}


def active_searches_by(session: Session, column: str) -> dict[str, int]:
    """How many active searches name each value of a JSON list column (``sectors`` or ``regions``), in SQL."""
    if column not in ("sectors", "regions"):
        raise ValueError(f"not a list column of searches: {column!r}")
    statement = text(_ELEMENTS[session.get_bind().dialect.name].format(column=column))
    return {str(value): int(count) for value, count in session.execute(statement)}


def status_counts(session: Session, status: Any) -> dict[str, int]:
    return {str(key): int(count) for key, count in session.execute(select(status, func.count()).group_by(status))}


def subscriber_rows(session: Session, mailer: Mailer) -> list[SubscriberRow]:
    """Every subscriber with their searches and message counts: three queries in all."""
    subscribers = list(session.scalars(select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id)))
    searches: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in session.scalars(select(Subscription).order_by(Subscription.subscriber_id, Subscription.id)):
        searches[row.subscriber_id].append(
            {
                "label": search_label(row, mailer),
                "frequency": FREQUENCY_WORDS.get(row.frequency, row.frequency),
                "status": row.status,
                "status_text": SUBSCRIPTION_STATUS_WORDS.get(row.status, row.status),
            }
        )
    messages = message_counts(session)
    return [SubscriberRow(item, searches[item.id], messages.get(item.id, {})) for item in subscribers]


def named_counts(counts: dict[str, int], name: Any) -> list[tuple[str, int]]:
    """``counts`` with Finnish names, most first, then alphabetically."""
    return sorted(((name(key), count) for key, count in counts.items()), key=lambda item: (-item[1], item[0]))


def _region_name(mailer: Mailer, value: str) -> str:
    level, _, code = value.partition(":")
    try:
        return mailer.regions.place_name(level, code)
    except KeyError:
        return value


@blueprint.get("/tilaajat")
@login_required
def subscribers() -> str:
    mailer = _mailer()
    with _session() as db:
        rows = subscriber_rows(db, mailer)
        by_sector = named_counts(active_searches_by(db, "sectors"), lambda slug: mailer.sectors.get(slug, slug))
        by_region = named_counts(active_searches_by(db, "regions"), lambda value: _region_name(mailer, value))
        return render_template(
            "dashboard/subscribers.html",
            title="Tilaajat",
            rows=rows,
            by_sector=by_sector,
            by_region=by_region,
            subscriber_totals=status_counts(db, Subscriber.status),
            search_totals=status_counts(db, Subscription.status),
            message_totals=status_counts(db, Message.status),
            subscriber_words=SUBSCRIBER_STATUS_WORDS,
            search_words=SUBSCRIPTION_STATUS_WORDS,
            message_words=MESSAGE_STATUS_WORDS,
        )
