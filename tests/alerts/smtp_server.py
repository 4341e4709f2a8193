"""A real SMTP server for the alerts tests, on loopback, that a test can script to misbehave.

It is aiosmtpd in a thread of the test process: the client under test speaks real SMTP
over a real socket, so what it sees on a fault is what it would see from a real server.
No authentication and no TLS (``url`` is ``smtp://127.0.0.1:PORT``); a client without
credentials uses STARTTLS only when offered, and this server does not offer it.

Faults, each until :meth:`SmtpTestServer.clear`:

* ``fail_next(count, code, text)``: the next ``count`` messages are answered with this code
  after their DATA (the answer to the final dot), and not kept.
* ``reject_recipient(address, code, text)``: RCPT TO for that address gets this answer.
* ``answer_connect(code)``: every new connection is greeted with this code instead of 220
  and closed (aiosmtpd lets a subclass replace the greeting); ``restore()`` ends it.
* ``drop_after(accepted)``: accept this many more messages, then in the next DATA take the
  first line of content and reset the TCP connection (RST, no reply), once.
* ``stall_after(accepted, keep=…)``: accept this many more messages, then take the whole next
  message and never answer its final dot (``stalled`` turns true); with ``keep`` the server has
  kept it (a server that queued a message whose 250 never reached the client), without it
  has not. For killing a client in the middle of a send.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SERVER_NAME = "smtp.hankintavahti.test"


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message as the server saw it."""

    envelope_from: str
    recipients: list[str]
    message: EmailMessage  # parsed with policy.default
    data: bytes  # exactly what arrived after DATA, dot-unstuffed, CRLF line ends
    mail_options: list[str]  # the MAIL FROM parameters, e.g. ["BODY=8BITMIME"]


@dataclass
class _Fault:
    code: int
    text: str

    @property
    def answer(self) -> str:
        return f"{self.code} {self.text}"


class _Script:
    """What the server will do next; shared between the test thread and the server's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.failures_left = 0
        self.failure = _Fault(451, "4.3.0 Try again later")
        self.rejected: dict[str, _Fault] = {}
        self.greeting: _Fault | None = None
        self.accepted_before_drop: int | None = None
        self.accepted_before_stall: int | None = None
        self.stall_keeps = False
        self.stalled = False

    # aiosmtpd hooks (called in the server's thread) --------------------------------------------------------------

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            fault = self.rejected.get(address.lower())
        if fault is not None:
            return fault.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return self.failure.answer
            stall = self.accepted_before_stall == 0
            if stall:
                self.accepted_before_stall = None
                self.stalled = True
            if not stall or self.stall_keeps:
                data = cast(bytes, envelope.original_content)
                message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(data))
                self.messages.append(
                    ReceivedMessage(
                        str(envelope.mail_from), list(envelope.rcpt_tos), message, data, list(envelope.mail_options)
                    )
                )
            if self.accepted_before_drop is not None:
                self.accepted_before_drop -= 1
            if self.accepted_before_stall is not None:
                self.accepted_before_stall -= 1
        if stall:
            await asyncio.sleep(3600)  # no answer; cancelled when the client goes away
        return "250 2.0.0 OK: queued"

    # Called by _ScriptedSmtp ---------------------------------------------------------------------------------------

    def connected(self) -> _Fault | None:
        """Count a new connection; the answer to greet it with when connections are being refused."""
        with self.lock:
            self.connections += 1
            return self.greeting

    def drop_now(self) -> bool:
        with self.lock:
            if self.accepted_before_drop == 0:
                self.accepted_before_drop = None
                return True
            return False


class _ScriptedSmtp(SMTP):
    """aiosmtpd's server with two faults its hooks cannot express: a refusing greeting and a drop mid-DATA."""

    def __init__(self, script: _Script, **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.script = script

    async def _handle_client(self) -> None:
        refusal = self.script.connected()
        if refusal is None:
            await super()._handle_client()
            return
        await self.push(f"{refusal.code} {SERVER_NAME} {refusal.text}")
        assert self.transport is not None
        self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        assert self.envelope is not None
        if self.envelope.rcpt_tos and not arg and self.script.drop_now():
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the message has started to arrive; now the wire goes dead
            self._reset_connection()
            # Wait to be cancelled by connection_lost(): returning would read the buffered rest of the
            # message as commands.
            await asyncio.sleep(3600)
            return
        await super().smtp_DATA(arg)

    def _reset_connection(self) -> None:
        """Close with RST rather than FIN: the client sees 'connection reset', as when a server crashes."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class _Controller(Controller):
    """Binds port 0 and reads back the port the system chose, so parallel runs never collide."""

    def __init__(self, script: _Script) -> None:
        super().__init__(script, hostname="127.0.0.1", port=0, server_hostname=SERVER_NAME, ready_timeout=5.0)

    def factory(self) -> SMTP:
        return _ScriptedSmtp(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpTestServer:
    """Start with ``with SmtpTestServer() as server:`` (or :meth:`start`/:meth:`stop`)."""

    def __init__(self) -> None:
        self._script = _Script()
        self._controller = _Controller(self._script)
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMessage]:
        """The accepted messages, in order of arrival."""
        with self._script.lock:
            return list(self._script.messages)

    @property
    def connections(self) -> int:
        """How many connections clients opened (since start or the last :meth:`clear`)."""
        with self._script.lock:
            return self._script.connections

    def start(self) -> None:
        self._controller.start()
        self.port = self._controller.port
        self.clear()  # the controller's own trigger connection is not a client's

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Faults --------------------------------------------------------------------------------------------------------

    def fail_next(self, count: int, code: int = 451, text: str = "4.3.0 Try again later") -> None:
        """Answer the DATA of the next ``count`` messages with ``code`` (and keep none of them)."""
        with self._script.lock:
            self._script.failures_left = count
            self._script.failure = _Fault(code, text)

    def answer_connect(self, code: int = 421, text: str = "4.3.2 Service not available, closing channel") -> None:
        """Greet every new connection with ``code`` and close it, until :meth:`restore`."""
        with self._script.lock:
            self._script.greeting = _Fault(code, text)

    def restore(self) -> None:
        """Greet new connections normally again."""
        with self._script.lock:
            self._script.greeting = None

    def reject_recipient(self, address: str, code: int = 550, text: str = "5.1.1 User unknown") -> None:
        """Answer RCPT TO for ``address`` (any case) with ``code``."""
        with self._script.lock:
            self._script.rejected[address.lower()] = _Fault(code, text)

    def drop_after(self, accepted: int) -> None:
        """Accept ``accepted`` more messages, then reset the connection in the middle of the next DATA (once)."""
        with self._script.lock:
            self._script.accepted_before_drop = accepted

    def stall_after(self, accepted: int, *, keep: bool) -> None:
        """Accept ``accepted`` more messages, then never answer the next one's final dot (once); ``keep`` it or not."""
        with self._script.lock:
            self._script.accepted_before_stall = accepted
            self._script.stall_keeps = keep
            self._script.stalled = False

    @property
    def stalled(self) -> bool:
        """True once a message is waiting for an answer that :meth:`stall_after` withholds."""
        with self._script.lock:
            return self._script.stalled

    def clear(self) -> None:
        """Forget messages, faults and the connection count."""
        with self._script.lock:
            self._script.reset()


def closed_port() -> int:
    """A loopback port with nothing listening on it: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


__all__ = ["ReceivedMessage", "SmtpTestServer", "closed_port"]
