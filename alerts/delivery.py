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

Keeping that promise costs a durable commit per message; a sender does not wait for it
idly. While message N's commit is being written, N+1 is locked, built and handed to
the server up to its last line; the final dot, the point at which the server accepts
N+1, goes only after N's commit is durable (:meth:`Transport.send`'s ``before_accept``).
So there is still at most one message that the server may have accepted and that is not
marked sent, and a sender killed in between leaves N+1 half-sent, which a server
discards.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from functools import cache, lru_cache
from typing import Any, Protocol

from sqlalchemy import Connection, RootTransaction, Row, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts.transport import DeliveryError, Transport, WireEmail, envelope_sender
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


def email_of(message: Message | StoredEmail, mail_from: str) -> EmailMessage:
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


class StoredEmail(Protocol):
    """What an email is made of, as the outbox stores it (a :class:`Message` or a row of its columns)."""

    to_address: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] | None
    message_id_header: str


def wire_email(message: Message | StoredEmail, mail_from: str) -> WireEmail | EmailMessage:
    """The email flattened to the bytes the SMTP server gets, written directly; or, rarely, as :func:`email_of`.

    Building an :class:`EmailMessage` and flattening it costs about 2 ms for a 15 kB digest, which
    was most of what sending cost besides the server and the commit. The message is always the
    same shape (headers, then a text and an HTML part, both UTF-8), so it is written here: headers
    folded by the standard library's SMTP policy (cached, since subjects and senders repeat), bodies
    quoted-printable by :func:`binascii.b2a_qp`, as the ``email`` package itself encodes lines
    longer than 78 characters. An address that is not ASCII needs SMTPUTF8, which
    ``smtplib.send_message`` negotiates: such an email goes out as an :class:`EmailMessage`.
    """
    if not (message.to_address.isascii() and mail_from.isascii()):
        return email_of(message, mail_from)
    headers = [
        ("From", mail_from),
        ("To", message.to_address),
        ("Subject", message.subject),
        ("Message-ID", message.message_id_header),
        *(message.headers or {}).items(),
        ("Auto-Submitted", "auto-generated"),
    ]
    boundary = f"=={hashlib.sha256(message.message_id_header.encode()).hexdigest()[:32]}=="
    data = b"".join(
        [
            *(_header(name, value) for name, value in headers),
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/alternative;\r\n boundary="%s"\r\n\r\n' % boundary.encode(),
            _part(boundary, "plain", message.text),
            _part(boundary, "html", message.html),
            b"--%s--\r\n" % boundary.encode(),
        ]
    )
    sender = _envelope_sender(mail_from)
    return WireEmail(sender=sender, recipient=message.to_address, message_id=message.message_id_header, data=data)


@cache
def _envelope_sender(mail_from: str) -> str:
    email = EmailMessage()
    email["From"] = mail_from
    return envelope_sender(email)


#: Printable ASCII words with single spaces between: such a value needs no encoding, only, when long, folding.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
#: What the SMTP policy would write back unchanged, by header: it parses addresses and IDs, not text.
_VERBATIM = {
    "To": re.compile(rf"{_DOT_ATOM}@{_DOT_ATOM}"),
    "Message-ID": re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>"),
    "Subject": _PLAIN,
    "List-Unsubscribe": _PLAIN,
    "List-Unsubscribe-Post": _PLAIN,
    "Auto-Submitted": _PLAIN,
}


def _header(name: str, value: str) -> bytes:
    """One header line, CRLF-ended; a value that is plain ASCII is written as is, anything else by :func:`_folded`.

    Most of each email's headers are unique to it (recipient, Message-ID, stop link), so the
    cache of :func:`_folded` does not help them, and the ``email`` package's parser costs a
    tenth of a millisecond per header. A plain value on a line of at most 78 characters is what
    the package writes too; a single long word goes on a continuation line of its own, as the
    package does. ``=?`` is left to the package, which reads it as the start of an encoded word.
    """
    pattern = _VERBATIM.get(name)
    if pattern is not None and pattern.fullmatch(value) and "=?" not in value:
        if len(name) + 2 + len(value) <= 78:
            return f"{name}: {value}\r\n".encode("ascii")
        if " " not in value and len(value) <= 900:
            return f"{name}:\r\n {value}\r\n".encode("ascii")
    return _folded(name, value)


@lru_cache(maxsize=4096)
def _folded(name: str, value: str) -> bytes:
    """One header as the ``email`` package writes it with the SMTP policy (encoded words, folded, CRLF).

    A value with a line break is refused with ValueError, as :class:`EmailMessage` refuses it.
    """
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


def _part(boundary: str, subtype: str, body: str) -> bytes:
    """One body part: UTF-8, quoted-printable, CRLF line ends, like ``set_content`` does for long lines.

    Quoted-printable never writes two ``=`` in a row, so a boundary made of ``==`` and hex
    digits cannot occur in the body.
    """
    lines = body.encode("utf-8", "surrogateescape").splitlines()
    encoded = binascii.b2a_qp(b"\r\n".join(lines) + b"\r\n", istext=True)
    head = f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
    # The line break before the next boundary belongs to the boundary, hence the one after the body.
    return head.encode() + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded + b"\r\n"


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
    sent, and marked, and the commit is durable before the next message can be accepted.
    So a sender that dies leaves at most one message accepted but not marked, and another
    sender never takes a message this one holds. The commit runs in a second thread while
    the next message is prepared (see the module's docstring). ``stop`` is asked between
    messages: a SIGTERM lets the message in flight finish and leaves the rest pending.
    """
    outcome = DeliveryOutcome()
    after_id = 0
    failures_in_row = 0
    with sessions() as session:
        engine = session.get_bind()
    # Two connections take turns: one commits the last email while the other claims the next.
    with transport, engine.connect() as connection, engine.connect() as spare, _Committer() as committer:
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
                transaction = connection.begin()
                try:
                    moment = now()
                    claim = {"claim_id": message_id, "claim_moment": moment}
                    claimed = connection.execute(_CLAIM, claim).first()
                    if claimed is None:  # another sender has it or has sent it
                        transaction.rollback()
                        continue
                    deferred = outcome.deferred
                    _attempt(connection, transport, claimed, mail_from, moment, outcome, committer)
                    failures_in_row = failures_in_row + 1 if outcome.deferred > deferred else 0
                except BaseException:
                    transaction.rollback()  # the message stays pending
                    raise
                committer.commit(connection, transaction)
                connection, spare = spare, connection  # this one's commit is in flight: the other is free


_MESSAGES = Message.__table__
_SUBSCRIBERS = Subscriber.__table__

#: Core statements, built once: per email the ORM's bookkeeping cost more than the queries themselves.
_CLAIM = (
    select(
        _MESSAGES.c.id,
        _MESSAGES.c.kind,
        _MESSAGES.c.attempts,
        _MESSAGES.c.to_address,
        _MESSAGES.c.subject,
        _MESSAGES.c.text,
        _MESSAGES.c.html,
        _MESSAGES.c.headers,
        _MESSAGES.c.message_id_header,
        _SUBSCRIBERS.c.id.label("subscriber_id"),
        _SUBSCRIBERS.c.status.label("subscriber_status"),
        _SUBSCRIBERS.c.bounces,
    )
    .join(_SUBSCRIBERS, _SUBSCRIBERS.c.id == _MESSAGES.c.subscriber_id)
    .where(
        _MESSAGES.c.id == bindparam("claim_id"),
        _MESSAGES.c.status == "pending",
        _MESSAGES.c.next_attempt_at <= bindparam("claim_moment"),
    )
    .with_for_update(skip_locked=True, of=_MESSAGES)
)
_MARK_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("mark_id"))
    .values(status="sent", sent_at=bindparam("mark_moment"), attempts=bindparam("mark_attempts"), last_error=None)
)


class _Committer:
    """Commits one message's transaction in a thread of its own, so that the next message need not wait for it.

    :meth:`durable` waits for the commit handed over last and raises its error; it is what a
    transport calls before the next message can be accepted, and what any write waits for
    (SQLite has one writer at a time).
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-commit")
        self._last: Future[None] | None = None

    def __enter__(self) -> _Committer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.durable()
        finally:
            self._thread.shutdown()

    def commit(self, connection: Connection, transaction: RootTransaction) -> None:
        self.durable()
        self._last = self._thread.submit(_commit, connection, transaction)

    def durable(self) -> None:
        last, self._last = self._last, None
        if last is not None:
            last.result()


def _commit(connection: Connection, transaction: RootTransaction) -> None:
    try:
        transaction.commit()
    except BaseException:
        # Whatever a failed commit left behind (SQLite's write lock, a broken session), the
        # connection is dropped rather than used again.
        connection.invalidate()
        raise


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
    connection: Connection,
    transport: Transport,
    claimed: Row[Any],
    mail_from: str,
    moment: datetime,
    outcome: DeliveryOutcome,
    committer: _Committer,
) -> None:
    """Send one claimed message and record what came of it on ``connection``, in its transaction (not committed)."""
    message = update(_MESSAGES).where(_MESSAGES.c.id == claimed.id)
    subscriber = update(_SUBSCRIBERS).where(_SUBSCRIBERS.c.id == claimed.subscriber_id)
    if claimed.kind != "confirmation" and claimed.subscriber_status == "unsubscribed":
        committer.durable()
        # They stopped everything while it waited: never mail them again.
        reason = "tilaaja lopetti kaikki viestit ennen lähetystä"
        connection.execute(message.values(status="cancelled", last_error=reason))
        return
    attempts = claimed.attempts + 1
    try:
        transport.send(wire_email(claimed, mail_from), before_accept=committer.durable)
    except DeliveryError as error:
        committer.durable()
        if error.permanent:
            connection.execute(message.values(status="rejected", attempts=attempts, last_error=str(error)))
            outcome.rejected += 1
            connection.execute(subscriber.values(bounces=_SUBSCRIBERS.c.bounces + 1))
            bounces = connection.scalar(
                select(_SUBSCRIBERS.c.bounces).where(_SUBSCRIBERS.c.id == claimed.subscriber_id)
            )
            if (bounces or 0) >= MAX_BOUNCES:
                reason = f"{bounces} hylättyä viestiä peräkkäin: {error}"
                connection.execute(
                    subscriber.where(_SUBSCRIBERS.c.status == "active").values(status="paused", status_reason=reason)
                )
        else:
            connection.execute(
                message.values(
                    attempts=attempts, last_error=str(error), next_attempt_at=moment + retry_wait(attempts)
                )
            )
            outcome.deferred += 1
        return
    committer.durable()
    connection.execute(_MARK_SENT, {"mark_id": claimed.id, "mark_moment": moment, "mark_attempts": attempts})
    if claimed.bounces:
        connection.execute(subscriber.values(bounces=0))
    outcome.sent += 1
