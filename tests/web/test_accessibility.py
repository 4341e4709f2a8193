"""Every page a person reaches: a title of its own, one main heading, a label on every field, no tab traps.

Walks each page type of the app (public, the pages behind email links, staff) as its
user reaches it and checks the HTML with lxml: a form field is labelled by a
``<label for>`` naming its id, by an enclosing ``<label>`` or by ``aria-label``; a
button and a link have a name; nothing takes itself out of or ahead of the tab order.
"""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.subscribe import SearchRequest, subscribe
from crawler.items import Place
from models.db import session_scope
from tests.web.conftest import Store, path, tender_id

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}


def problems(html: str) -> list[str]:
    """What keeps a page from being read with a screen reader or used from the keyboard."""
    page = lxml.html.fromstring(html)
    found: list[str] = []
    if page.get("lang") != "fi":
        found.append("html without lang=fi")
    titles = [title.text_content().strip() for title in page.xpath("/html/head/title")]  # not a chart's SVG titles
    if len(titles) != 1 or not titles[0].endswith("Hankintavahti") or titles[0] == "Hankintavahti":
        found.append(f"title {titles!r}")
    if len(page.findall(".//h1")) != 1:
        found.append(f"{len(page.findall('.//h1'))} h1 headings")
    labelled = {label.get("for") for label in page.iter("label") if label.get("for")}
    for field in page.xpath("//input | //select | //textarea"):
        if field.get("type") in ("hidden", "submit", "button"):
            continue
        wrapped = any(ancestor.tag == "label" for ancestor in field.iterancestors())
        if not (field.get("id") in labelled or wrapped or field.get("aria-label") or field.get("aria-labelledby")):
            found.append(f"unlabelled {field.tag} name={field.get('name')!r}")
    for control in page.xpath("//button | //a[@href]"):
        if not (control.text_content().strip() or control.get("aria-label")):
            found.append(f"nameless {control.tag} {lxml.html.tostring(control)[:80]!r}")
    for element in page.xpath("//*[@tabindex]"):
        if int(element.get("tabindex")) != 0 and element.tag != "main":
            found.append(f"tabindex {element.get('tabindex')} on {element.tag}")
    ids = page.xpath("//@id")
    duplicates = {value for value in ids if ids.count(value) > 1}
    if duplicates:
        found.append(f"duplicate ids {sorted(duplicates)}")
    return found


@pytest.fixture
def pages(
    client: FlaskClient, staff: FlaskClient, store: Store, session_factory: sessionmaker[Session], mailer: Mailer
) -> dict[str, tuple[FlaskClient, str]]:
    """Each page type with the client that reaches it."""
    store(titles={"fi": "Forssan koulujen siivous"}, **FORSSA)
    tender = tender_id(session_factory, "Forssan koulujen siivous")
    with session_scope(session_factory) as session:
        search = subscribe(
            session,
            mailer,
            email="maija@siivous.test",
            search=SearchRequest(sectors=["siivous"], regions=["municipality:061"]),
            now=datetime.now(UTC),
            confirmed=False,
        )
        search_id, subscriber_id = search.id, search.subscriber_id
    manage = path(mailer.links.manage(subscriber_id))
    return {
        "front page": (client, "/"),
        "subscribe form": (client, "/tilaa"),
        "tender page": (client, f"/hankinnat/{tender}"),
        "missing tender": (client, "/hankinnat/999999"),
        "confirm": (client, path(mailer.links.confirm(search_id))),
        "manage": (client, manage),
        "edit search": (client, f"{manage}/haku/{search_id}"),
        "new search": (client, f"{manage}/uusi"),
        "delete my data": (client, f"{manage}/poista-tiedot"),
        "unsubscribe": (client, path(mailer.links.unsubscribe([search_id]))),
        "unsubscribe all": (client, path(mailer.links.unsubscribe_all(subscriber_id))),
        "staff list": (staff, "/henkilokunta/?tila=open"),
        "staff tender": (staff, f"/henkilokunta/hankinnat/{tender}"),
        "crawl dashboard": (staff, "/henkilokunta/haut"),
        "subscribers": (staff, "/henkilokunta/tilaajat"),
        "calendar index": (client, "/kalenteri"),
        "calendar": (client, "/kalenteri/forssan-seutu"),
        "calendar handout": (client, "/kalenteri/forssan-seutu/tuloste"),
        "staff calendar": (staff, "/henkilokunta/kalenteri?alue=kunta:061"),
        "vitality dashboard": (staff, "/henkilokunta/elinvoima?jakso=neljannes"),
        "vitality methodology": (client, "/elinvoimamittari/menetelmat"),
    }


def test_every_page_has_a_title_a_heading_labels_and_keyboard_order(
    pages: dict[str, tuple[FlaskClient, str]], client: FlaskClient
) -> None:
    found: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for name, (user, url) in pages.items():
        answer = user.get(url)
        assert answer.status_code in (200, 404), (name, answer.status_code)
        found[name] = problems(answer.text)
        titles[name] = lxml.html.fromstring(answer.text).findtext("head/title")
    login = FlaskClient(client.application, use_cookies=True).get("/henkilokunta/kirjaudu").text
    found["login"] = problems(login)
    assert {name: issues for name, issues in found.items() if issues} == {}
    shared = {title for title in titles.values() if list(titles.values()).count(title) > 1}
    assert shared <= {"Hakusi – Hankintavahti"}, shared  # a page's title says which page it is


def test_the_checks_find_what_they_look_for() -> None:
    bare = '<html><head></head><body><input name="email"><a href="/x"></a><p tabindex="3">x</p></body></html>'
    assert problems(bare) == [
        "html without lang=fi",
        "title []",
        "0 h1 headings",
        "unlabelled input name='email'",
        "nameless a b'<a href=\"/x\"></a>'",
        "tabindex 3 on p",
    ]
