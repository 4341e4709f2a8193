"""An entrepreneur in a browser: subscribe → confirmation email → confirm → manage → unsubscribe."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.delivery import deliver_pending
from alerts.transport import DirectoryTransport
from config.settings import Settings
from models.subscriptions import Subscription
from tests.browser.conftest import DESKTOP, PHONE, screenshot

pytestmark = pytest.mark.e2e


def confirmation_link(outbox: Path) -> str:
    [path] = list(outbox.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert str(message["Subject"]) == "Vahvista Hankintavahdin tilaus"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"http://\S+/tilaus/vahvista/\S+", text)
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_subscribe_confirm_manage_and_unsubscribe(
    browser: object,
    live_server: str,
    live_settings: Settings,
    session_factory: sessionmaker[Session],
    viewport: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id.replace("-", "_")
    context = browser.new_context(viewport=viewport, locale="fi-FI")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_server}/tilaa")
    assert "Hankintavahti" in page.title()
    page.get_by_label("Sähköpostiosoite").fill("maija@siivous.test")
    page.get_by_label("Nimi").fill("Maija")
    page.get_by_label("Siivous ja puhtaanapito").check()
    page.get_by_label("Forssan seutukunta").check()
    screenshot(page, f"subscribe_form_{name}")
    page.get_by_role("button", name="Tilaa ilmaiseksi").click()
    page.get_by_text("Tarkista sähköpostisi").first.wait_for()
    screenshot(page, f"check_email_{name}")

    outbox = live_settings.outbox_dir
    deliver_pending(session_factory, DirectoryTransport(outbox), mail_from=live_settings.mail_from)
    page.goto(confirmation_link(outbox))
    page.get_by_role("button", name="Vahvista haku").click()
    page.get_by_text("Kiitos, haku on voimassa").wait_for()
    with session_factory() as session:
        assert session.scalars(select(Subscription.status)).one() == "active"

    page.get_by_role("link", name="Näytä ja muokkaa hakujasi").click()
    page.get_by_role("heading", name="Hakusi").wait_for()
    screenshot(page, f"manage_{name}")
    page.get_by_role("button", name=re.compile("^Poista haku")).first.click()
    page.get_by_text("Haku lopetettu").first.wait_for()
    screenshot(page, f"unsubscribed_{name}")
    with session_factory() as session:
        assert session.scalars(select(Subscription.status)).one() == "unsubscribed"
    context.close()
