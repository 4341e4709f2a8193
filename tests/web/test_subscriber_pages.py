"""The pages behind the links in alert emails: a GET never changes anything, a POST does, a forged token nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.subscribe import SearchRequest, subscribe
from models.db import session_scope
from models.subscriptions import Subscriber, Subscription
from tests.web.conftest import path

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def saved(session_factory: sessionmaker[Session], mailer: Mailer, *, confirmed: bool = True) -> tuple[int, int]:
    with session_scope(session_factory) as session:
        first = subscribe(
            session,
            mailer,
            email="maija@siivous.test",
            search=SearchRequest(sectors=["siivous"], regions=["subregion:053"]),
            now=NOW,
            confirmed=confirmed,
        )
        subscribe(
            session,
            mailer,
            email="maija@siivous.test",
            search=SearchRequest(sectors=["rakentaminen"]),
            now=NOW,
            confirmed=True,
        )
        return first.id, first.subscriber_id


def statuses(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return [row.status for row in session.query(Subscription).order_by(Subscription.id)]


def test_one_click_unsubscribe_stops_only_that_search_and_a_get_changes_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, _ = saved(session_factory, mailer)
    url = path(mailer.links.unsubscribe([search_id]))
    page = client.get(url)
    assert page.status_code == 200 and "Lopetetaanko haku?" in page.text and "siivous, Forssan seutu" in page.text
    assert statuses(session_factory) == ["active", "active"]
    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Haku lopetettu" in done.text
    assert statuses(session_factory) == ["unsubscribed", "active"]
    again = client.post(url, data={"List-Unsubscribe": "One-Click"})  # a second click is harmless
    assert again.status_code == 200 and statuses(session_factory) == ["unsubscribed", "active"]


@pytest.mark.parametrize("tamper", ["flip-last", "other-id", "other-purpose", "other-key"])
def test_a_forged_or_altered_token_does_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, tamper: str
) -> None:
    search_id, subscriber_id = saved(session_factory, mailer)
    good = mailer.links.unsubscribe([search_id])
    forged = {
        "flip-last": good[:-1] + ("A" if good[-1] != "A" else "B"),
        "other-id": good.replace(
            mailer.links.token("unsubscribe", [search_id]), mailer.links.token("manage", [search_id + 1])
        ),
        "other-purpose": good.replace(
            mailer.links.token("unsubscribe", [search_id]), mailer.links.token("manage", subscriber_id)
        ),
        "other-key": good.replace(
            mailer.links.token("unsubscribe", [search_id]),
            type(mailer.links)(base_url="x", key="another-key").token("unsubscribe", [search_id]),
        ),
    }[tamper]
    answer = client.post(path(forged), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 400 and "Linkki ei kelpaa" in answer.text
    assert statuses(session_factory) == ["active", "active"]


def test_stop_everything_and_confirm_need_a_post(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, subscriber_id = saved(session_factory, mailer, confirmed=False)
    confirm_url = path(mailer.links.confirm(search_id))
    assert "Vahvista haku" in client.get(confirm_url).text
    assert statuses(session_factory) == ["unconfirmed", "active"]
    assert "Kiitos, haku on voimassa" in client.post(confirm_url).text
    assert statuses(session_factory) == ["active", "active"]

    manage = client.get(path(mailer.links.manage(subscriber_id)))
    assert manage.status_code == 200 and "Hakusi" in manage.text and "maija@siivous.test" in manage.text

    stop_all = path(mailer.links.unsubscribe_all(subscriber_id))
    assert "Lopetetaanko kaikki viestit?" in client.get(stop_all).text
    assert statuses(session_factory) == ["active", "active"]
    assert "Kaikki viestit lopetettu" in client.post(stop_all).text
    assert statuses(session_factory) == ["unsubscribed", "unsubscribed"]
    with session_factory() as session:
        assert session.get_one(Subscriber, subscriber_id).status == "unsubscribed"
