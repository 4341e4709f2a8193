"""The manage page behind the signed link in every email: edit, add, pause, resume, stop, delete all my data.

Its forms POST to URLs carrying the manage token and a CSRF token; a search is reached
only through the token's subscriber, so one person's link cannot touch another's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.record import load_index, record_alerts
from alerts.subscribe import SearchRequest, subscribe
from crawler.items import Place
from models.base import Base
from models.db import session_scope
from models.outbox import Alert, Message
from models.subscriptions import Subscriber, Subscription
from tests.web.conftest import Store, path, token_of

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}


def save(session_factory: sessionmaker[Session], mailer: Mailer, email: str, **search: Any) -> tuple[int, int]:
    """A confirmed search for ``email``: (search id, subscriber id)."""
    with session_scope(session_factory) as session:
        row = subscribe(
            session,
            mailer,
            email=email,
            search=SearchRequest(**search),
            now=datetime.now(UTC),
            confirmed=True,
            name="Maija Meikäläinen",
            company="Siivous Oy",
        )
        return row.id, row.subscriber_id


def manage_path(mailer: Mailer, subscriber_id: int) -> str:
    return path(mailer.links.manage(subscriber_id))


def search(session_factory: sessionmaker[Session], search_id: int) -> Subscription | None:
    with session_factory() as session:
        return session.get(Subscription, search_id)


def test_the_manage_page_lists_searches_with_forms_feeds_and_csrf(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, subscriber_id = save(session_factory, mailer, "maija@siivous.test", sectors=["siivous"])
    page = client.get(manage_path(mailer, subscriber_id))
    assert page.status_code == 200 and "<title>Hakusi – Hankintavahti</title>" in page.text
    assert "siivous" in page.text and "maija@siivous.test" in page.text
    assert f"/haku/{search_id}/tauko" in page.text and f"/haku/{search_id}/lopeta" in page.text
    assert page.text.count('name="csrf_token"') >= 2
    assert mailer.links.feed(search_id, "atom") in page.text and mailer.links.feed(search_id, "ics") in page.text
    assert "Lisää tilattu kalenteri" in page.text  # how to put it in a phone's calendar
    assert "Poista kaikki tietoni" in page.text

    without_csrf = client.post(f"{manage_path(mailer, subscriber_id)}/haku/{search_id}/tauko")
    assert without_csrf.status_code == 400
    assert search(session_factory, search_id).status == "active"  # type: ignore[union-attr]


def test_edit_keeps_the_search_confirmed_and_its_other_parts(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, subscriber_id = save(
        session_factory,
        mailer,
        "maija@siivous.test",
        sectors=["siivous"],
        excluded_keywords=["kaupunki"],
        regions=["region:05"],
    )
    url = f"{manage_path(mailer, subscriber_id)}/haku/{search_id}"
    form = client.get(url)
    assert form.status_code == 200 and "<title>Muokkaa hakua – Hankintavahti</title>" in form.text
    assert re.search(r'value="siivous"\s+checked', form.text)
    assert re.search(r'value="region:05" checked', form.text)  # a place the form does not offer is kept
    for field in ("keywords",):
        assert f'<label for="{field}">' in form.text

    answer = client.post(
        url,
        data={
            "csrf_token": token_of(form.text),
            "sectors": ["rakentaminen"],
            "regions": ["subregion:053", "nationwide"],
            "keywords": "katto, piha",
            "frequency": "weekly",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith(manage_path(mailer, subscriber_id))
    row = search(session_factory, search_id)
    assert row is not None and row.status == "active"
    assert (row.sectors, row.regions, row.include_nationwide) == (["rakentaminen"], ["subregion:053"], True)
    assert (row.keywords, row.frequency, row.excluded_keywords) == (["katto", "piha"], "weekly", ["kaupunki"])
    assert "Haku tallennettu" in client.get(manage_path(mailer, subscriber_id)).text


def test_a_bad_edit_shows_the_error_and_changes_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, subscriber_id = save(session_factory, mailer, "maija@siivous.test", sectors=["siivous"])
    url = f"{manage_path(mailer, subscriber_id)}/haku/{search_id}"
    token = token_of(client.get(url).text)
    answer = client.post(url, data={"csrf_token": token, "sectors": ["<b>olematon</b>"], "frequency": "daily"})
    assert answer.status_code == 400 and "Tuntematon toimiala" in answer.text and "<b>olematon" not in answer.text
    row = search(session_factory, search_id)
    assert row is not None and row.sectors == ["siivous"] and row.frequency == "instant"


def test_add_pause_resume_and_remove(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    search_id, subscriber_id = save(session_factory, mailer, "maija@siivous.test", sectors=["siivous"])
    base = manage_path(mailer, subscriber_id)
    token = token_of(client.get(f"{base}/uusi").text)

    added = client.post(f"{base}/uusi", data={"csrf_token": token, "sectors": ["rakentaminen"], "frequency": "daily"})
    assert added.status_code == 303
    with session_factory() as session:
        rows = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id)).all()
        new = [row for row in rows if row.id != search_id]
        assert len(new) == 1 and new[0].status == "active" and new[0].sectors == ["rakentaminen"]

    def indexed() -> set[int]:
        with session_factory() as session:
            return set(load_index(session).searches)

    assert search_id in indexed()
    assert client.post(f"{base}/haku/{search_id}/tauko", data={"csrf_token": token}).status_code == 303
    assert search(session_factory, search_id).status == "paused"  # type: ignore[union-attr]
    assert search_id not in indexed()  # a paused search does not match
    assert "tauolla" in client.get(base).text

    assert client.post(f"{base}/haku/{search_id}/jatka", data={"csrf_token": token}).status_code == 303
    assert search(session_factory, search_id).status == "active"  # type: ignore[union-attr]
    assert search_id in indexed()

    assert client.post(f"{base}/haku/{search_id}/lopeta", data={"csrf_token": token}).status_code == 303
    row = search(session_factory, search_id)
    assert row is not None and row.status == "unsubscribed" and row.ended_at is not None
    assert search_id not in indexed()
    assert client.post(f"{base}/haku/{search_id}/muuta", data={"csrf_token": token}).status_code == 404


def test_one_subscribers_link_cannot_read_or_change_anothers_search(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer
) -> None:
    _, subscriber_a = save(session_factory, mailer, "a@yritys.test", sectors=["siivous"])
    search_b, _ = save(session_factory, mailer, "b@yritys.test", sectors=["rakentaminen"])
    base = manage_path(mailer, subscriber_a)
    token = token_of(client.get(f"{base}/uusi").text)

    assert client.get(f"{base}/haku/{search_b}").status_code == 404
    edit = client.post(f"{base}/haku/{search_b}", data={"csrf_token": token, "sectors": ["siivous"]})
    assert edit.status_code == 404
    for action in ("tauko", "lopeta"):
        assert client.post(f"{base}/haku/{search_b}/{action}", data={"csrf_token": token}).status_code == 404
    row = search(session_factory, search_b)
    assert row is not None and row.sectors == ["rakentaminen"] and row.status == "active"
    assert "rakentaminen" not in client.get(base).text


@pytest.mark.parametrize("tamper", ["flip-last", "other-purpose"])
def test_a_forged_manage_token_shows_and_changes_nothing(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, tamper: str
) -> None:
    search_id, subscriber_id = save(session_factory, mailer, "maija@siivous.test")
    good = mailer.links.token("manage", subscriber_id)
    forged = (
        good[:-1] + ("A" if good[-1] != "A" else "B")
        if tamper == "flip-last"
        else mailer.links.token("unsubscribe-all", subscriber_id)
    )
    assert client.get(f"/tilaus/hallinta/{forged}").status_code == 400
    token = token_of(client.get(f"{manage_path(mailer, subscriber_id)}/uusi").text)
    answer = client.post(f"/tilaus/hallinta/{forged}/haku/{search_id}/lopeta", data={"csrf_token": token})
    assert answer.status_code == 400
    assert client.post(f"/tilaus/hallinta/{forged}/poista-tiedot", data={"csrf_token": token}).status_code == 400
    assert search(session_factory, search_id).status == "active"  # type: ignore[union-attr]


def test_delete_all_my_data_leaves_nothing_with_the_address(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, store: Store
) -> None:
    now = datetime.now(UTC)
    _, subscriber_id = save(session_factory, mailer, "poistuva@yritys.test")
    save(session_factory, mailer, "jaava@yritys.test")
    with session_scope(session_factory) as session:  # an unconfirmed search queues a confirmation message
        subscribe(session, mailer, email="poistuva@yritys.test", search=SearchRequest(), now=now)
    store(**FORSSA)
    record_alerts(session_factory)
    with session_factory() as session:
        assert session.scalars(select(Alert).where(Alert.subscriber_id == subscriber_id)).all()
        assert session.scalars(select(Message).where(Message.subscriber_id == subscriber_id)).all()

    base = manage_path(mailer, subscriber_id)
    confirm = client.get(f"{base}/poista-tiedot")
    assert confirm.status_code == 200 and "Poistetaanko kaikki tietosi?" in confirm.text
    assert present(session_factory, "poistuva@yritys.test")  # a GET deletes nothing

    done = client.post(f"{base}/poista-tiedot", data={"csrf_token": token_of(confirm.text)})
    assert done.status_code == 200 and "Tietosi on poistettu" in done.text

    assert present(session_factory, "poistuva@yritys.test") == []
    assert present(session_factory, "jaava@yritys.test")  # the other person's data stays
    with session_factory() as session:
        assert session.get(Subscriber, subscriber_id) is None
        assert session.scalars(select(Alert).where(Alert.subscriber_id == subscriber_id)).all() == []
    assert "Tilaajaa ei löydy" in client.get(base).text  # the old link answers sensibly


def present(session_factory: sessionmaker[Session], text: str) -> list[str]:
    """The tables where any column of any row contains ``text`` (JSON and text columns alike)."""
    found = []
    with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(*table.columns)).all():
                if any(text in str(value) for value in row):
                    found.append(table.name)
                    break
    return found
