"""Per-search Atom and iCalendar feeds from signed URLs (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("feeds", __name__, url_prefix="/syote")
