"""Staff login: the login form, logging out, and :func:`login_required` for every staff view.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure over https, set
in :func:`web.create_app`). Logging in clears the session before writing the user
into it, so a session (and its CSRF token) from before the login is not carried
over; a login is good for :data:`LOGIN_LIFETIME`, whatever the cookie says.

Failed logins are counted in the database (:mod:`models.staff`), so the rate limit
holds for every process of the server: after five failures for one username or
from one address within 15 minutes the form answers 429 until the window passes,
and a right password does not get in meanwhile. An unknown username and a wrong
password get the same answer.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session

from models.db import session_scope
from models.staff import MAX_USERNAME_LENGTH, Staff, authenticate, login_blocked_until, staff_by_id

blueprint = Blueprint("auth", __name__, url_prefix="/henkilokunta")

SESSION_USER = "staff_user_id"
SESSION_SINCE = "staff_login_at"
#: How long one login lasts (a working day and then some).
LOGIN_LIFETIME_SECONDS = 12 * 60 * 60
NEXT = "seuraava"
WRONG = "Käyttäjätunnus tai salasana on väärin."

View = TypeVar("View", bound=Callable[..., Any])


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as db:
        yield db


def current_staff() -> Staff | None:
    """The logged-in staff member of this request, or None (read once per request)."""
    if "staff" not in g:
        g.staff = _staff_from_session()
    return cast(Staff | None, g.staff)


def _staff_from_session() -> Staff | None:
    user_id, since = session.get(SESSION_USER), session.get(SESSION_SINCE)
    if not isinstance(user_id, int) or not isinstance(since, int | float):
        return None
    if not 0 <= time.time() - since <= LOGIN_LIFETIME_SECONDS:
        return None
    with _session() as db:
        return staff_by_id(db, user_id)  # a deleted user is logged out


def login_required(view: View) -> View:
    """Let only logged-in staff through; others go to the login page, which brings them back here."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            target = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
            return redirect(url_for("auth.login", **{NEXT: target}))
        return view(*args, **kwargs)

    return cast(View, wrapper)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: the login page must not send anyone elsewhere.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read
    ``/\\host`` as ``//host``), control characters and anything not starting with ``/``.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _home() -> str:
    """Where staff land after logging in: the tender list (:mod:`web.staff`)."""
    return url_for("staff.tender_list")


def _remote_address() -> str:
    return request.remote_addr or "tuntematon"


def _form(*, error: str | None = None, username: str = "", status: int = 200, **headers: str) -> Response:
    page = render_template(
        "auth/login.html",
        error=error,
        username=username,
        next=safe_next(request.values.get(NEXT)),
        max_username=MAX_USERNAME_LENGTH,
    )
    return Response(page, status=status, headers=headers)


@blueprint.get("/kirjaudu")
def login() -> Any:
    if current_staff() is not None:
        return redirect(safe_next(request.args.get(NEXT)) or _home())
    return _form()


@blueprint.post("/kirjaudu")
def login_submit() -> Any:
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    now = datetime.now(UTC)
    with _session() as db:
        blocked_until = login_blocked_until(db, username, _remote_address(), now=now)
        if blocked_until is not None:
            minutes = max(1, math.ceil((blocked_until - now).total_seconds() / 60))
            return _form(
                error=f"Liian monta epäonnistunutta kirjautumista. Yritä uudelleen {minutes} minuutin kuluttua.",
                username=username,
                status=429,
                **{"Retry-After": str(minutes * 60)},
            )
        staff = authenticate(db, username, password, _remote_address(), now=now) if username and password else None
    if staff is None:
        return _form(error=WRONG, username=username, status=401)
    target = safe_next(request.form.get(NEXT)) or _home()
    session.clear()  # nothing from before the login survives it, the CSRF token included
    session[SESSION_USER] = staff.id
    session[SESSION_SINCE] = int(time.time())
    session.permanent = True
    return redirect(target)


@blueprint.post("/ulos")
def logout() -> Any:
    session.clear()
    return render_template("auth/logged_out.html", title="Kirjauduit ulos")
