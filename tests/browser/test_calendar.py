"""The calendar pages in Chromium at phone and desktop widths: they fit the window, filters work, print hides chrome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins import load_sample
from models.db import session_scope
from models.staff import add_staff_user
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.sample_store import store_sample

pytestmark = pytest.mark.e2e

PASSWORD = "pitkä-salasana-42"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_calendar_pages_fit_the_window_and_filter(
    browser: object,
    live_server: str,
    session_factory: sessionmaker[Session],
    viewport: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id.replace("-", "_")
    with session_scope(session_factory) as session:
        store_sample(session, load_sample())
    with session_scope(session_factory) as session:
        add_staff_user(session, "maija", PASSWORD, now=datetime.now(UTC))
    context = browser.new_context(viewport=viewport, locale="fi-FI")  # type: ignore[attr-defined]
    page = context.new_page()

    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Hankintakalenteri", exact=True).click()
    page.get_by_role("heading", name="Hankintakalenteri", exact=True).wait_for()
    screenshot(page, f"calendar_index_{name}")

    page.get_by_role("link", name="Hämeenlinnan seutukunta", exact=True).click()
    page.get_by_role("heading", name="Hankintakalenteri: Hämeenlinnan seutukunta").wait_for()
    everything = page.locator("li.calendar-entry").count()
    assert everything > 0
    screenshot(page, f"calendar_subregion_{name}")
    page.get_by_label("Hankintayksikkö").select_option(label="Hämeenlinnan kaupunki")
    page.get_by_role("button", name="Näytä").click()
    page.locator("#count").wait_for()
    buyers = page.locator("li.calendar-entry .calendar-meta").all_inner_texts()
    assert buyers and all(text.startswith("Hämeenlinnan kaupunki") for text in buyers)
    assert len(buyers) < everything

    page.goto(f"{live_server}/kalenteri/forssan-seutu/tuloste")
    page.get_by_role("heading", level=1).wait_for()
    screenshot(page, f"calendar_handout_screen_{name}")
    page.emulate_media(media="print")
    assert page.locator(".handout-screen-only").is_hidden()
    page.emulate_media(media="screen")

    page.goto(f"{live_server}/henkilokunta/kirjaudu?seuraava=/henkilokunta/kalenteri")
    page.get_by_label("Käyttäjätunnus").fill("maija")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu").click()
    page.goto(f"{live_server}/henkilokunta/kalenteri")
    page.get_by_role("heading", name="Hankintakalenteri (henkilökunta)").wait_for()
    page.get_by_label("Alue").select_option(label="– Forssa")
    page.get_by_role("button", name="Näytä").click()
    page.locator("#count").filter(has_text="Forssa").wait_for()
    screenshot(page, f"calendar_staff_{name}")
    context.close()
