"""Every page of every blueprint: security headers, nothing inline for the CSP to block, login and CSRF where due.

The lists of URLs below are checked against the app's URL map, so a page added later
without a place here fails :func:`test_every_page_is_covered` rather than going
unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.subscribe import SearchRequest, subscribe
from config.settings import Settings
from crawler.items import Place
from models.db import session_scope
from models.review import StaffPick, TenderReview
from models.subscriptions import Subscriber, Subscription
from tests.web.conftest import Store, path, sign_in, tender_id, token_of
from web import create_app
from web.security import CONTENT_SECURITY_POLICY

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
#: The routes whose signed URL is their authorisation (mail clients POST the one-click unsubscribe without a page).
CSRF_EXEMPT = {"subscriber.confirm_search", "subscriber.stop_searches", "subscriber.stop_all"}
#: Staff routes anybody may reach: the login form itself and logging out.
OPEN_STAFF_ROUTES = {"auth.login", "auth.login_submit", "auth.logout"}


@dataclass(frozen=True)
class Site:
    """A site with a tender, a subscriber with a confirmed and an unconfirmed search, and its URLs per endpoint."""

    app: Flask
    get: dict[str, str]
    post: dict[str, str]
    search_id: int
    subscriber_id: int
    tender_id: int


@pytest.fixture
def site(
    settings: Settings, session_factory: sessionmaker[Session], mailer: Mailer, store: Store, staff_user: str
) -> Site:
    store("Forssan koulujen siivous", **FORSSA)
    tender = tender_id(session_factory, "Forssan koulujen siivous")
    with session_scope(session_factory) as session:
        confirmed = subscribe(
            session,
            mailer,
            email="maija@siivous.test",
            search=SearchRequest(sectors=["siivous"]),
            now=datetime.now(UTC),
            confirmed=True,
        )
        waiting = subscribe(
            session,
            mailer,
            email="maija@siivous.test",
            search=SearchRequest(sectors=["rakentaminen"]),
            now=datetime.now(UTC),
            confirmed=False,
        )
        search_id, subscriber_id, waiting_id = confirmed.id, confirmed.subscriber_id, waiting.id
    links = mailer.links
    manage = path(links.manage(subscriber_id))
    get = {
        "static": "/static/hankintavahti.css",
        "public.front_page": "/",
        "public.subscribe_form": "/tilaa",
        "public.tender_page": f"/hankinnat/{tender}",
        "public.manage_link_form": "/tilaukseni",
        "subscriber.confirm_page": path(links.confirm(waiting_id)),
        "subscriber.stop_page": path(links.unsubscribe([search_id])),
        "subscriber.stop_all_page": path(links.unsubscribe_all(subscriber_id)),
        "subscriber.manage": manage,
        "subscriber.edit_page": f"{manage}/haku/{search_id}",
        "subscriber.add_page": f"{manage}/uusi",
        "subscriber.delete_page": f"{manage}/poista-tiedot",
        "auth.login": "/henkilokunta/kirjaudu",
        "staff.tender_list": "/henkilokunta/",
        "staff.export_csv": "/henkilokunta/vienti.csv",
        "staff.export_xlsx": "/henkilokunta/vienti.xlsx",
        "review.detail": f"/henkilokunta/hankinnat/{tender}",
        "dashboard.crawl": "/henkilokunta/haut",
        "dashboard.subscribers": "/henkilokunta/tilaajat",
        "feeds.atom": path(links.feed(search_id, "atom")),
        "feeds.calendar": path(links.feed(search_id, "ics")),
        "api.tenders": "/api/tenders",
        "calendar.index": "/kalenteri",
        "calendar.subregion_page": "/kalenteri/forssan-seutu",
        "calendar.feed": "/kalenteri/forssan-seutu.ics",
        "calendar.handout": "/kalenteri/forssan-seutu/tuloste",
        "calendar.handout_pdf": "/kalenteri/forssan-seutu/tuloste.pdf",
        "calendar.staff_page": "/henkilokunta/kalenteri",
        "vitality.dashboard": "/henkilokunta/elinvoima",
        "vitality.methodology": "/elinvoimamittari/menetelmat",
        "vitality.chart": "/henkilokunta/elinvoima/kuva/jaksot.svg",
        "vitality.export": "/henkilokunta/elinvoima/jaksot.csv",
    }
    post = {
        "public.subscribe_submit": "/tilaa",
        "public.manage_link_submit": "/tilaukseni",
        "subscriber.confirm_search": get["subscriber.confirm_page"],
        "subscriber.stop_searches": get["subscriber.stop_page"],
        "subscriber.stop_all": get["subscriber.stop_all_page"],
        "subscriber.edit_search": f"{manage}/haku/{search_id}",
        "subscriber.add_search": f"{manage}/uusi",
        "subscriber.search_action": f"{manage}/haku/{search_id}/tauko",
        "subscriber.delete_data": f"{manage}/poista-tiedot",
        "auth.login_submit": "/henkilokunta/kirjaudu",
        "auth.logout": "/henkilokunta/ulos",
        "review.review": f"/henkilokunta/hankinnat/{tender}/arvio",
        "review.override": f"/henkilokunta/hankinnat/{tender}/luokitus",
        "review.pick": f"/henkilokunta/hankinnat/{tender}/poiminta",
    }
    app = create_app(settings, session_factory)
    return Site(app, get, post, search_id, subscriber_id, tender)


def endpoints(app: Flask, method: str) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if method in (rule.methods or ())}


def staff_client(site: Site) -> FlaskClient:
    client = site.app.test_client()
    sign_in(client)
    return client


def assert_security_headers(headers: dict[str, str] | object, url: str) -> None:
    got = dict(headers)  # type: ignore[call-overload]
    assert got.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, url
    assert "frame-ancestors 'none'" in got["Content-Security-Policy"]
    assert "script-src" not in got["Content-Security-Policy"]  # default-src 'none' forbids every script
    assert got.get("X-Frame-Options") == "DENY", url
    assert got.get("Referrer-Policy") == "no-referrer", url
    assert got.get("X-Content-Type-Options") == "nosniff", url
    assert got.get("Strict-Transport-Security", "").startswith("max-age="), url  # BASE_URL is https in the tests


def test_every_page_is_covered(site: Site) -> None:
    assert endpoints(site.app, "GET") == set(site.get)
    assert endpoints(site.app, "POST") == set(site.post)


def test_every_page_carries_the_security_headers_and_nothing_inline(site: Site) -> None:
    staff = staff_client(site)
    for endpoint, url in site.get.items():
        client = site.app.test_client() if endpoint == "auth.login" else staff  # logged in, the login redirects
        answer = client.get(url)
        assert answer.status_code == 200, (endpoint, answer.status_code)
        assert_security_headers(answer.headers, url)
        if answer.mimetype == "text/html":
            html = answer.text
            # What the policy would block: inline styles and scripts, event handler attributes.
            assert "<style" not in html and "<script" not in html, endpoint
            assert not re.search(r"\sstyle=", html), endpoint
            assert not re.search(r"\son[a-z]+\s*=", html), endpoint
            for stylesheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
                assert stylesheet.startswith("/static/")  # style-src 'self'


def test_the_stylesheet_is_served_as_css(site: Site) -> None:
    answer = site.app.test_client().get(site.get["static"])
    assert answer.mimetype == "text/css" and "box-sizing" in answer.text


def test_errors_and_refusals_carry_the_headers_too(site: Site) -> None:
    client = site.app.test_client()
    for answer in (
        client.get("/ei-tallaista-sivua"),  # 404
        client.post("/tilaa", data={"email": "a@b.fi"}),  # 400: no CSRF token
        client.get("/tilaus/hallinta/vaarennetty"),  # 400: forged token
        client.get("/api/tenders?sort=kaikki"),  # 400 from the API
    ):
        assert answer.status_code in (400, 404)
        assert_security_headers(answer.headers, answer.request.path)


def test_staff_pages_need_a_login(site: Site) -> None:
    client = site.app.test_client()
    token = token_of(client.get("/henkilokunta/kirjaudu").text)
    staff_gets = {
        e: url for e, url in site.get.items() if url.startswith("/henkilokunta") and e not in OPEN_STAFF_ROUTES
    }
    staff_posts = {
        e: url for e, url in site.post.items() if url.startswith("/henkilokunta") and e not in OPEN_STAFF_ROUTES
    }
    assert len(staff_gets) >= 6 and len(staff_posts) == 3
    for url in staff_gets.values():
        refused = client.get(url)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/henkilokunta/kirjaudu?")
    for url in staff_posts.values():
        refused = client.post(url, data={"csrf_token": token, "relevance": "relevant", "action": "pick"})
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/henkilokunta/kirjaudu?")
    with site.app.config["HANKINTAVAHTI_SESSIONS"]() as session:
        assert session.scalar(select(func.count()).select_from(TenderReview)) == 0
        assert session.scalar(select(func.count()).select_from(StaffPick)) == 0


def test_every_state_changing_request_needs_the_csrf_token(site: Site) -> None:
    exempt = {e for e in endpoints(site.app, "POST") if getattr(site.app.view_functions[e], "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT
    staff = staff_client(site)
    for endpoint, url in site.post.items():
        if endpoint in CSRF_EXEMPT:
            continue
        refused = staff.post(
            url, data={"email": "uusi@yritys.test", "name": "Uusi", "sectors": "siivous", "relevance": "relevant"}
        )
        assert refused.status_code == 400, endpoint
        assert "Lomake vanhentui" in refused.text
    sessions: sessionmaker[Session] = site.app.config["HANKINTAVAHTI_SESSIONS"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
        assert session.get_one(Subscription, site.search_id).status == "active"
        assert session.scalar(select(func.count()).select_from(TenderReview)) == 0
    assert staff.get("/henkilokunta/").status_code == 200  # the logout without a token did not log out
