"""The Flask application: subscriber pages now; staff review, JSON API and feeds follow (issue 5).

:func:`create_app` is the explicit application factory: it takes the settings (and,
in tests, a session factory) rather than reading globals, so that several apps with
different databases can live in one process.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from config.settings import Settings


def create_app(settings: Settings, sessions: sessionmaker[Session] | None = None) -> Flask:
    """The web application on ``settings``' database (or the given sessions)."""
    from models.db import open_database
    from web.subscriber import blueprint as subscriber_pages

    app = Flask(__name__)
    mailer = Mailer.from_settings(settings)
    app.config.update(
        SECRET_KEY=mailer.links.key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        HANKINTAVAHTI_SETTINGS=settings,
        HANKINTAVAHTI_SESSIONS=sessions or open_database(settings.database_url),
        HANKINTAVAHTI_MAILER=mailer,
    )
    app.register_blueprint(subscriber_pages)
    return app
