"""The pages the journeys pass by, at phone and desktop widths: each fits its window and is kept as a screenshot.

The journeys (test_subscriber_journey, test_staff_journey) cover what people do; this
walks the remaining pages: the front page with its filters, a tender's public page, and
the staff dashboards, with a long unbroken word in a title, which is what pushes a page
wider than a phone when nothing wraps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.tender import Tender
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.test_staff_journey import PASSWORD, seed

pytestmark = pytest.mark.e2e

LONG_TITLE = "Kiinteistönhoitopalveluhankintailmoituskokonaisuus Forssan kaupungin kouluille"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_front_page_tender_page_and_dashboards_fit_the_window(
    browser: object,
    live_server: str,
    session_factory: sessionmaker[Session],
    make_notice: Callable[..., Any],
    viewport: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id.replace("-", "_")
    seed(session_factory, make_notice)
    with session_factory() as session:
        tender = session.scalars(select(Tender).where(Tender.title == "Forssan koulujen ylläpitosiivous")).one()
        tender.title = LONG_TITLE
        session.commit()
        tender_id = tender.id
    context = browser.new_context(viewport=viewport, locale="fi-FI")  # type: ignore[attr-defined]
    page = context.new_page()

    page.goto(f"{live_server}/")
    page.get_by_role("heading", level=1).wait_for()
    page.get_by_label("Seutukunta", exact=True).select_option(label="Forssan seutukunta")
    page.get_by_role("button", name="Näytä").click()
    page.get_by_role("link", name=LONG_TITLE).wait_for()
    screenshot(page, f"front_page_{name}")

    page.get_by_role("link", name=LONG_TITLE).click()
    page.get_by_role("heading", name=LONG_TITLE).wait_for()
    assert page.url.endswith(f"/hankinnat/{tender_id}")
    screenshot(page, f"tender_page_{name}")

    page.goto(f"{live_server}/henkilokunta/kirjaudu")
    page.get_by_label("Käyttäjätunnus").fill("maija")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu").click()
    page.get_by_role("heading", name="Kerätyt hankinnat").wait_for()
    for path, shot in (("/henkilokunta/haut", "crawl_dashboard"), ("/henkilokunta/tilaajat", "subscribers")):
        page.goto(f"{live_server}{path}")
        page.get_by_role("heading", level=1).wait_for()
        screenshot(page, f"{shot}_{name}")
    context.close()
