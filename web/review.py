"""Staff tender detail and review: relevance, notes, overrides, staff picks (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("review", __name__, url_prefix="/henkilokunta/hankinnat")
