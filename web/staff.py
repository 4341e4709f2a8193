"""Staff review pages: the tender list, a tender's detail and review, exports (issue 5: being built)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("staff", __name__, url_prefix="/henkilokunta")
