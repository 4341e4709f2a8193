"""Staff login: right and wrong passwords, the rate limit, CSRF, safe redirects, logging out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.db import session_scope
from models.staff import LoginAttempt, StaffUser
from tests.web.conftest import PASSWORD, log_in, token_of
from web.auth import safe_next


@pytest.fixture
def client(client: FlaskClient, staff_user: str) -> FlaskClient:
    """The shared client, with the staff account ``maija`` in the database."""
    return client


def test_the_login_form_has_labels_and_a_csrf_field(client: FlaskClient) -> None:
    page = client.get("/henkilokunta/kirjaudu")
    assert page.status_code == 200
    assert "<title>Henkilökunnan kirjautuminen – Hankintavahti</title>" in page.text
    for field in ("username", "password"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    assert 'name="csrf_token"' in page.text


def test_staff_pages_redirect_to_the_login_and_back(client: FlaskClient) -> None:
    refused = client.get("/henkilokunta/?sivu=2")
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/henkilokunta/kirjaudu?seuraava=/henkilokunta/?sivu%3D2"
    form = client.get(refused.headers["Location"]).text
    assert 'name="seuraava" value="/henkilokunta/?sivu=2"' in form
    done = log_in(client, seuraava="/henkilokunta/?sivu=2")
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/?sivu=2"
    home = client.get("/henkilokunta/")
    assert home.status_code == 200 and "Kerätyt hankinnat" in home.text and "maija" in home.text


def test_a_right_password_logs_in_whatever_the_case_of_the_username(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    done = log_in(client, username="  MAIJA ")
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/"
    assert client.get("/henkilokunta/").status_code == 200
    with session_factory() as session:
        assert session.scalar(select(StaffUser.last_login_at)) is not None


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: FlaskClient) -> None:
    wrong = log_in(client, password="väärä-salasana")
    unknown = log_in(client, username="pekka")
    assert wrong.status_code == unknown.status_code == 401
    assert "Käyttäjätunnus tai salasana on väärin." in wrong.text
    assert wrong.text.replace('value="maija"', "") == unknown.text.replace('value="pekka"', "")
    assert client.get("/henkilokunta/").status_code == 302


def test_the_password_is_stored_hashed(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        stored = session.scalar(select(StaffUser.password_hash))
    assert stored is not None and PASSWORD not in stored and stored.startswith("scrypt:")


def test_after_five_failures_the_sixth_attempt_is_refused_even_with_the_right_password(
    client: FlaskClient,
) -> None:
    for _ in range(5):
        assert log_in(client, password="väärä-salasana").status_code == 401
    limited = log_in(client, password="väärä-salasana")
    assert limited.status_code == 429
    assert "Liian monta epäonnistunutta kirjautumista" in limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    assert log_in(client).status_code == 429
    assert client.get("/henkilokunta/").status_code == 302


def test_the_limit_counts_failures_from_one_address_across_usernames(client: FlaskClient) -> None:
    for number in range(5):
        assert log_in(client, username=f"arvaus{number}").status_code == 401
    assert log_in(client).status_code == 429


def failures(session_factory: sessionmaker[Session], at: datetime, count: int = 5) -> None:
    """Failed attempts for maija, as another process of the server would have recorded them."""
    with session_scope(session_factory) as session:
        for number in range(count):
            moment = at - timedelta(seconds=number)
            session.add(LoginAttempt(username="maija", remote_address="10.0.0.9", at=moment, success=False))


def test_failures_recorded_by_another_process_count(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    failures(session_factory, datetime.now(UTC) - timedelta(minutes=1))
    assert log_in(client).status_code == 429


def test_failures_older_than_fifteen_minutes_no_longer_count(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    failures(session_factory, datetime.now(UTC) - timedelta(minutes=16))
    assert log_in(client).status_code == 302


def test_a_success_starts_the_count_again(client: FlaskClient) -> None:
    for _ in range(4):
        log_in(client, password="väärä-salasana")
    assert log_in(client).status_code == 302
    client.post("/henkilokunta/ulos", data={"csrf_token": token_of(client.get("/henkilokunta/").text)})
    assert log_in(client, password="väärä-salasana").status_code == 401
    assert log_in(client).status_code == 302


def test_a_login_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/henkilokunta/kirjaudu")
    refused = client.post("/henkilokunta/kirjaudu", data={"username": "maija", "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/henkilokunta/").status_code == 302


def test_logging_out_needs_the_token_and_ends_the_session(client: FlaskClient) -> None:
    log_in(client)
    assert client.post("/henkilokunta/ulos").status_code == 400
    assert client.get("/henkilokunta/").status_code == 200
    done = client.post("/henkilokunta/ulos", data={"csrf_token": token_of(client.get("/henkilokunta/").text)})
    assert done.status_code == 200 and "Kirjauduit ulos" in done.text
    assert client.get("/henkilokunta/").status_code == 302


def test_logging_in_replaces_the_session_token(client: FlaskClient) -> None:
    before = token_of(client.get("/henkilokunta/kirjaudu").text)
    log_in(client)
    assert token_of(client.get("/henkilokunta/").text) != before


@pytest.mark.parametrize(
    "target",
    ["https://evil.test/", "//evil.test/", "/\\evil.test", "\\\\evil.test", "javascript:alert(1)", "evil.test"],
)
def test_the_login_never_sends_anyone_to_another_site(client: FlaskClient, target: str) -> None:
    done = log_in(client, seuraava=target)
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/"


@given(st.text(max_size=40))
def test_an_accepted_redirect_target_is_always_a_path_on_this_site(target: str) -> None:
    accepted = safe_next(target)
    if accepted is not None:
        assert accepted.startswith("/") and not accepted.startswith("//")
        assert "\\" not in accepted and all(ord(char) >= 0x20 and ord(char) != 0x7F for char in accepted)


def test_untrusted_input_is_shown_escaped(client: FlaskClient) -> None:
    page = log_in(client, username="<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
