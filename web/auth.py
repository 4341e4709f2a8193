"""Staff login (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("auth", __name__, url_prefix="/henkilokunta")
