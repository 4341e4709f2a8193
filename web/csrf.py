"""CSRF protection for every form: a per-session token that each POST must carry.

Every form puts ``{{ csrf_field() }}`` inside it; :func:`init_csrf` refuses any
state-changing request whose ``csrf_token`` field (or ``X-CSRF-Token`` header, for
scripts) does not equal the session's token, with a Finnish page and status 400.

Routes whose URL already carries a signed capability (the links in emails: one-click
unsubscribe is POSTed by mail clients that cannot know a session token) are exempted
with :func:`csrf_exempt`; the signature is what protects them.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, render_template, request, session
from markupsafe import Markup

SESSION_KEY = "csrf_token"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

View = TypeVar("View", bound=Callable[..., object])


def csrf_token() -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def csrf_field() -> Markup:
    """The hidden input a form needs."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, csrf_token())  # format escapes both


def csrf_exempt(view: View) -> View:
    """Mark a view whose URL is its own authorisation (a signed token)."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def init_csrf(app: Flask) -> None:
    """Check every state-changing request; put ``csrf_token()`` and ``csrf_field()`` in the templates."""
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field)

    @app.before_request
    def check_csrf() -> tuple[str, int] | None:
        if request.method in SAFE_METHODS or current_app.config.get("CSRF_DISABLED"):
            return None
        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, "csrf_exempt", False):
            return None
        sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
        expected = session.get(SESSION_KEY)
        if isinstance(expected, str) and expected and hmac.compare_digest(sent, expected):
            return None
        return (
            render_template(
                "subscriber/message.html",
                title="Lomake vanhentui",
                text="Lomakkeen tarkiste ei täsmännyt (sivu oli ehkä auki kauan). Lataa sivu uudelleen ja yritä "
                "uudestaan.",
            ),
            400,
        )
