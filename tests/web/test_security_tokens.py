"""Signed links are scoped: one purpose, one subscriber; forged, swapped or foreign tokens do nothing.

Every link page is tried with the token of every other purpose (the values have the
same shape: a manage token and a stop-everything token both carry a subscriber id), with
a token whose signed value was swapped for another subscriber's, with a token of another
installation, and with arbitrary text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.links import Links
from alerts.subscribe import SearchRequest, subscribe
from models.db import session_scope
from models.subscriptions import Subscriber, Subscription
from tests.web.conftest import token_of

#: Where each purpose's token is read: (method, path with {t}); POSTs are the ones that change something.
PAGES: dict[str, list[tuple[str, str]]] = {
    "confirm": [("GET", "/tilaus/vahvista/{t}"), ("POST", "/tilaus/vahvista/{t}")],
    "unsubscribe": [("GET", "/tilaus/lopeta/{t}"), ("POST", "/tilaus/lopeta/{t}")],
    "unsubscribe-all": [("GET", "/tilaus/lopeta-kaikki/{t}"), ("POST", "/tilaus/lopeta-kaikki/{t}")],
    "manage": [("GET", "/tilaus/hallinta/{t}"), ("POST", "/tilaus/hallinta/{t}/poista-tiedot")],
    "feed": [("GET", "/syote/{t}.atom"), ("GET", "/syote/{t}.ics")],
}


def saved(session_factory: sessionmaker[Session], mailer: Mailer, email: str) -> tuple[int, int, int]:
    """A subscriber with a confirmed and an unconfirmed search: (subscriber id, confirmed id, unconfirmed id)."""
    with session_scope(session_factory) as session:
        rows = [
            subscribe(
                session,
                mailer,
                email=email,
                search=SearchRequest(sectors=["siivous"]),
                now=datetime.now(UTC),
                confirmed=confirmed,
            )
            for confirmed in (True, False)
        ]
        return rows[0].subscriber_id, rows[0].id, rows[1].id


def state(session_factory: sessionmaker[Session]) -> list[tuple[str, str, list[str]]]:
    """Everything a link could change: each subscriber's status and their searches' statuses."""
    with session_factory() as session:
        return [
            (row.email, row.status, [s.status for s in sorted(row.subscriptions, key=lambda s: s.id)])
            for row in session.query(Subscriber).order_by(Subscriber.id)
        ]


def values(subscriber_id: int, search_id: int, waiting_id: int) -> dict[str, object]:
    """What each purpose's token carries for this subscriber."""
    return {
        "confirm": waiting_id,
        "unsubscribe": [search_id],
        "unsubscribe-all": subscriber_id,
        "manage": subscriber_id,
        "feed": search_id,
    }


def refused(client: FlaskClient, method: str, url: str) -> bool:
    """Whether the page turned the token away (400 for the pages, 404 for feeds; 405 when it names no route)."""
    if method == "GET":
        answer = client.get(url)
    else:
        answer = client.post(url, data={"csrf_token": token_of(client.get("/tilaa").text)})
    return answer.status_code in (400, 404, 405) and "Traceback" not in answer.text


@pytest.mark.parametrize("purpose", sorted(PAGES))
def test_a_token_works_only_for_its_own_purpose(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, purpose: str
) -> None:
    ids = saved(session_factory, mailer, "maija@siivous.test")
    token = mailer.links.token(purpose, values(*ids)[purpose])
    before = state(session_factory)
    for other, pages in PAGES.items():
        if other == purpose:
            continue
        for method, page in pages:
            assert refused(client, method, page.format(t=token)), (purpose, other, page)
    assert state(session_factory) == before
    _, own_page = PAGES[purpose][0]
    assert client.get(own_page.format(t=token)).status_code == 200  # the token itself is good


def test_a_signed_value_swapped_for_another_subscribers_is_refused(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    mine = saved(session_factory, mailer, "a@yritys.test")
    theirs = saved(session_factory, mailer, "b@yritys.test")
    before = state(session_factory)
    for purpose, pages in PAGES.items():
        my_token = mailer.links.token(purpose, values(*mine)[purpose])
        their_payload = mailer.links.token(purpose, values(*theirs)[purpose]).split(".")[0]
        swapped = their_payload + my_token[my_token.index(".") :]  # their value under my signature
        for method, page in pages:
            assert refused(client, method, page.format(t=swapped)), (purpose, page)
    assert state(session_factory) == before


def test_a_token_of_another_installation_is_refused(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    ids = saved(session_factory, mailer, "maija@siivous.test")
    elsewhere = Links(base_url=mailer.links.base_url, key="toisen-asennuksen-avain")
    before = state(session_factory)
    for purpose, pages in PAGES.items():
        token = elsewhere.token(purpose, values(*ids)[purpose])
        for method, page in pages:
            assert refused(client, method, page.format(t=token)), (purpose, page)
    assert state(session_factory) == before


def test_a_stop_everything_link_stops_only_its_own_subscriber(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    mine = saved(session_factory, mailer, "a@yritys.test")
    saved(session_factory, mailer, "b@yritys.test")
    assert client.post(f"/tilaus/lopeta-kaikki/{mailer.links.token('unsubscribe-all', mine[0])}").status_code == 200
    assert [(email, status) for email, status, _ in state(session_factory)] == [
        ("a@yritys.test", "unsubscribed"),
        ("b@yritys.test", "active"),
    ]


def test_the_links_of_a_deleted_subscriber_find_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    saved(session_factory, mailer, "jaa@yritys.test")
    gone = saved(session_factory, mailer, "poistuu@yritys.test")
    links = values(*gone)
    manage = f"/tilaus/hallinta/{mailer.links.token('manage', gone[0])}"
    token = token_of(client.get(manage).text)
    assert client.post(f"{manage}/poista-tiedot", data={"csrf_token": token}).status_code == 200
    after = state(session_factory)

    assert "Tilaajaa ei löydy" in client.get(manage).text
    assert (
        "Tilaajaa ei löydy"
        in client.post(f"/tilaus/lopeta-kaikki/{mailer.links.token('unsubscribe-all', gone[0])}").text
    )
    assert (
        "Hakua ei löydy"
        in client.post(f"/tilaus/lopeta/{mailer.links.token('unsubscribe', links['unsubscribe'])}").text
    )
    assert "Hakua ei löydy" in client.post(f"/tilaus/vahvista/{mailer.links.token('confirm', links['confirm'])}").text
    assert client.get(f"/syote/{mailer.links.token('feed', links['feed'])}.atom").status_code in (404, 410)
    assert state(session_factory) == after == [("jaa@yritys.test", "active", ["active", "unconfirmed"])]


def test_an_old_link_never_reaches_a_later_subscriber(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    """No database hands a deleted subscriber's id to a new one (SQLite by AUTOINCREMENT, migration 0009)."""
    gone = saved(session_factory, mailer, "poistuu@yritys.test")
    manage = f"/tilaus/hallinta/{mailer.links.token('manage', gone[0])}"
    client.post(f"{manage}/poista-tiedot", data={"csrf_token": token_of(client.get(manage).text)})
    saved(session_factory, mailer, "uusi@yritys.test")
    assert "uusi@yritys.test" not in client.get(manage).text
    assert "Tilaajaa ei löydy" in client.get(manage).text


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# No "/": WSGI decodes %2F into a path separator, so it would name another route, not a token.
@given(token=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/"), min_size=1))
def test_any_text_as_a_token_is_refused_and_changes_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, token: str
) -> None:
    if not state(session_factory):
        saved(session_factory, mailer, "maija@siivous.test")
    before = state(session_factory)
    for pages in PAGES.values():
        for method, page in pages:
            assert refused(client, method, page.format(t=quote(token, safe=""))), page  # as a browser sends it
    assert state(session_factory) == before


def test_subscription_ids_in_a_stop_link_are_the_ones_signed(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    """A stop link covers exactly the searches it was made for, however many the subscriber has."""
    _, first, _ = saved(session_factory, mailer, "maija@siivous.test")
    _, second, _ = saved(session_factory, mailer, "maija@siivous.test")
    assert client.post(f"/tilaus/lopeta/{mailer.links.token('unsubscribe', [first])}").status_code == 200
    with session_factory() as session:
        assert session.get_one(Subscription, first).status == "unsubscribed"
        assert session.get_one(Subscription, second).status == "active"
