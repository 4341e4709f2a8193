"""The public pages: the open tenders of Häme on the front page, the subscribe form, the tender page.

Tenders are stored the way the crawler stores them (``store_item``: notice → tender →
classification), relative to the real clock, because the pages list what is open now.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Organisation, Place
from crawler.store import store_item
from models.db import session_scope
from models.outbox import Message
from models.subscriptions import Subscriber, Subscription
from tests.conftest import MakeNotice
from tests.web.conftest import Store, tender_id, token_of

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
RIIHIMAKI = {
    "places": [Place(nuts="FI1C2", town="Riihimäki", postcode="11100")],
    "buyers": [Organisation(name="Riihimäen kaupunki", business_id="0133126-9", town="Riihimäki", nuts="FI1C2")],
}
LAHTI = {
    "places": [Place(nuts="FI1C3", town="Lahti", postcode="15100")],
    "buyers": [Organisation(name="Lahden kaupunki", business_id="0158651-7", town="Lahti", nuts="FI1C3")],
}
TAMPERE = {
    "places": [Place(nuts="FI197", town="Tampere", postcode="33100")],
    "buyers": [Organisation(name="Tampereen kaupunki", business_id="0211675-2", town="Tampere", nuts="FI197")],
}
ICT = {"cpv_main": "72000000", "descriptions": {"fi": "Ohjelmistokehitys ja ylläpito."}}


def titles_on(page: str) -> list[str]:
    return re.findall(r'class="tender-title" href="/hankinnat/\d+">([^<]*)</a>', page)


# --- front page -------------------------------------------------------------------------------


def test_the_front_page_lists_open_hame_tenders_soonest_deadline_first(client: FlaskClient, store: Store) -> None:
    now = datetime.now(UTC)
    store(titles={"fi": "Forssan koulujen siivous"}, deadline=now + timedelta(days=20), **FORSSA)
    store(titles={"fi": "Lahden katujen kunnossapito"}, deadline=now + timedelta(days=3), **LAHTI)
    store(titles={"fi": "Tampereen siivous"}, **TAMPERE)  # not in Häme
    store(titles={"fi": "Forssan vanha hankinta"}, deadline=now - timedelta(days=1), **FORSSA)  # closed
    store(titles={"fi": "Forssan ennakkotieto"}, kind="prior_information", **FORSSA)  # not open yet

    page = client.get("/")

    assert page.status_code == 200
    assert "<title>Hämeen avoimet julkiset hankinnat – Hankintavahti</title>" in page.text
    assert titles_on(page.text) == ["Lahden katujen kunnossapito", "Forssan koulujen siivous"]
    assert "2 avointa hankintaa." in page.text
    text = page.text.replace("\xa0", " ")
    assert "Lahden kaupunki" in text and "3 päivää aikaa" in text and "Arvioitu arvo 240 000 €" in text
    assert 'action="/tilaa"' in page.text and 'name="csrf_token"' in page.text


def test_the_filters_narrow_by_subregion_municipality_and_sector(client: FlaskClient, store: Store) -> None:
    store(titles={"fi": "Forssan koulujen siivous"}, **FORSSA)
    store(titles={"fi": "Riihimäen siivous"}, **RIIHIMAKI)
    store(titles={"fi": "Riihimäen ohjelmisto"}, **RIIHIMAKI, **ICT)
    store(titles={"fi": "Lahden siivous"}, **LAHTI)

    assert sorted(titles_on(client.get("/?seutukunta=052").text)) == ["Riihimäen ohjelmisto", "Riihimäen siivous"]
    assert titles_on(client.get("/?kunta=061").text) == ["Forssan koulujen siivous"]
    assert titles_on(client.get("/?seutukunta=052&toimiala=ict").text) == ["Riihimäen ohjelmisto"]
    assert sorted(titles_on(client.get("/?toimiala=siivous").text)) == [
        "Forssan koulujen siivous",
        "Lahden siivous",
        "Riihimäen siivous",
    ]
    assert "Ei avoimia hankintoja" in client.get("/?kunta=109").text  # Hämeenlinna: nothing there
    everything = client.get("/?seutukunta=999&kunta=<x>&toimiala=tuntematon")  # unknown values are ignored
    assert everything.status_code == 200 and len(titles_on(everything.text)) == 4


def test_the_selects_offer_only_hame_places_by_finnish_name(client: FlaskClient) -> None:
    page = client.get("/").text
    assert "Forssan seutukunta" in page and "Lahden seutukunta" in page and ">Hattula<" in page
    assert "Tampere" not in page and "Helsinki" not in page
    assert ">Siivous ja puhtaanapito<" in page


def test_the_front_page_shows_fifty_and_counts_all(
    client: FlaskClient, session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        for day in range(55):
            item = make_notice(
                titles={"fi": f"Hankinta {day:02d}"},
                published_at=now - timedelta(days=1),
                deadline=now + timedelta(days=2 + day),
                **FORSSA,
            )
            store_item(session, item)
    page = client.get("/").text
    shown = titles_on(page)
    assert len(shown) == 50 and shown[0] == "Hankinta 00" and shown[-1] == "Hankinta 49"
    assert "55 avointa hankintaa, näytetään 50" in page


def test_the_front_page_needs_a_fixed_number_of_queries(client: FlaskClient, store: Store, engine: Any) -> None:
    for number in range(6):
        store(titles={"fi": f"Siivous {number}"}, **FORSSA)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client.get("/")
    few = len(statements)
    for number in range(6, 20):
        store(titles={"fi": f"Siivous {number}"}, **LAHTI)
    statements.clear()
    client.get("/")
    assert len(statements) == few, "the query count grows with the tenders: a query per tender in a loop"


# --- subscribe ----------------------------------------------------------------------------------


def test_subscribing_saves_an_unconfirmed_search_and_queues_the_confirmation(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    form = client.get("/tilaa")
    assert form.status_code == 200 and "<title>Tilaa hankintavahti – Hankintavahti</title>" in form.text
    answer = client.post(
        "/tilaa",
        data={
            "csrf_token": token_of(form.text),
            "email": " Maija@Siivous.test ",
            "name": "Maija Meikäläinen",
            "company": "Siivouspalvelu Meikäläinen",
            "sectors": ["siivous", "kiinteistonhoito"],
            "regions": ["subregion:053", "municipality:109", "region:07", "nationwide"],
            "keywords": "ikkunanpesu, , siivous",
            "frequency": "daily",
        },
    )
    assert answer.status_code == 200 and "Tarkista sähköpostisi" in answer.text
    assert "maija@siivous.test" in answer.text and "linkkiä" in answer.text
    with session_factory() as session:
        subscriber = session.scalars(select(Subscriber)).one()
        assert (subscriber.email, subscriber.name, subscriber.company) == (
            "maija@siivous.test",
            "Maija Meikäläinen",
            "Siivouspalvelu Meikäläinen",
        )
        search = session.scalars(select(Subscription)).one()
        assert (search.status, search.origin, search.frequency) == ("unconfirmed", "web", "daily")
        assert search.sectors == ["siivous", "kiinteistonhoito"]
        assert search.regions == ["subregion:053", "municipality:109", "region:07"]
        assert search.include_nationwide and search.keywords == ["ikkunanpesu", "siivous"]
        message = session.scalars(select(Message)).one()
        assert (message.kind, message.status, message.to_address) == ("confirmation", "pending", "maija@siivous.test")


def test_the_front_page_form_subscribes_too(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    page = client.get("/")
    answer = client.post(
        "/tilaa", data={"csrf_token": token_of(page.text), "email": "a@b.fi", "name": "Aino", "frequency": "weekly"}
    )
    assert answer.status_code == 200
    with session_factory() as session:
        assert session.scalars(select(Subscription.frequency)).one() == "weekly"


def test_a_bad_email_re_renders_the_form_with_the_message_and_the_values_kept(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    form = client.get("/tilaa")
    answer = client.post(
        "/tilaa",
        data={
            "csrf_token": token_of(form.text),
            "email": "maija.siivous.test",
            "name": "Maija",
            "company": "Oy Siisti Ab",
            "sectors": ["siivous"],
            "regions": ["municipality:061"],
            "keywords": "ikkunanpesu",
            "frequency": "weekly",
        },
    )
    assert answer.status_code == 400
    assert "Sähköpostiosoite" in answer.text and "ei kelpaa" in answer.text and 'id="email-error"' in answer.text
    assert 'value="maija.siivous.test"' in answer.text and 'value="Oy Siisti Ab"' in answer.text
    assert 'value="ikkunanpesu"' in answer.text
    assert re.search(r'value="siivous"\s+checked', answer.text)
    assert re.search(r'value="municipality:061"\s+checked', answer.text)
    assert re.search(r'value="weekly"\s+checked', answer.text)
    with session_factory() as session:
        assert session.scalars(select(Subscriber)).first() is None
        assert session.scalars(select(Message)).first() is None


def test_a_missing_name_or_an_unknown_sector_is_refused_in_finnish(client: FlaskClient) -> None:
    token = token_of(client.get("/tilaa").text)
    no_name = client.post("/tilaa", data={"csrf_token": token, "email": "a@b.fi"})
    assert no_name.status_code == 400 and "Kirjoita nimesi" in no_name.text
    odd = client.post("/tilaa", data={"csrf_token": token, "email": "a@b.fi", "name": "A", "sectors": "kaivos"})
    assert odd.status_code == 400 and "Tuntematon toimiala" in odd.text


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    answer = client.post("/tilaa", data={"email": "a@b.fi", "name": "Aino"})
    assert answer.status_code == 400 and "Lomake vanhentui" in answer.text
    with session_factory() as session:
        assert session.scalars(select(Subscriber)).first() is None


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(email=st.text(max_size=40), name=st.text(max_size=30), keywords=st.text(max_size=40))
def test_any_input_gets_a_page_never_an_error(client: FlaskClient, email: str, name: str, keywords: str) -> None:
    token = token_of(client.get("/tilaa").text)
    answer = client.post(
        "/tilaa", data={"csrf_token": token, "email": email, "name": name, "keywords": keywords, "frequency": "x"}
    )
    assert answer.status_code in (200, 400)
    assert "<script>" not in answer.text


# --- tender page ----------------------------------------------------------------------------------


def test_the_tender_page_tells_the_tender_and_its_history(
    client: FlaskClient, session_factory: sessionmaker[Session], store: Store
) -> None:
    first = store(titles={"fi": "Forssan koulujen siivous"}, **FORSSA)
    store(
        kind="correction",
        procedure_id=first.procedure_id,
        changed_notice=first.full_notice_id,
        deadline=first.deadline + timedelta(days=7),
        published_at=first.published_at + timedelta(hours=1),
        titles=first.titles,
        **FORSSA,
    )
    page = client.get(f"/hankinnat/{tender_id(session_factory, 'Forssan koulujen siivous')}")
    assert page.status_code == 200
    assert "<title>Forssan koulujen siivous – Hankintavahti</title>" in page.text
    text = page.text.replace("\xa0", " ")
    assert "Koulutuskuntayhtymä Tavastia" in text and "Forssa" in text and "Kanta-Häme" in text
    assert "Siivous ja puhtaanapito" in text and "Avoin" in text and "21 päivää aikaa" in text
    assert "240 000" in text and "Avoin menettely" in text
    assert "90911200" in text and "siivouspalvelut" in text.lower()
    assert "koulujen ja päiväkotien siivouspalvelut" in text
    assert (
        'href="https://tarjouspalvelu.fi/hameenlinna"' in text and 'href="https://www.hankintailmoitukset.fi/' in text
    )
    assert "hankintailmoitus" in text and "korjausilmoitus" in text
    assert "Määräaika:" in text and "→" in text


def test_hostile_notice_text_is_escaped_everywhere(
    client: FlaskClient, session_factory: sessionmaker[Session], store: Store
) -> None:
    hostile = '<script>alert("x")</script>'
    store(
        titles={"fi": f"Siivous {hostile}"},
        descriptions={"fi": hostile},
        documents_url="javascript:alert(1)",
        buyers=[Organisation(name=f"Kunta {hostile}", town="Forssa", nuts="FI1C2")],
        **FORSSA,
    )
    front = client.get("/").text
    page = client.get(f"/hankinnat/{tender_id(session_factory, f'Siivous {hostile}')}").text
    for text in (front, page):
        assert "<script>" not in text and "&lt;script&gt;" in text
    assert "javascript:" not in page


def test_an_unknown_tender_is_a_finnish_404(client: FlaskClient) -> None:
    for url in ("/hankinnat/999999", "/ei-tallaista-sivua"):
        answer = client.get(url)
        assert answer.status_code == 404 and "Sivua ei löydy" in answer.text
