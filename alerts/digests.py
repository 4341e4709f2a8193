"""Daily and weekly digests: which period is due, and building each period's emails once.

A daily digest goes out at 07:00 Europe/Helsinki and covers the day before it; a
weekly one on Mondays at 07:00 and covers the week before. A :class:`DigestRun` row,
unique per (frequency, period end), records each period: a second run for the same
period (a restart, a second scheduler) finds it done and builds nothing. A run that
died half-way is continued, because only unclaimed alerts are composed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.compose import Mailer, compose_alert_messages
from alerts.record import insert_missing
from models.outbox import DigestRun

DIGEST_TIME = time(7, 0)
DIGEST_FREQUENCIES = ("daily", "weekly")


@dataclass(frozen=True)
class DigestPeriod:
    frequency: str
    start: datetime  # UTC
    end: datetime  # UTC
    immediate: bool = False  # ends now (``--now``), not at a 07:00 boundary

    def local_dates(self, timezone: ZoneInfo) -> tuple[date, date]:
        """First and last Helsinki day the period covers, as the digest names them.

        A digest sent at 07:00 covers the days before it (Monday's weekly one is the
        previous Monday to Sunday); one built later in a day (``--now``) covers that day too.
        """
        start = self.start.astimezone(timezone).date()
        end_local = self.end.astimezone(timezone)
        before_seven = end_local.time() <= DIGEST_TIME and not self.immediate
        end = end_local.date() - timedelta(days=1) if before_seven else end_local.date()
        return start, max(start, end)


def due_period(frequency: str, now: datetime, timezone: ZoneInfo) -> DigestPeriod:
    """The latest period that has ended by ``now``: up to today's (or Monday's) 07:00 local time."""
    if frequency not in DIGEST_FREQUENCIES:
        raise ValueError(frequency)
    local = now.astimezone(timezone)
    day = local.date()
    if datetime.combine(day, DIGEST_TIME, timezone) > local:
        day -= timedelta(days=1)
    if frequency == "weekly":
        day -= timedelta(days=day.weekday())
    end = datetime.combine(day, DIGEST_TIME, timezone)
    start = datetime.combine(day - timedelta(days=1 if frequency == "daily" else 7), DIGEST_TIME, timezone)
    return DigestPeriod(frequency, start.astimezone(UTC), end.astimezone(UTC))


def immediate_period(frequency: str, now: datetime) -> DigestPeriod:
    """A period that ends now (``digest send --now``): for trying digests out, and after an outage."""
    length = timedelta(days=1 if frequency == "daily" else 7)
    return DigestPeriod(frequency, now - length, now, immediate=True)


def compose_digest(session: Session, mailer: Mailer, period: DigestPeriod, *, now: datetime) -> int | None:
    """Build the period's digest emails; their number, or None when the period was already done."""
    insert_missing(
        session,
        DigestRun.__table__,
        [
            {
                "frequency": period.frequency,
                "period_start": period.start,
                "period_end": period.end,
                "created_at": now,
                "messages": 0,
            }
        ],
    )
    run = session.scalars(
        select(DigestRun)
        .where(DigestRun.frequency == period.frequency, DigestRun.period_end == period.end)
        .with_for_update()
    ).one()
    if run.finished_at is not None:
        return None
    built = compose_alert_messages(
        session,
        mailer,
        kind=period.frequency,
        now=now,
        created_until=period.end,
        digest_run_id=run.id,
        period=period.local_dates(mailer.timezone),
    )
    run.messages += built
    run.finished_at = now
    session.flush()
    return built
