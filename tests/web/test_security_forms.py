"""The public forms that send email: the manage link on request, and the rate limits of it and of subscribing.

Emails are read where they really go: the outbox in the database, then over SMTP to the
test server (``tests/alerts/smtp_server.py``) by the same delivery code ``alerts send`` uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.delivery import deliver_pending
from alerts.subscribe import SearchRequest, subscribe
from alerts.transport import SmtpTransport
from models.db import session_scope
from models.outbox import Message
from models.rate_limits import RateLimitHit, take
from models.subscriptions import Subscriber
from tests.alerts.smtp_server import SmtpTestServer
from tests.web.conftest import path, token_of
from web.public import MANAGE_LINK_LIMITS, SUBSCRIBE_LIMITS

CLIENT = "127.0.0.1"  # the Flask test client's address


def saved(session_factory: sessionmaker[Session], mailer: Mailer, email: str, **status: str) -> int:
    """A subscriber with one confirmed search (and the given subscriber status): their id."""
    with session_scope(session_factory) as session:
        row = subscribe(
            session,
            mailer,
            email=email,
            search=SearchRequest(sectors=["siivous"]),
            now=datetime.now(UTC),
            confirmed=True,
            name="Maija",
        )
        for name, value in status.items():
            setattr(row.subscriber, name, value)
        return row.subscriber_id


def ask_for_link(client: FlaskClient, email: str, **environ: str) -> tuple[int, str]:
    token = token_of(client.get("/tilaukseni").text)
    answer = client.post("/tilaukseni", data={"csrf_token": token, "email": email}, environ_overrides=environ)
    return answer.status_code, answer.text


def messages(session_factory: sessionmaker[Session]) -> list[Message]:
    with session_factory() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def subscribe_form(client: FlaskClient, email: str, **environ: str) -> int:
    token = token_of(client.get("/tilaa").text)
    data = {"csrf_token": token, "email": email, "name": "Aino", "sectors": "siivous"}
    return client.post("/tilaa", data=data, environ_overrides=environ).status_code


# --- the manage link by email ------------------------------------------------------------------


def test_every_page_links_to_the_manage_link_form(client: FlaskClient) -> None:
    for page in ("/", "/tilaa", "/tilaukseni"):
        assert 'href="/tilaukseni"' in client.get(page).text
    form = client.get("/tilaukseni")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text and 'type="email"' in form.text


def test_a_known_address_gets_its_manage_link_by_email_and_the_link_works(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    subscriber_id = saved(session_factory, mailer, "maija@siivous.test")
    before = len(messages(session_factory))  # the search was confirmed by staff: no confirmation email

    status, page = ask_for_link(client, "  Maija@Siivous.TEST ")

    assert status == 200 and "Tarkista sähköpostisi" in page
    queued = messages(session_factory)[before:]
    assert [(m.to_address, m.status) for m in queued] == [("maija@siivous.test", "pending")]
    with SmtpTestServer() as server:
        with SmtpTransport(server.url) as transport:
            outcome = deliver_pending(session_factory, transport, mail_from=mailer.mail_from)
        assert outcome.sent == 1
        email = server.messages[0].message
    assert server.messages[0].recipients == ["maija@siivous.test"]
    assert email["Subject"] == "Linkki Hankintavahdin hakujesi hallintaan"
    manage_url = mailer.links.manage(subscriber_id)
    text = email.get_body(preferencelist=("plain",)).get_content()
    html = email.get_body(preferencelist=("html",)).get_content()
    assert manage_url in text and f'href="{manage_url}"' in html and "Hei Maija" in text
    assert "maija@siivous.test" in client.get(path(manage_url)).text


def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    saved(session_factory, mailer, "maija@siivous.test")
    known = ask_for_link(client, "maija@siivous.test")
    unknown = ask_for_link(client, "outo@siivous.test")
    assert known[0] == unknown[0] == 200
    assert known[1].replace("maija@siivous.test", "X") == unknown[1].replace("outo@siivous.test", "X")
    assert [m.to_address for m in messages(session_factory)] == ["maija@siivous.test"]


def test_someone_who_stopped_everything_still_gets_the_link_they_ask_for(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    saved(session_factory, mailer, "lopetti@siivous.test", status="unsubscribed")
    ask_for_link(client, "lopetti@siivous.test")
    with SmtpTestServer() as server:
        with SmtpTransport(server.url) as transport:
            assert deliver_pending(session_factory, transport, mail_from=mailer.mail_from).sent == 1
        assert server.messages[0].recipients == ["lopetti@siivous.test"]


def test_a_bad_address_is_refused_in_finnish_and_a_post_needs_the_csrf_token(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    saved(session_factory, mailer, "maija@siivous.test")
    status, page = ask_for_link(client, "maija.siivous.test")
    assert status == 400 and "ei kelpaa" in page and 'aria-invalid="true"' in page
    forged = client.post("/tilaukseni", data={"email": "maija@siivous.test"})
    assert forged.status_code == 400 and "Lomake vanhentui" in forged.text
    assert messages(session_factory) == []


def test_asking_for_the_link_is_rate_limited_per_address_known_or_not(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    saved(session_factory, mailer, "maija@siivous.test")
    per_email = MANAGE_LINK_LIMITS[1].max_hits
    for email in ("maija@siivous.test", "outo@siivous.test"):
        answers = [ask_for_link(client, email)[0] for _ in range(per_email)]
        assert answers == [200] * per_email
        status, page = ask_for_link(client, email.upper())  # the same address in capitals counts too
        assert status == 429 and "Liian monta" in page and "minuutin kuluttua" in page
    assert len(messages(session_factory)) == per_email
    answer = client.post(
        "/tilaukseni", data={"csrf_token": token_of(client.get("/tilaukseni").text), "email": "outo@siivous.test"}
    )
    assert answer.status_code == 429 and 0 < int(answer.headers["Retry-After"]) <= 3600


def test_one_client_cannot_ask_for_links_to_many_addresses(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        for number in range(MANAGE_LINK_LIMITS[0].max_hits):
            assert take(session, [(MANAGE_LINK_LIMITS[0], CLIENT)], now=datetime.now(UTC)) is None, number
    assert ask_for_link(client, "uusi@siivous.test")[0] == 429
    assert ask_for_link(client, "uusi@siivous.test", REMOTE_ADDR="192.0.2.7")[0] == 200


# --- subscribing ----------------------------------------------------------------------------------


def test_subscribing_is_rate_limited_per_email(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    limit = SUBSCRIBE_LIMITS[1].max_hits
    assert [subscribe_form(client, "aino@yritys.test") for _ in range(limit)] == [200] * limit
    assert subscribe_form(client, "aino@yritys.test") == 429
    assert subscribe_form(client, "AINO@yritys.test", REMOTE_ADDR="192.0.2.7") == 429  # another client, same inbox
    assert subscribe_form(client, "toinen@yritys.test") == 200
    with session_factory() as session:
        confirmations = session.scalars(select(Message.to_address).where(Message.kind == "confirmation")).all()
    assert sorted(confirmations) == ["aino@yritys.test"] * limit + ["toinen@yritys.test"]


def test_subscribing_is_rate_limited_per_client_and_the_page_says_when_to_try_again(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        for _ in range(SUBSCRIBE_LIMITS[0].max_hits):
            take(session, [(SUBSCRIBE_LIMITS[0], CLIENT)], now=datetime.now(UTC) - timedelta(minutes=50))
    token = token_of(client.get("/tilaa").text)
    answer = client.post("/tilaa", data={"csrf_token": token, "email": "a@yritys.test", "name": "A"})
    assert answer.status_code == 429
    assert "Yritä uudelleen 10 minuutin kuluttua" in answer.text and answer.headers["Retry-After"] == "600"
    assert "<title>Liian monta pyyntöä – Hankintavahti</title>" in answer.text
    assert subscribe_form(client, "a@yritys.test", REMOTE_ADDR="192.0.2.7") == 200
    with session_factory() as session:
        assert session.scalars(select(Subscriber.email)).all() == ["a@yritys.test"]


def test_hits_older_than_the_window_no_longer_count(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    limit = SUBSCRIBE_LIMITS[1]
    with session_scope(session_factory) as session:
        for _ in range(limit.max_hits):
            take(session, [(limit, "aino@yritys.test")], now=datetime.now(UTC) - limit.window - timedelta(seconds=5))
    assert subscribe_form(client, "aino@yritys.test") == 200


def test_a_refused_form_counts_nothing(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    token = token_of(client.get("/tilaa").text)
    for _ in range(SUBSCRIBE_LIMITS[1].max_hits + 2):
        bad = client.post("/tilaa", data={"csrf_token": token, "email": "a@yritys.test", "name": "A", "sectors": "x"})
        assert bad.status_code == 400
    assert subscribe_form(client, "a@yritys.test") == 200


@pytest.mark.parametrize("form", ["/tilaa", "/tilaukseni"])
def test_the_limits_store_digests_never_the_addresses(
    client: FlaskClient, session_factory: sessionmaker[Session], form: str
) -> None:
    if form == "/tilaa":
        subscribe_form(client, "salainen@yritys.test")
    else:
        ask_for_link(client, "salainen@yritys.test")
    with session_factory() as session:
        rows = session.scalars(select(RateLimitHit)).all()
        assert len(rows) == 2 and session.scalar(select(func.count()).select_from(RateLimitHit)) == 2
    for row in rows:
        assert "salainen" not in row.key and CLIENT not in row.key and len(row.key) == 64
