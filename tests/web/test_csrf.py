"""CSRF: a POST without the session's token is refused; with it, accepted; signed-link routes are exempt."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template_string
from sqlalchemy.orm import Session, sessionmaker

from config.settings import load_settings
from web import create_app


def app_with_form(database_url: str, session_factory: sessionmaker[Session]) -> Flask:
    settings = load_settings({"DATABASE_URL": database_url, "SECRET_KEY": "k"}, env_file=Path(os.devnull))
    app = create_app(settings, session_factory)

    def form() -> str:
        return render_template_string('<form method="post">{{ csrf_field() }}</form>')

    def submit() -> str:
        return "ok"

    app.add_url_rule("/testilomake", "form", form, methods=["GET"])
    app.add_url_rule("/testilomake", "submit", submit, methods=["POST"])
    return app


def test_a_post_needs_the_session_token(database_url: str, session_factory: sessionmaker[Session]) -> None:
    client = app_with_form(database_url, session_factory).test_client()
    refused = client.post("/testilomake", data={"x": "1"})
    assert refused.status_code == 400 and "Lomake vanhentui" in refused.text
    page = client.get("/testilomake").text
    token = page.split('value="')[1].split('"')[0]
    assert client.post("/testilomake", data={"csrf_token": token}).text == "ok"
    assert client.post("/testilomake", data={"csrf_token": token[:-1] + "x"}).status_code == 400
    other = app_with_form(database_url, session_factory).test_client()
    other.get("/testilomake")
    assert other.post("/testilomake", data={"csrf_token": token}).status_code == 400  # another session's token
