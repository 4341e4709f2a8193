"""Handing one composed email to a mail server, or to a folder when there is none.

The outbox decides *what* to send and *when to try again*; a transport only says whether
one message was accepted. It answers with :class:`DeliveryError`, whose ``permanent``
flag is the outbox's whole decision: a permanent error is a bounce (never retried), any
other error is tried again later.

Two transports share the :class:`Transport` shape:

* :class:`SmtpTransport` when ``SMTP_URL`` is set. One connection per ``with`` block (a
  batch), opened on the first send. After a dropped connection the failing message gets a
  temporary error and the next send connects again, so one hiccup does not end a batch.
* :class:`DirectoryTransport` otherwise, the embedded default: each message becomes an
  ``.eml`` file in ``OUTBOX_DIR``, so nothing is dropped on a machine without a mail server.

``SMTP_URL`` forms (user and password are optional and percent-decoded)::

    smtp://user:pass@mail.example.fi:587     plain connect, then STARTTLS (default port 587)
    smtps://user:pass@mail.example.fi:465    TLS from the first byte (default port 465)
    smtp://localhost:25?starttls=no          a local relay that offers no TLS

STARTTLS is required when credentials are given, so a password never travels in clear;
only a loopback host (``localhost``, ``127.0.0.1``, ``::1``) is trusted without it. With
no credentials STARTTLS is used whenever the server offers it. ``?starttls=no`` switches
it off for a relay on this machine or the local network; with credentials it is accepted
only for a loopback host. ``?starttls=yes`` demands it even without credentials.
"""

from __future__ import annotations

import contextlib
import email.policy
import enum
import hashlib
import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from config.errors import ConfigurationError, HankintavahtiError

log = logging.getLogger(__name__)

SMTP_URL_HELP = (
    "Anna muodossa smtp://käyttäjä:salasana@palvelin:587 (STARTTLS) tai smtps://käyttäjä:salasana@palvelin:465; "
    "paikalliselle välittäjälle ilman salausta smtp://localhost:25?starttls=no."
)

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


class DeliveryError(HankintavahtiError):
    """A message was not accepted.

    ``permanent`` is True for a 5xx answer about the recipient or the message (never retry;
    count as a bounce), False for a 4xx answer, a dropped, timed-out or refused connection,
    or a failure to set up the connection (greeting, STARTTLS, login): those are about our
    server, not about the subscriber, and must not turn every subscriber into a bounce.
    ``code`` is the SMTP code or None; ``str(error)`` is one line, fit for the outbox's
    ``last_error``.
    """

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(_one_line(message))
        self.permanent = permanent
        self.code = code


class Transport(Protocol):
    """What the outbox needs from a way of sending mail."""

    description: str

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send(self, message: EmailMessage | WireEmail, *, before_accept: Callable[[], object] | None = None) -> None:
        """Return only when the message was accepted; otherwise raise :class:`DeliveryError`.

        ``before_accept`` is called once everything but the end of the message has been handed
        over, at the last moment before the message can be accepted (for SMTP: before the final
        dot). If it raises, the message is abandoned, never accepted, and its error propagates.
        It is not called when sending fails before that point.
        """
        ...


@dataclass(frozen=True)
class WireEmail:
    """An email already flattened to the bytes a server gets (ASCII, CRLF line ends), with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


# --- SMTP_URL -------------------------------------------------------------------------------------------------------


class StartTls(enum.StrEnum):
    """Whether a plain ``smtp://`` connection upgrades to TLS before anything else is said."""

    REQUIRED = "required"  # credentials over a network, or ?starttls=yes: no TLS, no sending
    IF_OFFERED = "if-offered"  # no credentials (or a loopback host): encrypt when the server can
    OFF = "off"  # smtps:// (already TLS), or ?starttls=no for a local relay


@dataclass(frozen=True)
class SmtpTarget:
    """A parsed ``SMTP_URL``. Build with :func:`parse_smtp_url`."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: StartTls
    ssl: bool

    @property
    def address(self) -> str:
        """``host:port`` as people write it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __repr__(self) -> str:  # the password must not reach a log through repr()
        return (
            f"SmtpTarget(scheme={self.scheme!r}, host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={'***' if self.password else None}, starttls={self.starttls.value!r}, ssl={self.ssl})"
        )


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read ``SMTP_URL``, or raise :class:`ConfigurationError` with one Finnish line that says how to write it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _bad_url(url, "osoitetta ei voi lukea") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _bad_url(url, f"protokollan pitää olla smtp tai smtps, ei {scheme or 'tyhjä'}")
    host = _host(url, parts.hostname or "")
    if port == 0:
        raise _bad_url(url, "portti 0 ei kelpaa")
    if parts.path not in ("", "/") or parts.fragment:
        raise _bad_url(url, "osoitteessa ei saa olla polkua eikä #-osaa")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if bool(username) != bool(password):
        raise _bad_url(url, "anna sekä käyttäjätunnus että salasana, tai ei kumpaakaan")
    use_tls = scheme == "smtps"
    starttls = _starttls(url, parts.query, use_tls=use_tls, credentials=username is not None, host=host)
    return SmtpTarget(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        username=username,
        password=password,
        starttls=starttls,
        ssl=use_tls,
    )


def is_loopback(host: str) -> bool:
    """True for this machine: a password may cross a loopback interface without TLS."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _host(url: str, host: str) -> str:
    """A DNS name (IDNA allowed) or an IP address; anything else would fail only at the first send."""
    if not host:
        raise _bad_url(url, "palvelimen nimi puuttuu")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _bad_url(url, "palvelimen nimi ei kelpaa") from None
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise _bad_url(url, "palvelimen nimi ei kelpaa")
    return host


def _starttls(url: str, query: str, *, use_tls: bool, credentials: bool, host: str) -> StartTls:
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise _bad_url(url, "tuntematon lisäasetus") from None
    unknown = set(options) - {"starttls"}
    if unknown:
        raise _bad_url(url, f"tuntematon lisäasetus {sorted(unknown)[0]}")
    wanted = options.get("starttls", "").lower()
    if wanted not in ("", "yes", "no"):
        raise _bad_url(url, "starttls voi olla vain yes tai no")
    if use_tls:
        if wanted:
            raise _bad_url(url, "smtps:// on salattu alusta asti, starttls-asetusta ei käytetä sen kanssa")
        return StartTls.OFF
    if wanted == "no":
        if credentials and not is_loopback(host):
            raise _bad_url(
                url, "salasanaa ei lähetetä salaamattomana verkon yli, joten starttls=no ei käy tunnusten kanssa"
            )
        return StartTls.OFF
    if wanted == "yes" or (credentials and not is_loopback(host)):
        return StartTls.REQUIRED
    return StartTls.IF_OFFERED


def _bad_url(url: str, reason: str) -> ConfigurationError:
    return ConfigurationError(f"SMTP_URL={_redacted(url)!r} ei kelpaa: {reason}. {SMTP_URL_HELP}")


def _redacted(url: str) -> str:
    """The URL with its password replaced, so that an error line can show the rest."""
    return re.sub(r"(://[^/?#@]*?:)[^/?#]*@", r"\1***@", url.strip())


# --- SMTP -----------------------------------------------------------------------------------------------------------


class SmtpTransport:
    """Sends over one SMTP connection per ``with`` block, reconnecting once after a drop."""

    def __init__(self, url: str, *, timeout: float = 30.0, local_hostname: str | None = None) -> None:
        self.target = parse_smtp_url(url)
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.description = f"SMTP {self.target.address}"
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT politely; a server that is already gone is no error here."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def send(self, message: EmailMessage | WireEmail, *, before_accept: Callable[[], object] | None = None) -> None:
        if isinstance(message, WireEmail):
            message_id = message.message_id
        else:
            message_id = str(message["Message-ID"] or "")
            sender = envelope_sender(message)
        smtp = self._connection()
        try:
            if isinstance(message, WireEmail):
                refused = self._transmit(smtp, message, before_accept)
            else:
                options = _mail_options(smtp, message, sender)
                _call(before_accept)  # send_message cannot pause before the final dot: wait before all of it
                refused = smtp.send_message(message, from_addr=sender, mail_options=options)
        except _Abandoned as abandoned:
            self._forget(smtp)  # mid-DATA: only closing the connection (no dot, no QUIT) leaves it unaccepted
            raise abandoned.error from None
        except smtplib.SMTPRecipientsRefused as error:
            self._forget_if_closed(smtp)
            raise self._recipient_refused(error) from None
        except smtplib.SMTPResponseException as error:  # MAIL FROM or DATA answered with an error
            self._forget_if_closed(smtp)
            raise self._answered(error.smtp_code, error.smtp_error, "ei ottanut viestiä vastaan") from None
        except smtplib.SMTPServerDisconnected as error:
            self._forget(smtp)
            raise DeliveryError(
                f"Yhteys SMTP-palvelimeen {self.target.address} katkesi: {error}", permanent=False
            ) from None
        except smtplib.SMTPException as error:  # e.g. SMTPUTF8 needed but not offered
            self._forget_if_closed(smtp)
            raise DeliveryError(
                f"Viestiä ei voitu lähettää SMTP-palvelimelle {self.target.address}: {error}", permanent=False
            ) from None
        except OSError as error:  # timeout, reset, broken pipe
            self._forget(smtp)
            reason = _os_reason(error)
            raise DeliveryError(
                f"Yhteys SMTP-palvelimeen {self.target.address} katkesi: {reason}", permanent=False
            ) from None
        if refused:
            # Accepted for the others: retrying would send them a second copy, so this counts as sent.
            log.warning("%s refused some recipients of %s: %s", self.description, message_id, refused)

    def _transmit(
        self, smtp: smtplib.SMTP, email: WireEmail, before_accept: Callable[[], object] | None
    ) -> dict[str, tuple[int, bytes]]:
        """``smtplib.SMTP.sendmail`` for one recipient, with ``before_accept`` called before the final dot.

        The answers and the exceptions are sendmail's, so :meth:`send` reads them the same way.
        """
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(email.data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, answer = smtp.mail(email.sender, options)
        if code != 250:
            _reset_or_close(smtp, code)
            raise smtplib.SMTPSenderRefused(code, answer, email.sender)
        code, answer = smtp.rcpt(email.recipient)
        if code not in (250, 251):
            _reset_or_close(smtp, code)
            raise smtplib.SMTPRecipientsRefused({email.recipient: (code, answer)})
        code, answer = smtp.docmd("data")
        if code != 354:
            _reset_or_close(smtp, code)
            raise smtplib.SMTPDataError(code, answer)
        body = _LINE_START_DOT.sub(b"..", email.data)
        smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")
        _call(before_accept)
        smtp.send(b".\r\n")
        code, answer = smtp.getreply()
        if code != 250:
            _reset_or_close(smtp, code)
            raise smtplib.SMTPDataError(code, answer)
        return {}

    # The connection -------------------------------------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        """Connect, greet, secure and log in; any failure here is temporary (it is about our server)."""
        target = self.target
        try:
            if target.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    target.host, target.port, self.local_hostname, timeout=self.timeout, context=_tls_context()
                )
            else:
                smtp = smtplib.SMTP(target.host, target.port, self.local_hostname, timeout=self.timeout)
        except smtplib.SMTPConnectError as error:  # the greeting was not 220
            raise self._setup_failed("ei ottanut yhteyttä vastaan", error) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"SMTP-palvelimeen {self.target.address} ei saatu yhteyttä: {_os_reason(error)}", permanent=False
            ) from None
        try:
            # The end of a message (".") is a small write right after its body: without this, Nagle's
            # algorithm holds it back until the server acknowledges the body (40 ms on Linux).
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._secure_and_log_in(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _secure_and_log_in(self, smtp: smtplib.SMTP) -> None:
        target = self.target
        try:
            smtp.ehlo_or_helo_if_needed()
            if target.starttls is not StartTls.OFF:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=_tls_context())
                    smtp.ehlo()
                elif target.starttls is StartTls.REQUIRED:
                    raise DeliveryError(
                        f"SMTP-palvelin {self.target.address} ei tarjoa STARTTLS-salausta, jota SMTP_URL vaatii "
                        "(tunnuksia ei lähetetä salaamattomina). Käytä smtps://-osoitetta tai palvelinta, "
                        "joka tukee STARTTLS:ää.",
                        permanent=False,
                    )
            if target.username is not None and target.password is not None:
                smtp.login(target.username, target.password)
        except smtplib.SMTPAuthenticationError as error:
            raise self._setup_failed("ei hyväksynyt SMTP_URL:n tunnuksia", error) from None
        except smtplib.SMTPResponseException as error:
            raise self._setup_failed("ei ottanut yhteyttä vastaan", error) from None
        except (smtplib.SMTPException, OSError) as error:  # includes ssl.SSLError (a failed certificate check)
            raise DeliveryError(
                f"Yhteyden avaaminen SMTP-palvelimeen {self.target.address} epäonnistui: {_os_reason(error)}",
                permanent=False,
            ) from None

    def _forget(self, smtp: smtplib.SMTP) -> None:
        """Drop a broken connection so that the next send connects again."""
        smtp.close()
        if self._smtp is smtp:
            self._smtp = None

    def _forget_if_closed(self, smtp: smtplib.SMTP) -> None:
        """smtplib closes the socket itself after a 421 (the server is going away)."""
        if smtp.sock is None:
            self._forget(smtp)

    # Errors ---------------------------------------------------------------------------------------------------------

    def _recipient_refused(self, error: smtplib.SMTPRecipientsRefused) -> DeliveryError:
        address, (code, text) = next(iter(error.recipients.items()))
        return self._answered(code, text, f"hylkäsi vastaanottajan {address}")

    def _answered(self, code: int, text: bytes | str, what: str) -> DeliveryError:
        """An error answer about this message: 5xx is permanent, anything else is worth another try."""
        return DeliveryError(
            f"SMTP-palvelin {self.target.address} {what}: {code} {_decoded(text)}",
            permanent=500 <= code < 600,
            code=code,
        )

    def _setup_failed(self, what: str, error: smtplib.SMTPResponseException) -> DeliveryError:
        return DeliveryError(
            f"SMTP-palvelin {self.target.address} {what}: {error.smtp_code} {_decoded(error.smtp_error)}",
            permanent=False,
            code=error.smtp_code,
        )


def envelope_sender(message: EmailMessage) -> str:
    """The bounce address: the ``Sender`` header when the message has one, else ``From``."""
    header = message["Sender"] or message["From"]
    addresses = [address for _, address in getaddresses([str(header)]) if address] if header else []
    if not addresses:
        raise DeliveryError(
            f"Viestissä {message['Message-ID'] or ''} ei ole lähettäjää (From tai Sender).", permanent=True
        )
    return addresses[0]


_LINE_START_DOT = re.compile(rb"(?m)^\.")


class _Abandoned(Exception):  # noqa: N818 - a wrapper, not an error of its own
    """``before_accept`` raised in the middle of DATA: the connection must be dropped, then ``error`` raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _call(before_accept: Callable[[], object] | None) -> None:
    if before_accept is not None:
        try:
            before_accept()
        except BaseException as error:
            raise _Abandoned(error) from error


def _reset_or_close(smtp: smtplib.SMTP, code: int) -> None:
    """What sendmail does after an error answer: 421 means the server is closing, anything else resets."""
    if code == 421:
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


def _mail_options(smtp: smtplib.SMTP, message: EmailMessage, sender: str) -> tuple[str, ...]:
    """Declare BODY=8BITMIME for a UTF-8 body sent as 8bit, so that no relay on the way mangles it.

    smtplib adds it itself (with SMTPUTF8) when an address is not ASCII; saying it twice would be an error.
    """
    if not any(str(part.get("Content-Transfer-Encoding", "")).lower() == "8bit" for part in message.walk()):
        return ()
    headers = [str(value) for field in ("To", "Cc", "Bcc") for value in message.get_all(field, [])]
    if not all(address.isascii() for address in [sender, *(address for _, address in getaddresses(headers))]):
        return ()
    return ("BODY=8BITMIME",) if smtp.has_extn("8bitmime") else ()


def _tls_context() -> ssl.SSLContext:
    """Certificates are checked against the system's trust store, always."""
    return ssl.create_default_context()


def _decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _os_reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "palvelin ei vastannut ajoissa"
    return str(error) or type(error).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- A folder -------------------------------------------------------------------------------------------------------


class DirectoryTransport:
    """Writes each message as ``<folder>/<name>.eml``: the embedded default, and a record anyone can open.

    The name comes from the Message-ID: its readable part (sanitised to ``[A-Za-z0-9._-]``)
    and a short digest of the whole ID, which keeps two IDs that sanitise alike apart. The
    same Message-ID always gives the same file, so a message written twice (a resumed run)
    is one file. Files are written whole or not at all (a temporary file, then a rename).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.description = f"kansio {self.folder}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def path_for(self, message: EmailMessage | WireEmail) -> Path:
        """Where ``message`` is (or will be) written."""
        return self.folder / f"{file_stem(message)}.eml"

    def send(self, message: EmailMessage | WireEmail, *, before_accept: Callable[[], object] | None = None) -> None:
        data = message.data if isinstance(message, WireEmail) else message.as_bytes(policy=email.policy.SMTP)
        path = self.path_for(message)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data, before_accept)
        except OSError as error:
            raise DeliveryError(
                f"Viestiä ei voitu kirjoittaa kansioon {self.folder}: {error}", permanent=False
            ) from None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(message: EmailMessage | WireEmail) -> str:
    """A file name from the Message-ID; a message without one is named by a digest of its content."""
    if isinstance(message, WireEmail):
        message_id, content = message.message_id.strip(), message.data
    else:
        message_id = str(message["Message-ID"] or "").strip()
        content = message.as_bytes(policy=email.policy.SMTP) if not message_id else b""
    if not message_id:
        return "sisalto-" + hashlib.sha256(content).hexdigest()[:24]
    readable = _UNSAFE.sub("_", message_id.strip("<>")).strip("._-")[:100] or "viesti"
    return f"{readable}-{hashlib.sha256(message_id.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


def _write_atomically(path: Path, data: bytes, before_rename: Callable[[], object] | None = None) -> None:
    """A temporary file in the same folder, renamed over the target: readers see the old file or the new one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- Choosing ---------------------------------------------------------------------------------------------------------


def transport_for(smtp_url: str | None, outbox_dir: Path) -> Transport:
    """SMTP when ``SMTP_URL`` is set, else ``.eml`` files in ``OUTBOX_DIR``: the embedded default drops nothing."""
    if smtp_url and smtp_url.strip():
        return SmtpTransport(smtp_url)
    return DirectoryTransport(outbox_dir)
