"""Browser tests: Playwright driving Debian's Chromium against the real app served by waitress on loopback.

The app runs in a thread of the test process on a free port, on the test's database
(SQLite or PostgreSQL); emails go to an outbox folder, from which a test reads the
confirmation link as a person would. Screenshots at desktop and phone width (390 px)
are kept in ``test-artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from waitress.server import create_server

from config.settings import Settings, load_settings
from web import create_app

CHROMIUM = Path(os.environ.get("HANKINTAVAHTI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_settings(database_url: str, tmp_path: Path) -> Settings:
    port = _free_port()
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "BASE_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "browser-test-key",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        env_file=Path(os.devnull),
    )


@pytest.fixture
def live_server(live_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[str]:
    """The app on waitress in a thread; yields its base URL."""
    port = int(live_settings.base_url.rsplit(":", 1)[1])
    server = create_server(create_app(live_settings, session_factory), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield live_settings.base_url
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is missing at {CHROMIUM} (make test installs it)", pytrace=False)
        pytest.skip(f"Chromium is missing at {CHROMIUM}: run make test, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page: object, name: str) -> None:
    """Keep a full-page screenshot as a test artefact, after checking the page fits its width.

    A page wider than the window scrolls sideways on a phone: the header's last link
    or a long word is then out of sight.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    window = page.evaluate("window.innerWidth")  # type: ignore[attr-defined]
    assert width <= window, f"{name}: the page is {width} px wide in a {window} px window"
