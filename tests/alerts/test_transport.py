"""Handing composed alerts to a mail server (the scriptable one in smtp_server.py) or to a folder."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.delivery import _folded, _header, email_of, wire_email
from alerts.transport import (
    DeliveryError,
    DirectoryTransport,
    SmtpTransport,
    StartTls,
    WireEmail,
    parse_smtp_url,
    transport_for,
)
from config.errors import ConfigurationError
from tests.alerts.smtp_server import SmtpTestServer, closed_port

SUBJECT = "3 uutta tarjouspyyntöä: siivous, Forssan seutu"
TEXT = "Hei Matti,\n\nForssan seudulla on kolme uutta siivouksen tarjouspyyntöä. Määräaika on 12.6.2026 klo 12.00.\n"
HTML = "<p>Hei Matti,</p><p>Forssan seudulla on <b>kolme</b> uutta siivouksen tarjouspyyntöä.</p>\n"
UNSUBSCRIBE = "<https://hankintavahti.fi/tilaus/peru/8f3a>, <mailto:peru+8f3a@hankintavahti.fi>"


def alert(to: str = "matti.meikalainen@example.fi", *, message_id: str | None = None, text: str = TEXT) -> EmailMessage:
    """An alert as the composer makes it: UTF-8 subject, text and HTML bodies, one-click unsubscribe."""
    message = EmailMessage()
    message["From"] = "Hankintavahti <vahti@hankintavahti.fi>"
    message["To"] = to
    message["Subject"] = SUBJECT
    message["Message-ID"] = message_id or make_msgid(domain="hankintavahti.fi")
    message["List-Unsubscribe"] = UNSUBSCRIBE
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(HTML, subtype="html")
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts, with line ends as Python writes them (mail carries CRLF)."""
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


@pytest.fixture
def transport(smtp_server: SmtpTestServer) -> Iterator[SmtpTransport]:
    with SmtpTransport(smtp_server.url, timeout=5.0) as transport:
        yield transport


def delivery_error(transport: SmtpTransport, message: EmailMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        transport.send(message)
    assert "\n" not in str(caught.value)
    return caught.value


# --- SMTP: what arrives ---------------------------------------------------------------------------------------------


def test_an_alert_arrives_with_its_headers_and_utf8_text_intact(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    sent = alert()
    transport.send(sent)

    [received] = smtp_server.messages
    assert received.envelope_from == "vahti@hankintavahti.fi"
    assert received.recipients == ["matti.meikalainen@example.fi"]
    got = received.message
    assert got["Subject"] == SUBJECT
    assert got["Message-ID"] == sent["Message-ID"]
    assert got["List-Unsubscribe"] == UNSUBSCRIBE
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert bodies(got) == (TEXT, HTML)
    assert b"\r\n" in received.data and b"\n" not in received.data.replace(b"\r\n", b"")


def test_an_8bit_utf8_body_is_declared_as_such(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    transport.send(alert(text="Määräaika on perjantaina.\n"))

    assert "BODY=8BITMIME" in smtp_server.messages[0].mail_options


def test_an_ascii_message_declares_no_8bit_body(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    message = EmailMessage()
    message["From"] = "vahti@hankintavahti.fi"
    message["To"] = "matti.meikalainen@example.fi"
    message["Subject"] = SUBJECT
    message.set_content("Hei Matti, uusia tarjouspyyntoja.\n")
    transport.send(message)

    assert not any(option.startswith("BODY=") for option in smtp_server.messages[0].mail_options)


def test_the_sender_header_is_the_envelope_sender_when_present(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    message = alert()
    message["Sender"] = "palautuvat@hankintavahti.fi"
    transport.send(message)

    assert smtp_server.messages[0].envelope_from == "palautuvat@hankintavahti.fi"


def test_a_batch_goes_over_one_connection(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    for number in range(25):
        transport.send(alert(f"tilaaja{number}@example.fi"))

    assert len(smtp_server.messages) == 25
    assert smtp_server.connections == 1


def test_nothing_connects_until_the_first_send(smtp_server: SmtpTestServer) -> None:
    with SmtpTransport(smtp_server.url):
        pass

    assert smtp_server.connections == 0


# --- SMTP: what goes wrong ------------------------------------------------------------------------------------------


def test_a_451_is_temporary_and_the_next_message_goes_through(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    smtp_server.fail_next(1)
    first, second = alert(), alert()

    error = delivery_error(transport, first)
    transport.send(second)

    assert (error.permanent, error.code) == (False, 451)
    assert "451 4.3.0 Try again later" in str(error)
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [second["Message-ID"]]
    assert smtp_server.connections == 1


def test_a_5xx_answer_to_the_message_is_permanent(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    smtp_server.fail_next(1, 554, "5.6.0 Message content rejected")

    error = delivery_error(transport, alert())

    assert (error.permanent, error.code) == (True, 554)


def test_an_unknown_recipient_is_a_bounce_and_the_batch_goes_on(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    smtp_server.reject_recipient("poistunut@example.fi")

    error = delivery_error(transport, alert("poistunut@example.fi"))
    transport.send(alert("matti.meikalainen@example.fi"))

    assert (error.permanent, error.code) == (True, 550)
    assert "poistunut@example.fi" in str(error) and "5.1.1 User unknown" in str(error)
    assert [m.recipients for m in smtp_server.messages] == [["matti.meikalainen@example.fi"]]
    assert smtp_server.connections == 1


def test_a_full_mailbox_is_temporary(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    smtp_server.reject_recipient("taysi@example.fi", 452, "4.2.2 Mailbox full")

    error = delivery_error(transport, alert("taysi@example.fi"))

    assert (error.permanent, error.code) == (False, 452)


def test_a_connection_dropped_mid_data_is_temporary_and_the_next_send_reconnects(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    smtp_server.drop_after(2)
    before = [alert(), alert()]
    dropped, after = alert(), alert()

    for message in before:
        transport.send(message)
    error = delivery_error(transport, dropped)
    transport.send(after)

    assert (error.permanent, error.code) == (False, None)
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [m["Message-ID"] for m in [*before, after]]
    assert smtp_server.connections == 2


def test_leaving_the_batch_after_a_drop_is_quiet(smtp_server: SmtpTestServer) -> None:
    smtp_server.drop_after(0)

    with SmtpTransport(smtp_server.url) as transport:
        delivery_error(transport, alert())

    assert smtp_server.messages == []


def test_a_refused_connection_is_temporary() -> None:
    with SmtpTransport(f"smtp://127.0.0.1:{closed_port()}") as transport:
        error = delivery_error(transport, alert())

    assert (error.permanent, error.code) == (False, None)


def test_a_server_turning_connections_away_is_temporary_until_it_returns(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    smtp_server.answer_connect(421)

    error = delivery_error(transport, alert())
    smtp_server.restore()
    transport.send(alert())

    assert (error.permanent, error.code) == (False, 421)
    assert len(smtp_server.messages) == 1


def test_a_server_refusing_us_with_5xx_is_no_bounce(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    """A 554 greeting is about our connection, not about the subscriber."""
    smtp_server.answer_connect(554, "5.3.2 No service for you")

    error = delivery_error(transport, alert())

    assert (error.permanent, error.code) == (False, 554)


def test_a_server_that_never_answers_times_out_as_temporary() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the TCP connection, never greets
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        with SmtpTransport(url, timeout=0.2) as transport:
            error = delivery_error(transport, alert())

    assert (error.permanent, error.code) == (False, None)


def test_required_starttls_that_the_server_lacks_sends_nothing(smtp_server: SmtpTestServer) -> None:
    with SmtpTransport(smtp_server.url + "?starttls=yes") as transport:
        error = delivery_error(transport, alert())

    assert not error.permanent
    assert "STARTTLS" in str(error)
    assert smtp_server.messages == []


# --- SMTP: emails written directly (WireEmail) ----------------------------------------------------------------------

MAIL_FROM = "Hankintavahti <vahti@hankintavahti.fi>"


@dataclass
class Stored:
    """An outbox row's parts, as :func:`alerts.delivery.wire_email` reads them."""

    to_address: str = "matti.meikalainen@example.fi"
    subject: str = SUBJECT
    text: str = TEXT
    html: str = HTML
    headers: dict[str, str] = field(
        default_factory=lambda: {"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    )
    message_id_header: str = field(default_factory=lambda: make_msgid(domain="hankintavahti.fi"))


def wire(**parts: str) -> WireEmail:
    built = wire_email(Stored(**parts), MAIL_FROM)  # type: ignore[arg-type]
    assert isinstance(built, WireEmail)
    return built


def test_a_wire_email_arrives_with_its_headers_and_utf8_text_intact(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    sent = wire()
    transport.send(sent)

    [received] = smtp_server.messages
    assert (received.envelope_from, received.recipients) == ("vahti@hankintavahti.fi", ["matti.meikalainen@example.fi"])
    got = received.message
    assert (got["From"], got["Subject"], got["Message-ID"]) == (MAIL_FROM, SUBJECT, sent.message_id)
    assert got["List-Unsubscribe"] == UNSUBSCRIBE and got["Auto-Submitted"] == "auto-generated"
    assert bodies(got) == (TEXT, HTML)
    assert received.data == sent.data  # not a byte changed on the way (dot-stuffing undone by the server)
    assert not any(option.startswith("BODY=") for option in received.mail_options)  # all ASCII: no 8BITMIME needed


def reject_recipient(server: SmtpTestServer) -> None:
    server.reject_recipient("matti.meikalainen@example.fi")


@pytest.mark.parametrize(
    ("fault", "permanent", "code"),
    [
        (lambda server: server.fail_next(1), False, 451),
        (lambda server: server.fail_next(1, 554, "5.6.0 Message content rejected"), True, 554),
        (reject_recipient, True, 550),
        (lambda server: server.drop_after(0), False, None),
    ],
    ids=["451-after-data", "554-after-data", "550-recipient", "dropped-mid-data"],
)
def test_a_wire_email_meets_faults_as_an_email_message_does(
    smtp_server: SmtpTestServer,
    transport: SmtpTransport,
    fault: Callable[[SmtpTestServer], None],
    permanent: bool,
    code: int | None,
) -> None:
    fault(smtp_server)
    with pytest.raises(DeliveryError) as caught:
        transport.send(wire())
    smtp_server.clear()
    after = wire(to_address="toinen@example.fi")
    transport.send(after)

    assert (caught.value.permanent, caught.value.code) == (permanent, code)
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [after.message_id]


def test_before_accept_runs_when_the_server_has_all_but_the_final_dot(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    seen: list[int] = []
    transport.send(wire(), before_accept=lambda: seen.append(len(smtp_server.messages)))
    assert seen == [0] and len(smtp_server.messages) == 1


def test_a_failing_before_accept_leaves_the_message_unaccepted_and_the_next_one_goes(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    def commit_failed() -> None:
        raise RuntimeError("the previous message's commit failed")

    with pytest.raises(RuntimeError, match="commit failed"):
        transport.send(wire(), before_accept=commit_failed)
    after = wire()
    transport.send(after)

    assert [m.message["Message-ID"] for m in smtp_server.messages] == [after.message_id]
    assert smtp_server.connections == 2  # the half-sent one went with its connection


def test_before_accept_is_not_called_when_the_server_refuses_the_recipient(
    smtp_server: SmtpTestServer, transport: SmtpTransport
) -> None:
    reject_recipient(smtp_server)
    called: list[bool] = []
    with pytest.raises(DeliveryError):
        transport.send(wire(), before_accept=lambda: called.append(True))
    assert called == []


def test_lines_that_start_with_a_dot_arrive_whole(smtp_server: SmtpTestServer, transport: SmtpTransport) -> None:
    text = ".\n..\n.alku\nloppu.\n" + "x" * 75 + ".piste\n"  # the last one begins a line after a soft break
    transport.send(wire(text=text))

    assert bodies(smtp_server.messages[0].message)[0] == text


HEADER_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=150)
BODY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)


@given(subject=HEADER_TEXT.map(str.strip).filter(bool), text=BODY_TEXT, html=BODY_TEXT)
def test_a_wire_email_reads_back_as_the_email_package_writes_it(subject: str, text: str, html: str) -> None:
    stored = Stored(subject=subject, text=text, html=html)
    data = wire(subject=subject, text=text, html=html, message_id_header=stored.message_id_header).data
    package = email_of(stored, MAIL_FROM).as_bytes(policy=policy.SMTP)  # type: ignore[arg-type]
    expected, got = (BytesParser(policy=policy.default).parsebytes(flat) for flat in (package, data))

    assert data.isascii() and b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    for name in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted"):
        assert got[name] == expected[name], name
    assert bodies(got) == bodies(expected)  # type: ignore[arg-type]


PLAIN_WORD = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=120)
PLAIN_WORDS = st.lists(PLAIN_WORD, min_size=1, max_size=8)


@given(
    name=st.sampled_from(["Subject", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted"]),
    value=PLAIN_WORDS.map(" ".join),
)
def test_a_plain_header_written_directly_is_what_the_email_package_writes(name: str, value: str) -> None:
    assert _header(name, value) == _folded(name, value)


ADDRESS_PART = st.from_regex(r"[a-z0-9._+-]{1,40}", fullmatch=True)


@given(local=ADDRESS_PART, domain=ADDRESS_PART)
def test_an_address_or_message_id_written_directly_is_what_the_email_package_writes(local: str, domain: str) -> None:
    assert _header("To", f"{local}@{domain}") == _folded("To", f"{local}@{domain}")
    assert _header("Message-ID", f"<{local}@{domain}>") == _folded("Message-ID", f"<{local}@{domain}>")


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x85"])
def test_a_header_with_a_line_break_is_refused_as_the_email_package_refuses_it(line_break: str) -> None:
    stored = Stored(subject=f"Uusi hankinta{line_break}Bcc: evil@example.com")
    with pytest.raises(ValueError, match="linefeed"):
        email_of(stored, MAIL_FROM)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="linefeed"):
        wire_email(stored, MAIL_FROM)  # type: ignore[arg-type]


def test_an_address_that_is_not_ascii_goes_as_an_email_message_for_smtputf8() -> None:
    assert isinstance(wire_email(Stored(to_address="mätti@example.fi"), MAIL_FROM), EmailMessage)  # type: ignore[arg-type]


# --- SMTP_URL -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://vahti:salainen@mail.example.fi", ("smtp", "mail.example.fi", 587, "vahti", "salainen", "required")),
        ("smtps://vahti:sala%40inen@mail.example.fi", ("smtps", "mail.example.fi", 465, "vahti", "sala@inen", "off")),
        ("smtp://mail.example.fi:25", ("smtp", "mail.example.fi", 25, None, None, "if-offered")),
        ("SMTP://Relay.Example.fi:2525?starttls=yes", ("smtp", "relay.example.fi", 2525, None, None, "required")),
        ("smtp://vahti:salainen@localhost:1025", ("smtp", "localhost", 1025, "vahti", "salainen", "if-offered")),
        ("smtp://relay.lan:25?starttls=no", ("smtp", "relay.lan", 25, None, None, "off")),
        ("smtp://v%C3%A4hti:s@127.0.0.1:25?starttls=no", ("smtp", "127.0.0.1", 25, "vähti", "s", "off")),
        ("smtp://[::1]:25", ("smtp", "::1", 25, None, None, "if-offered")),
        ("  smtp://mail.example.fi/  ", ("smtp", "mail.example.fi", 587, None, None, "if-offered")),
    ],
)
def test_smtp_urls_that_are_understood(url: str, expected: tuple[object, ...]) -> None:
    target = parse_smtp_url(url)

    assert (target.scheme, target.host, target.port, target.username, target.password, target.starttls) == expected
    assert target.ssl == (target.scheme == "smtps")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mail.example.fi",
        "http://mail.example.fi",
        "smtp://",
        "smtp://:salainen@mail.example.fi",
        "smtp://vahti@mail.example.fi",
        "smtp://mail.example.fi:99999",
        "smtp://mail.example.fi:smtp",
        "smtp://mail.example.fi:0",
        "smtp://vahti:salainen@mail.example.fi?starttls=no",
        "smtps://mail.example.fi?starttls=no",
        "smtp://mail.example.fi?tls=1",
        "smtp://mail.example.fi?starttls=maybe",
        "smtp://mail.example.fi/inbox",
        "smtp://mail_example.fi",
        "smtp://-mail.example.fi",
        "smtp://[::1",
    ],
)
def test_smtp_urls_that_are_refused_say_how_to_write_one(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_smtp_url(url)

    line = str(caught.value)
    assert line.startswith("SMTP_URL=")
    assert "smtp://käyttäjä:salasana@palvelin:587" in line and "smtps://" in line
    assert "\n" not in line


def test_a_refused_url_does_not_show_its_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_smtp_url("smtp://vahti:Kissa123@mail.example.fi?starttls=no")

    assert "Kissa123" not in str(caught.value)
    assert "vahti:***@mail.example.fi" in str(caught.value)


def test_repr_hides_the_password() -> None:
    assert "salainen" not in repr(parse_smtp_url("smtps://vahti:salainen@mail.example.fi"))


@given(st.text())
def test_any_text_is_a_target_or_a_configuration_error(url: str) -> None:
    try:
        parse_smtp_url(url)
    except ConfigurationError as error:
        assert "\n" not in str(error)


URL_PIECES = st.sampled_from(["smtp://", "smtps://", "SMTP://", "smtp:", "", "u:p@", "@", ":", "[", "]", "?", "#"])


@given(st.lists(st.one_of(URL_PIECES, st.text(max_size=8)), max_size=8).map("".join))
def test_url_shaped_junk_never_sends_a_password_in_clear(url: str) -> None:
    """Whatever parses, a password only ever leaves this machine over TLS."""
    try:
        target = parse_smtp_url(url)
    except ConfigurationError:
        return
    assert 0 < target.port < 65536
    if target.password is not None and target.host not in ("localhost", "127.0.0.1", "::1"):
        assert target.ssl or target.starttls is StartTls.REQUIRED


@given(st.text(st.characters(codec="utf-8"), min_size=6, max_size=20).filter(lambda p: "***" not in p))
def test_no_password_appears_in_an_error(password: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_smtp_url(f"smtp://vahti:{quote(password, safe='')}@mail.example.fi:70000")

    assert quote(password, safe="") not in str(caught.value)


# --- A folder -------------------------------------------------------------------------------------------------------


def test_a_message_in_the_folder_reads_back_as_the_same_message(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "outbox"
    sent = alert()

    with DirectoryTransport(folder) as transport:
        transport.send(sent)

    [path] = folder.iterdir()
    assert path.suffix == ".eml"
    data = path.read_bytes()
    assert data == sent.as_bytes(policy=policy.SMTP)
    read = BytesParser(policy=policy.default).parsebytes(data)
    assert read["Subject"] == SUBJECT
    assert read["Message-ID"] == sent["Message-ID"]
    assert read["List-Unsubscribe"] == UNSUBSCRIBE
    assert bodies(read) == (TEXT, HTML)  # type: ignore[arg-type]


def test_the_same_message_id_twice_is_one_file_holding_the_last_copy(tmp_path: Path) -> None:
    transport = DirectoryTransport(tmp_path)

    with transport:
        transport.send(alert(message_id="<hv.42.1@hankintavahti.fi>", text="Ensimmäinen.\n"))
        transport.send(alert(message_id="<hv.42.1@hankintavahti.fi>", text="Toinen.\n"))

    [path] = tmp_path.iterdir()
    assert path.name.startswith("hv.42.1_hankintavahti.fi")
    assert b"Toinen." in path.read_bytes()


def test_message_ids_that_sanitise_alike_stay_apart(tmp_path: Path) -> None:
    with DirectoryTransport(tmp_path) as transport:
        transport.send(alert(message_id="<a/b@hankintavahti.fi>"))
        transport.send(alert(message_id="<a_b@hankintavahti.fi>"))

    assert len(list(tmp_path.iterdir())) == 2


def test_a_wire_email_in_the_folder_is_its_bytes_and_a_failing_before_accept_leaves_no_file(tmp_path: Path) -> None:
    sent = wire()

    def commit_failed() -> None:
        raise RuntimeError("the previous message's commit failed")

    with DirectoryTransport(tmp_path) as transport:
        with pytest.raises(RuntimeError):
            transport.send(wire(), before_accept=commit_failed)
        assert list(tmp_path.iterdir()) == []
        transport.send(sent)

    [path] = tmp_path.iterdir()
    assert path.read_bytes() == sent.data and path == DirectoryTransport(tmp_path).path_for(sent)


@given(st.text(min_size=1, max_size=300).map(lambda text: " ".join(text.splitlines()).strip()).filter(bool))
def test_any_message_id_becomes_a_plain_file_name(message_id: str) -> None:
    message = EmailMessage(policy=policy.compat32)  # stored as given: the default policy chokes on some junk IDs
    message["Message-ID"] = message_id
    name = DirectoryTransport(Path("outbox")).path_for(message).name

    assert name.endswith(".eml") and len(name) < 200
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


# --- Choosing -------------------------------------------------------------------------------------------------------


def test_without_smtp_url_mail_goes_to_the_folder(tmp_path: Path) -> None:
    for unset in (None, "", "  "):
        chosen = transport_for(unset, tmp_path / "outbox")
        assert isinstance(chosen, DirectoryTransport)
        assert chosen.description == f"kansio {tmp_path / 'outbox'}"


def test_with_smtp_url_mail_goes_to_the_server(tmp_path: Path) -> None:
    chosen = transport_for("smtps://vahti:salainen@mail.example.fi", tmp_path)

    assert isinstance(chosen, SmtpTransport)
    assert chosen.description == "SMTP mail.example.fi:465"


def test_a_bad_smtp_url_stops_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        transport_for("smtp://mail.example.fi:5870000", tmp_path)
