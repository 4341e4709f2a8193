"""A staff member in a browser: log in → filter the list → review a tender → override its sector → export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Place
from crawler.store import store_item
from models.db import session_scope
from models.review import TenderReview
from models.staff import add_staff_user
from models.tender import Tender, TenderSector
from tests.browser.conftest import DESKTOP, PHONE, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "pitkä-salasana-42"


def seed(session_factory: sessionmaker[Session], make_notice: Callable[..., Any]) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        add_staff_user(session, "maija", PASSWORD, now=now)
        for title, town in (
            ("Forssan koulujen ylläpitosiivous", "Forssa"),
            ("Lahden uimahallin siivous", "Lahti"),
            ("Riihimäen kirjaston peruskorjaus", "Riihimäki"),
        ):
            item = make_notice(
                titles={"fi": title},
                descriptions={"fi": f"{title}. Tarkemmat tiedot tarjouspyynnössä."},
                places=[Place(town=town)],
                published_at=now - timedelta(days=1),
                deadline=now + timedelta(days=14),
            )
            store_item(session, item)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_log_in_filter_review_override_and_export(
    browser: object,
    live_server: str,
    session_factory: sessionmaker[Session],
    make_notice: Callable[..., Any],
    viewport: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id.replace("-", "_")
    seed(session_factory, make_notice)
    context = browser.new_context(viewport=viewport, locale="fi-FI", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_server}/henkilokunta/")
    assert "/henkilokunta/kirjaudu" in page.url  # staff pages need a login
    page.get_by_label("Käyttäjätunnus").fill("maija")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu").click()
    page.get_by_role("heading", name="Kerätyt hankinnat").wait_for()

    page.get_by_label("Maakunta").select_option(label="Kanta-Häme")
    page.get_by_label("Vapaa haku").fill("siivous")
    page.get_by_role("button", name="Hae").click()
    page.get_by_role("link", name="Forssan koulujen ylläpitosiivous").wait_for()
    assert page.get_by_role("link", name="Lahden uimahallin siivous").count() == 0
    assert page.get_by_role("link", name="Riihimäen kirjaston peruskorjaus").count() == 0
    screenshot(page, f"staff_list_{name}")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Otsikko" and [row[0] for row in rows[1:]] == ["Forssan koulujen ylläpitosiivous"]

    page.get_by_role("link", name="Forssan koulujen ylläpitosiivous").click()
    page.get_by_label("Olennainen", exact=True).check()
    page.get_by_label("Muistiinpano", exact=True).fill("Sopii forssalaisille siivousyrityksille")
    page.get_by_role("button", name="Tallenna arvio").click()
    page.get_by_role("button", name="Tallenna arvio").wait_for()
    page.get_by_label("Kiinteistönhoito, kunnossapito ja viheralueet").check()
    page.get_by_role("button", name="Korjaa toimialat").click()
    page.get_by_role("button", name="Korjaa toimialat").wait_for()
    screenshot(page, f"staff_review_{name}")

    with session_factory() as session:
        tender = session.scalars(select(Tender).where(Tender.title == "Forssan koulujen ylläpitosiivous")).one()
        review = session.get_one(TenderReview, tender.id)
        assert (review.relevance, review.reviewed_by) == ("relevant", "maija")
        sectors = set(session.scalars(select(TenderSector.slug).where(TenderSector.tender_id == tender.id)))
        assert {"siivous", "kiinteistonhoito"} <= sectors
    context.close()
