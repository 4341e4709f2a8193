"""Every control can be reached with the Tab key alone, in the order it is shown.

For a page, the test lists the visible links, buttons, fields and disclosure summaries,
then presses Tab until focus comes round again and records where it went: each control
must have had focus, and focus must move down the page (never jump back up), which is
what someone using a keyboard or a switch device relies on. A group of radio buttons is
one stop, its chosen button, as browsers make it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.tender import Tender
from tests.browser.conftest import DESKTOP
from tests.browser.test_staff_journey import PASSWORD, seed

pytestmark = pytest.mark.e2e

CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"
#: Marks each visible control with its position in the document, and returns how many there are.
MARK = f"""() => {{
  let count = 0;
  for (const element of document.querySelectorAll({CONTROLS!r})) {{
    if (!element.checkVisibility({{ visibilityProperty: true }})) continue;  // hidden, or in closed <details>
    if (element.type === "radio") {{  // a radio group is one tab stop (arrows move within it)
      const group = [...document.getElementsByName(element.name)];
      const stop = group.find((radio) => radio.checked) || group[0];
      if (element !== stop) continue;
    }}
    element.dataset.order = String(count++);
  }}
  return count;
}}"""
FOCUSED = "() => document.activeElement && document.activeElement.dataset.order"


def tab_order(page: Any) -> tuple[int, list[int]]:
    """How many visible controls the page has, and the order in which Tab reaches them."""
    count = page.evaluate(MARK)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached: list[int] = []
    for _ in range(count + 3):
        page.keyboard.press("Tab")
        order = page.evaluate(FOCUSED)
        if order is None:
            continue
        if reached and int(order) == reached[0]:
            break
        reached.append(int(order))
    if reached:  # focus may start mid-page (a field with autofocus): read the round from the top
        start = reached.index(min(reached))
        reached = reached[start:] + reached[:start]
    return count, reached


def test_every_control_of_the_main_pages_is_reached_with_tab_in_reading_order(
    browser: object, live_server: str, session_factory: sessionmaker[Session], make_notice: Callable[..., Any]
) -> None:
    seed(session_factory, make_notice)
    with session_factory() as session:
        tender_id = session.scalars(select(Tender.id).where(Tender.title == "Forssan koulujen ylläpitosiivous")).one()
    context = browser.new_context(viewport=DESKTOP, locale="fi-FI")  # type: ignore[attr-defined]
    page = context.new_page()
    pages = ["/", "/tilaa", f"/hankinnat/{tender_id}", "/henkilokunta/kirjaudu"]
    for path in pages:
        page.goto(f"{live_server}{path}")
        count, reached = tab_order(page)
        assert count > 0 and sorted(set(reached)) == list(range(count)), (path, count, reached)
        assert reached == sorted(reached), (path, reached)

    page.get_by_label("Käyttäjätunnus").fill("maija")
    page.get_by_label("Salasana").fill(PASSWORD)
    page.get_by_role("button", name="Kirjaudu").click()
    page.get_by_role("heading", name="Kerätyt hankinnat").wait_for()
    for path in ("/henkilokunta/", f"/henkilokunta/hankinnat/{tender_id}"):
        page.goto(f"{live_server}{path}")
        count, reached = tab_order(page)
        assert count > 0 and sorted(set(reached)) == list(range(count)), (path, count, reached)
        assert reached == sorted(reached), (path, reached)

    page.goto(f"{live_server}/henkilokunta/")  # the folded filters open from the keyboard
    page.get_by_text("Lisää rajauksia").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Kunta", exact=True).wait_for(state="visible")
    context.close()
