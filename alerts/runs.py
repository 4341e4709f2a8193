"""One alert run, as the command line and the scheduler start it: match, compose, deliver.

Each step is its own unit of work and safe to repeat: matching records each
(subscriber, tender, event) once, composing claims each alert once, delivery marks a
message sent only when a server accepted it. A run that dies anywhere is finished
by the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer, compose_alert_messages
from alerts.delivery import DeliveryOutcome, deliver_pending
from alerts.digests import DigestPeriod, compose_digest, due_period, immediate_period
from alerts.record import RecordOutcome, record_alerts
from alerts.transport import Transport, transport_for
from config.settings import Settings


@dataclass
class RunSummary:
    """What a run did, for the one-line report."""

    matched: RecordOutcome = field(default_factory=RecordOutcome)
    composed: int = 0
    delivery: DeliveryOutcome = field(default_factory=DeliveryOutcome)
    period: DigestPeriod | None = None
    period_done_before: bool = False


def send_alerts(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    transport: Transport | None = None,
    now: datetime | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> RunSummary:
    """Match what changed, build the instant emails, send everything pending (confirmations and retries too).

    ``now`` (tests, replays) fixes the time of every step, delivery's retry clock included.
    """
    clock = (lambda: now) if now is not None else None
    now = now or datetime.now(UTC)
    mailer = Mailer.from_settings(settings)
    summary = RunSummary(matched=record_alerts(sessions, now=now))
    with sessions() as session, session.begin():
        summary.composed = compose_alert_messages(session, mailer, kind="instant", now=now)
    summary.delivery = _deliver(settings, sessions, transport, stop, clock)
    return summary


def send_digest(
    settings: Settings,
    sessions: sessionmaker[Session],
    frequency: str,
    *,
    immediate: bool = False,
    transport: Transport | None = None,
    now: datetime | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> RunSummary:
    """Build the due daily or weekly digest (or one ending now) and send what is pending."""
    clock = (lambda: now) if now is not None else None
    now = now or datetime.now(UTC)
    mailer = Mailer.from_settings(settings)
    period = immediate_period(frequency, now) if immediate else due_period(frequency, now, settings.timezone)
    summary = RunSummary(matched=record_alerts(sessions, now=now), period=period)
    with sessions() as session, session.begin():
        built = compose_digest(session, mailer, period, now=now)
    summary.composed = built or 0
    summary.period_done_before = built is None
    summary.delivery = _deliver(settings, sessions, transport, stop, clock)
    return summary


def _deliver(
    settings: Settings,
    sessions: sessionmaker[Session],
    transport: Transport | None,
    stop: Callable[[], bool],
    clock: Callable[[], datetime] | None,
) -> DeliveryOutcome:
    return deliver_pending(
        sessions,
        transport or transport_for(settings.smtp_url, settings.outbox_dir),
        mail_from=settings.mail_from,
        stop=stop,
        now=clock or (lambda: datetime.now(UTC)),
    )
