"""Fixtures for the alerts tests: the scriptable SMTP server (tests/alerts/smtp_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.smtp_server import SmtpTestServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A fresh SMTP server on a free loopback port for each test (starting one takes a few milliseconds)."""
    with SmtpTestServer() as server:
        yield server


# --- Fixtures added by other modules go below this line ------------------------------------------------------------
