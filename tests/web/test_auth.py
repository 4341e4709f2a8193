"""Staff login: right and wrong passwords, the rate limit, CSRF, safe redirects, logging out."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from config.settings import Settings, load_settings
from models.db import session_scope
from models.staff import LoginAttempt, StaffUser, add_staff_user
from web import create_app
from web.auth import safe_next

PASSWORD = "oikea-salasana-42"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        {"DATABASE_URL": database_url, "BASE_URL": "https://hankintavahti.test", "SECRET_KEY": "test-secret-key"},
        env_file=Path(os.devnull),
    )


@pytest.fixture
def app_client(settings: Settings, session_factory: sessionmaker[Session]) -> FlaskClient:
    with session_scope(session_factory) as session:
        add_staff_user(session, "Maija", PASSWORD, now=datetime.now(UTC))
    return create_app(settings, session_factory).test_client()


def token(client: FlaskClient, path: str = "/henkilokunta/kirjaudu") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def log_in(client: FlaskClient, username: str = "maija", password: str = PASSWORD, **extra: str) -> TestResponse:
    return client.post(
        "/henkilokunta/kirjaudu",
        data={"csrf_token": token(client), "username": username, "password": password, **extra},
    )


def test_the_login_form_has_labels_and_a_csrf_field(app_client: FlaskClient) -> None:
    page = app_client.get("/henkilokunta/kirjaudu")
    assert page.status_code == 200
    assert "<title>Henkilökunnan kirjautuminen – Hankintavahti</title>" in page.text
    for field in ("username", "password"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    assert 'name="csrf_token"' in page.text


def test_staff_pages_redirect_to_the_login_and_back(app_client: FlaskClient) -> None:
    refused = app_client.get("/henkilokunta/?sivu=2")
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/henkilokunta/kirjaudu?seuraava=/henkilokunta/?sivu%3D2"
    form = app_client.get(refused.headers["Location"]).text
    assert 'name="seuraava" value="/henkilokunta/?sivu=2"' in form
    done = log_in(app_client, seuraava="/henkilokunta/?sivu=2")
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/?sivu=2"
    home = app_client.get("/henkilokunta/")
    assert home.status_code == 200 and "Kerätyt hankinnat" in home.text and "maija" in home.text


def test_a_right_password_logs_in_whatever_the_case_of_the_username(
    app_client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    done = log_in(app_client, username="  MAIJA ")
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/"
    assert app_client.get("/henkilokunta/").status_code == 200
    with session_factory() as session:
        assert session.scalar(select(StaffUser.last_login_at)) is not None


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(app_client: FlaskClient) -> None:
    wrong = log_in(app_client, password="väärä-salasana")
    unknown = log_in(app_client, username="pekka")
    assert wrong.status_code == unknown.status_code == 401
    assert "Käyttäjätunnus tai salasana on väärin." in wrong.text
    assert wrong.text.replace('value="maija"', "") == unknown.text.replace('value="pekka"', "")
    assert app_client.get("/henkilokunta/").status_code == 302


def test_the_password_is_stored_hashed(app_client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        stored = session.scalar(select(StaffUser.password_hash))
    assert stored is not None and PASSWORD not in stored and stored.startswith("scrypt:")


def test_after_five_failures_the_sixth_attempt_is_refused_even_with_the_right_password(
    app_client: FlaskClient,
) -> None:
    for _ in range(5):
        assert log_in(app_client, password="väärä-salasana").status_code == 401
    limited = log_in(app_client, password="väärä-salasana")
    assert limited.status_code == 429
    assert "Liian monta epäonnistunutta kirjautumista" in limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    assert log_in(app_client).status_code == 429
    assert app_client.get("/henkilokunta/").status_code == 302


def test_the_limit_counts_failures_from_one_address_across_usernames(app_client: FlaskClient) -> None:
    for number in range(5):
        assert log_in(app_client, username=f"arvaus{number}").status_code == 401
    assert log_in(app_client).status_code == 429


def failures(session_factory: sessionmaker[Session], at: datetime, count: int = 5) -> None:
    """Failed attempts for maija, as another process of the server would have recorded them."""
    with session_scope(session_factory) as session:
        for number in range(count):
            moment = at - timedelta(seconds=number)
            session.add(LoginAttempt(username="maija", remote_address="10.0.0.9", at=moment, success=False))


def test_failures_recorded_by_another_process_count(
    app_client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    failures(session_factory, datetime.now(UTC) - timedelta(minutes=1))
    assert log_in(app_client).status_code == 429


def test_failures_older_than_fifteen_minutes_no_longer_count(
    app_client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    failures(session_factory, datetime.now(UTC) - timedelta(minutes=16))
    assert log_in(app_client).status_code == 302


def test_a_success_starts_the_count_again(app_client: FlaskClient) -> None:
    for _ in range(4):
        log_in(app_client, password="väärä-salasana")
    assert log_in(app_client).status_code == 302
    app_client.post("/henkilokunta/ulos", data={"csrf_token": token(app_client, "/henkilokunta/")})
    assert log_in(app_client, password="väärä-salasana").status_code == 401
    assert log_in(app_client).status_code == 302


def test_a_login_without_the_csrf_token_is_refused(app_client: FlaskClient) -> None:
    app_client.get("/henkilokunta/kirjaudu")
    refused = app_client.post("/henkilokunta/kirjaudu", data={"username": "maija", "password": PASSWORD})
    assert refused.status_code == 400
    assert app_client.get("/henkilokunta/").status_code == 302


def test_logging_out_needs_the_token_and_ends_the_session(app_client: FlaskClient) -> None:
    log_in(app_client)
    assert app_client.post("/henkilokunta/ulos").status_code == 400
    assert app_client.get("/henkilokunta/").status_code == 200
    done = app_client.post("/henkilokunta/ulos", data={"csrf_token": token(app_client, "/henkilokunta/")})
    assert done.status_code == 200 and "Kirjauduit ulos" in done.text
    assert app_client.get("/henkilokunta/").status_code == 302


def test_logging_in_replaces_the_session_token(app_client: FlaskClient) -> None:
    before = token(app_client)
    log_in(app_client)
    assert token(app_client, "/henkilokunta/") != before


@pytest.mark.parametrize(
    "target",
    ["https://evil.test/", "//evil.test/", "/\\evil.test", "\\\\evil.test", "javascript:alert(1)", "evil.test"],
)
def test_the_login_never_sends_anyone_to_another_site(app_client: FlaskClient, target: str) -> None:
    done = log_in(app_client, seuraava=target)
    assert done.status_code == 302 and done.headers["Location"] == "/henkilokunta/"


@given(st.text(max_size=40))
def test_an_accepted_redirect_target_is_always_a_path_on_this_site(target: str) -> None:
    accepted = safe_next(target)
    if accepted is not None:
        assert accepted.startswith("/") and not accepted.startswith("//")
        assert "\\" not in accepted and all(ord(char) >= 0x20 and ord(char) != 0x7F for char in accepted)


def test_untrusted_input_is_shown_escaped(app_client: FlaskClient) -> None:
    page = log_in(app_client, username="<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
