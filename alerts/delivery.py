"""Sending the outbox: each pending message until a server accepts it or refuses it for good.

A message is marked ``sent`` only after the server accepted it, in the same
transaction that holds its row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
senders never take the same message). Temporary failures (4xx, a dropped or refused
connection) leave it pending with a growing wait; nothing is ever given up on.
A permanent refusal (5xx) marks it ``rejected`` and counts a bounce; after
:data:`~models.subscriptions.MAX_BOUNCES` in a row the subscriber is paused (their
matches keep being recorded) until staff or the subscriber fix the address.

The guarantee, from the subscriber's side: each (subscriber, tender, event) is in
one message only (the alerts' unique constraint and ``message_id``). That message
is delivered once, except when the process dies after the server accepted it and
before the ``sent`` mark was committed: then it is sent again on the next run (at
most twice, same Message-ID, so mail clients that dedupe show it once). It is never
lost: an unsent message stays pending until accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.transport import DeliveryError, Transport
from models.outbox import Message
from models.subscriptions import MAX_BOUNCES, Subscriber

#: Waits after the 1st, 2nd … temporary failure; the last one repeats.
RETRY_WAITS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)

#: How many due messages one look at the outbox lists (each is then locked and sent on its own).
CANDIDATES = 200

#: Temporary failures in a row after which a batch stops (the server is down: the rest wait for the next run).
GIVE_UP_BATCH_AFTER = 3


@dataclass
class DeliveryOutcome:
    sent: int = 0
    deferred: int = 0
    rejected: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.deferred + self.rejected


def email_of(message: Message, mail_from: str) -> EmailMessage:
    """The email a stored message stands for: the same headers and bodies on every attempt."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id_header
    for name, value in (message.headers or {}).items():
        email[name] = value
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


def retry_wait(attempts: int) -> timedelta:
    return RETRY_WAITS[min(attempts, len(RETRY_WAITS)) - 1]


def deliver_pending(
    sessions: sessionmaker[Session],
    transport: Transport,
    *,
    mail_from: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> DeliveryOutcome:
    """Send pending messages that are due, oldest first, over one transport (one connection).

    Each message is its own transaction: its row is locked (``FOR UPDATE SKIP LOCKED``),
    sent, and marked, and the commit follows the server's answer. So a sender that dies
    leaves at most one message accepted but not marked, and another sender never takes
    a message this one holds. ``stop`` is asked between messages: a SIGTERM lets the
    message in flight finish and leaves the rest pending.
    """
    outcome = DeliveryOutcome()
    after_id = 0
    failures_in_row = 0
    with transport:
        while True:
            candidates = _due_ids(sessions, now(), after_id)
            if not candidates:
                return outcome
            for message_id in candidates:
                if (
                    (limit is not None and outcome.attempted >= limit)
                    or stop()
                    or failures_in_row >= GIVE_UP_BATCH_AFTER
                ):
                    return outcome
                after_id = message_id
                with sessions() as session, session.begin():
                    moment = now()
                    claimed = session.execute(
                        select(Message, Subscriber)
                        .join(Subscriber, Subscriber.id == Message.subscriber_id)
                        .where(Message.id == message_id, Message.status == "pending", Message.next_attempt_at <= moment)
                        .with_for_update(skip_locked=True, of=Message)
                    ).first()
                    if claimed is None:  # another sender has it or has sent it
                        continue
                    deferred = outcome.deferred
                    _attempt(transport, claimed[0], claimed[1], mail_from, moment, outcome)
                    failures_in_row = failures_in_row + 1 if outcome.deferred > deferred else 0


def _due_ids(sessions: sessionmaker[Session], moment: datetime, after_id: int) -> list[int]:
    """The next ids that look due, without locking them: one scan of the outbox per :data:`CANDIDATES` messages.

    Each is locked and checked again on its own before it is sent, so a stale candidate costs one lookup.
    """
    with sessions() as session:
        return list(
            session.scalars(
                select(Message.id)
                .where(Message.status == "pending", Message.next_attempt_at <= moment, Message.id > after_id)
                .order_by(Message.id)
                .limit(CANDIDATES)
            )
        )


def _attempt(
    transport: Transport,
    message: Message,
    subscriber: Subscriber,
    mail_from: str,
    moment: datetime,
    outcome: DeliveryOutcome,
) -> None:
    if message.kind != "confirmation" and subscriber.status == "unsubscribed":
        message.status = "cancelled"  # they stopped everything while it waited: never mail them again
        message.last_error = "tilaaja lopetti kaikki viestit ennen lähetystä"
        return
    message.attempts += 1
    try:
        transport.send(email_of(message, mail_from))
    except DeliveryError as error:
        message.last_error = str(error)
        if error.permanent:
            message.status = "rejected"
            outcome.rejected += 1
            subscriber.bounces += 1
            if subscriber.bounces >= MAX_BOUNCES and subscriber.status == "active":
                subscriber.status = "paused"
                subscriber.status_reason = f"{subscriber.bounces} hylättyä viestiä peräkkäin: {error}"
        else:
            message.next_attempt_at = moment + retry_wait(message.attempts)
            outcome.deferred += 1
        return
    message.status = "sent"
    message.sent_at = moment
    message.last_error = None
    subscriber.bounces = 0
    outcome.sent += 1
