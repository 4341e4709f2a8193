"""Staff dashboards: crawl health and subscribers (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("dashboard", __name__, url_prefix="/henkilokunta")
