"""CSRF protection for every form (issue 5: being built)."""

from __future__ import annotations

from flask import Flask


def init_csrf(app: Flask) -> None:
    """Installs the CSRF check on the app (being built)."""
