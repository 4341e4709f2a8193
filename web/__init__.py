"""The Flask application: public pages and subscribe form, the pages behind email links, staff review, JSON API.

:func:`create_app` is the explicit application factory: it takes the settings (and,
in tests, a session factory) rather than reading globals, so that several apps with
different databases can live in one process.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from config.settings import Settings


def create_app(settings: Settings, sessions: sessionmaker[Session] | None = None) -> Flask:
    """The web application on ``settings``' database (or the given sessions)."""
    from alerts.render import format_count
    from models.db import open_database
    from web.api import blueprint as api
    from web.auth import blueprint as auth_pages
    from web.auth import current_staff
    from web.calendar import blueprint as calendar_pages
    from web.csrf import init_csrf
    from web.dashboard import blueprint as dashboard_pages
    from web.feeds import blueprint as feeds
    from web.public import blueprint as public_pages
    from web.review import blueprint as review_pages
    from web.security import init_security_headers
    from web.staff import blueprint as staff_pages
    from web.subscriber import blueprint as subscriber_pages
    from web.vitality import blueprint as vitality_pages

    app = Flask(__name__)
    mailer = Mailer.from_settings(settings)
    app.config.update(
        SECRET_KEY=mailer.links.key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # as long as a staff login lasts on the server
        HANKINTAVAHTI_SETTINGS=settings,
        HANKINTAVAHTI_SESSIONS=sessions or open_database(settings.database_url),
        HANKINTAVAHTI_MAILER=mailer,
    )
    init_csrf(app)
    init_security_headers(app, https=settings.base_url.startswith("https://"))
    app.jinja_env.globals["current_staff"] = current_staff  # the header shows the staff menu when logged in
    app.jinja_env.filters["thousands"] = format_count
    app.register_blueprint(public_pages)
    app.register_blueprint(subscriber_pages)
    app.register_blueprint(auth_pages)
    app.register_blueprint(staff_pages)
    app.register_blueprint(review_pages)
    app.register_blueprint(dashboard_pages)
    app.register_blueprint(feeds)
    app.register_blueprint(calendar_pages)
    app.register_blueprint(vitality_pages)
    app.register_blueprint(api)
    return app
