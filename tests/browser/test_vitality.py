"""The vitality meter in a browser at phone and desktop width: the dashboard, its charts, the methodology."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins.sample import load_sample
from models.db import session_scope
from models.staff import add_staff_user
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.sample_store import store_sample

pytestmark = pytest.mark.e2e

PASSWORD = "mittari-salasana-42"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_dashboard_and_methodology_fit_the_window_and_the_charts_load(
    browser: object,
    live_server: str,
    session_factory: sessionmaker[Session],
    viewport: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id.replace("-", "_")
    with session_scope(session_factory) as session:
        store_sample(session, load_sample())
        add_staff_user(session, "maija", PASSWORD, now=datetime.now(UTC))
    context = browser.new_context(viewport=viewport, locale="fi-FI")  # type: ignore[attr-defined]
    page = context.new_page()

    page.goto(f"{live_server}/elinvoimamittari/menetelmat")
    page.get_by_role("heading", level=1).wait_for()
    assert "ei saa käyttää hankinnan valintaperusteena" in page.content()
    screenshot(page, f"vitality_methodology_{name}")

    page.goto(f"{live_server}/henkilokunta/kirjaudu?seuraava=/henkilokunta/elinvoima")
    page.get_by_label("Käyttäjätunnus").fill("maija")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu").click()
    page.get_by_role("heading", name="Elinvoimamittari").wait_for()
    page.get_by_label("Jakso", exact=True).select_option(label="Vuosineljännes")
    page.get_by_role("button", name="Näytä").click()
    page.get_by_role("heading", name="Ajanjaksoittain").wait_for()
    assert "jakso=neljannes" in page.url
    images = page.locator(".vitality-chart img")
    assert images.count() >= 4
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert image.get_attribute("alt")
    screenshot(page, f"vitality_dashboard_{name}")
    context.close()
