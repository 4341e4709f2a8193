"""Staff tender detail and review: access, evidence, raw payloads escaped, each review action, CSRF.

Tenders are stored the way the crawler stores them (``store_item``), and staff log in
through the real login form, so every action runs through login, CSRF and the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Place
from crawler.store import store_item
from models.classification import ClassificationOverride
from models.db import session_scope
from models.review import StaffPick, TenderReview
from models.tender import Tender
from tests.conftest import MakeNotice
from tests.web.conftest import Store as SharedStore
from tests.web.conftest import sign_in, token_of

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
Store = Callable[..., int]


@pytest.fixture
def client(client: FlaskClient, staff_user: str) -> FlaskClient:
    """The shared client, with the staff account ``maija`` in the database."""
    return client


@pytest.fixture
def store(store: SharedStore, session_factory: sessionmaker[Session]) -> Store:
    """Store a notice in Forssa (unless told) with the shared ``store``; the new tender's id, as the pages want it."""

    def put(**overrides: Any) -> int:
        store(**{**FORSSA, **overrides})
        with session_factory() as session:
            return session.scalars(select(Tender.id).order_by(Tender.id.desc()).limit(1)).one()

    return put


def post(client: FlaskClient, tender_id: int, form: str, **data: Any) -> Any:
    """POST one of the detail page's forms with the page's CSRF token, following the redirect back."""
    token = token_of(client.get(f"/henkilokunta/hankinnat/{tender_id}").text)
    return client.post(
        f"/henkilokunta/hankinnat/{tender_id}/{form}", data={"csrf_token": token, **data}, follow_redirects=True
    )


def tender(session_factory: sessionmaker[Session], tender_id: int) -> Tender:
    with session_factory() as session:
        row = session.get_one(Tender, tender_id)
        session.expunge(row)
        return row


# --- access -----------------------------------------------------------------------------------


def test_the_detail_page_redirects_to_the_login_when_logged_out(client: FlaskClient, store: Store) -> None:
    tender_id = store()
    refused = client.get(f"/henkilokunta/hankinnat/{tender_id}")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/henkilokunta/kirjaudu?seuraava=/henkilokunta/hankinnat/")


def test_actions_redirect_to_the_login_when_logged_out_and_change_nothing(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    client.get("/henkilokunta/kirjaudu")  # a session with a CSRF token, but no login
    with client.session_transaction() as session:
        token = session["csrf_token"]
    for form in ("arvio", "luokitus", "poiminta"):
        answer = client.post(f"/henkilokunta/hankinnat/{tender_id}/{form}", data={"csrf_token": token})
        assert answer.status_code == 302 and "/henkilokunta/kirjaudu" in answer.headers["Location"]
    with session_factory() as session:
        assert session.scalars(select(TenderReview)).all() == []
        assert session.scalars(select(StaffPick)).all() == []


def test_an_unknown_tender_is_a_finnish_404(client: FlaskClient) -> None:
    sign_in(client)
    page = client.get("/henkilokunta/hankinnat/999999")
    assert page.status_code == 404 and "Sivua ei löydy" in page.text


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, store: Store) -> None:
    tender_id = store()
    sign_in(client)
    answer = client.post(f"/henkilokunta/hankinnat/{tender_id}/arvio", data={"relevance": "relevant"})
    assert answer.status_code == 400 and "Lomakkeen tarkiste" in answer.text


# --- the detail page --------------------------------------------------------------------------


def test_the_detail_page_shows_fields_evidence_and_the_escaped_raw_payload(client: FlaskClient, store: Store) -> None:
    xml = b'<Notice><Title lang="fi">Siivous <script>alert(1)</script></Title></Notice>'
    tender_id = store(
        titles={"fi": "Forssan siivous <script>alert(1)</script>"},
        payloads={"eforms": xml, "hilma-index": b'{"id": "EF-1"}'},
    )
    sign_in(client)

    page = client.get(f"/henkilokunta/hankinnat/{tender_id}")

    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "<title>Hankinta" in page.text and "&lt;script&gt;" in page.text
    text = page.text.replace("\xa0", " ")
    assert "Koulutuskuntayhtymä Tavastia (0205303-4)" in text and "240 000 €" in text
    assert "061 Forssa" in text  # the municipality, named as `hankintavahti explain` names it
    assert "suorituspaikan kunta: &#34;Forssa&#34;" in text or "suorituspaikan kunta: &quot;Forssa&quot;" in text
    assert "CPV-koodi" in text  # sector evidence
    assert "<summary>Alkuperäinen aineisto: eforms</summary>" in text
    assert "&lt;Notice&gt;&lt;Title lang=" in text
    for field in ("review-note", "override-regions", "override-regions-note", "override-sectors-note", "pick-note"):
        assert f'<label for="{field}">' in text and f'id="{field}"' in text


def test_the_history_shows_what_a_correction_changed(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session], make_notice: MakeNotice
) -> None:
    now = datetime.now(UTC)
    first = make_notice(published_at=now - timedelta(days=2), deadline=now + timedelta(days=14), **FORSSA)
    correction = make_notice(
        kind="correction",
        procedure_id=first.procedure_id,
        changed_notice=first.full_notice_id,
        deadline=now + timedelta(days=21),
        published_at=now - timedelta(days=1),
        titles=first.titles,
        **FORSSA,
    )
    with session_scope(session_factory) as session:
        store_item(session, first)
        store_item(session, correction)
    with session_factory() as session:
        tender_id = session.scalars(select(Tender.id)).one()
    sign_in(client)

    page = client.get(f"/henkilokunta/hankinnat/{tender_id}").text

    assert "hankintailmoitus" in page and "korjausilmoitus" in page and f"HILMA {correction.source_id}" in page
    assert "Määräaika: " in page and " → " in page


# --- actions ----------------------------------------------------------------------------------


def test_marking_relevant_with_a_note_then_clearing(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    sign_in(client)

    page = post(client, tender_id, "arvio", relevance="relevant", note="Sopii Forssan yrityksille")

    assert "Arvio tallennettu." in page.text and "Sopii Forssan yrityksille" in page.text
    with session_factory() as session:
        review = session.get_one(TenderReview, tender_id)
        assert (review.relevance, review.note, review.reviewed_by) == ("relevant", "Sopii Forssan yrityksille", "maija")

    post(client, tender_id, "arvio", relevance="not_relevant", note="")
    post(client, tender_id, "arvio", relevance="", note="")
    with session_factory() as session:
        rows = session.scalars(select(TenderReview)).all()
        assert [(row.relevance, row.note) for row in rows] == [(None, None)]


def test_an_unknown_relevance_is_refused_with_a_finnish_message(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    sign_in(client)
    page = post(client, tender_id, "arvio", relevance="maybe")
    assert "Valitse, onko hankinta olennainen." in page.text
    with session_factory() as session:
        assert session.scalars(select(TenderReview)).all() == []


def test_a_region_override_reclassifies_and_bumps_the_revision_for_matching(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    sign_in(client)
    before = tender(session_factory, tender_id).revision

    page = post(client, tender_id, "luokitus", aspect="regions", action="set", regions="Lahti, koko maa", note="väärä")

    assert "Alueen korjaus tallennettu" in page.text
    with session_factory() as session:
        row = session.get_one(Tender, tender_id)
        assert row.revision > before and row.revision > row.matched_revision
        places = {(region.level, region.code) for region in row.regions}
        assert ("municipality", "398") in places and ("region", "07") in places
        assert ("municipality", "061") not in places and row.nationwide
        override = session.scalars(select(ClassificationOverride)).one()
        assert (override.author, override.note) == ("maija", "väärä")
    assert "Henkilökunnan korjaukset" in page.text and "maija" in page.text

    cleared = post(client, tender_id, "luokitus", aspect="regions", action="clear")
    assert "Alueen korjaus poistettu." in cleared.text
    with session_factory() as session:
        row = session.get_one(Tender, tender_id)
        assert ("municipality", "061") in {(region.level, region.code) for region in row.regions}


def test_a_sector_override_and_an_unknown_region_is_a_finnish_error(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    sign_in(client)

    post(client, tender_id, "luokitus", aspect="sectors", action="set", sectors=["ict"])
    refused = post(client, tender_id, "luokitus", aspect="regions", action="set", regions="Atlantis")

    assert "Aluetta ”Atlantis” ei tunneta." in refused.text
    with session_factory() as session:
        row = session.get_one(Tender, tender_id)
        assert [sector.slug for sector in row.sectors] == ["ict"]
        assert session.scalars(select(ClassificationOverride.aspect)).all() == ["sectors"]


def test_picking_for_the_weekly_digest_once_and_unpicking(
    client: FlaskClient, store: Store, session_factory: sessionmaker[Session]
) -> None:
    tender_id = store()
    sign_in(client)

    page = post(client, tender_id, "poiminta", action="pick", note="Hyvä treffeille")
    post(client, tender_id, "poiminta", action="pick")  # a second pick is the same pick

    assert "Poimittu seuraavaan viikkokoosteeseen." in page.text and "Peru poiminta" in page.text
    with session_factory() as session:
        picks = session.scalars(select(StaffPick)).all()
        assert [(p.tender_id, p.picked_by, p.note, p.digest_run_id) for p in picks] == [
            (tender_id, "maija", "Hyvä treffeille", None)
        ]

    post(client, tender_id, "poiminta", action="unpick")
    with session_factory() as session:
        assert session.scalars(select(StaffPick)).all() == []
