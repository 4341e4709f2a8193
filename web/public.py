"""Public pages: front page, subscribe form, tender page (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("public", __name__)
