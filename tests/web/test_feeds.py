"""Per-search feeds from signed URLs: Atom of the new matches, iCalendar of the open matches' deadlines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.record import record_alerts
from alerts.subscribe import SearchRequest, subscribe, unsubscribe
from crawler.items import Place
from models.db import session_scope
from tests.web.conftest import Store, path, tender_id
from web.feeds import escape_text, fold

ATOM = "{http://www.w3.org/2005/Atom}"
FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
TAMPERE = {"places": [Place(nuts="FI197", town="Tampere", postcode="33100")]}


def save(session_factory: sessionmaker[Session], mailer: Mailer, email: str, **search: Any) -> int:
    with session_scope(session_factory) as session:
        return subscribe(
            session, mailer, email=email, search=SearchRequest(**search), now=datetime.now(UTC), confirmed=True
        ).id


def put(store: Store, session_factory: sessionmaker[Session], title: str, **values: Any) -> int:
    """Store a tender with the shared ``store``; its id, which the feeds link to."""
    store(title, **values)
    return tender_id(session_factory, title)


def test_atom_lists_the_searchs_new_matches_newest_first_escaped(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, store: Store
) -> None:
    now = datetime.now(UTC)
    forssa = save(session_factory, mailer, "maija@siivous.test", regions=["subregion:053"])
    save(session_factory, mailer, "tiina@tampere.test", regions=["municipality:837"])
    first = put(store, session_factory, "Forssan koulujen siivous", **FORSSA)
    record_alerts(session_factory, now=now - timedelta(hours=2))
    put(store, session_factory, "<script>alert(1)</script> & Forssan piha", **FORSSA)
    put(store, session_factory, "Tampereen siivous", **TAMPERE)
    record_alerts(session_factory, now=now - timedelta(hours=1))

    answer = client.get(path(mailer.links.feed(forssa, "atom")))

    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    assert b"<script>" not in answer.data
    feed = etree.fromstring(answer.data)
    assert feed.tag == f"{ATOM}feed" and feed.findtext(f"{ATOM}id") and feed.findtext(f"{ATOM}updated")
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == [
        "<script>alert(1)</script> & Forssan piha",
        "Forssan koulujen siivous",
    ]
    assert entries[1].find(f"{ATOM}link").get("href") == f"https://hankintavahti.test/hankinnat/{first}"
    assert "Määräaika" in entries[1].findtext(f"{ATOM}summary")


def unfolded(body: str) -> list[str]:
    return body.replace("\r\n ", "").split("\r\n")


def test_icalendar_has_the_deadlines_of_open_matching_tenders_in_rfc_5545_form(
    client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer, store: Store
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    search = save(session_factory, mailer, "maija@siivous.test", regions=["subregion:053"])
    deadline = now + timedelta(days=3, hours=5)
    long_title = "Forssan koulujen, päiväkotien; ja virastojen siivous \\ " + "ä" * 60
    open_id = put(store, session_factory, long_title, deadline=deadline, **FORSSA)
    put(store, session_factory, "Forssan vanha siivous", deadline=now - timedelta(days=1), **FORSSA)
    put(store, session_factory, "Tampereen siivous", **TAMPERE)

    answer = client.get(path(mailer.links.feed(search, "ics")))

    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    body = answer.data.decode("utf-8")
    assert body.endswith("\r\n") and "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in body.split("\r\n"))
    lines = unfolded(body)
    assert lines[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in lines and lines[-2] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 1
    assert f"UID:hankinta-{open_id}@hankintavahti.test" in lines
    assert f"DTSTART:{deadline.astimezone(UTC):%Y%m%dT%H%M%SZ}" in lines
    assert any(re.fullmatch(r"DTSTAMP:\d{8}T\d{6}Z", line) for line in lines)
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:" + escape_text(f"Määräaika: {long_title}")
    assert "\\, päiväkotien\\; ja" in summary and "\\\\" in summary
    assert f"URL:https://hankintavahti.test/hankinnat/{open_id}" in lines
    description = next(line for line in lines if line.startswith("DESCRIPTION:Hankkija"))
    assert "\\n" in description and f"hankinnat/{open_id}" in description


def test_forged_or_stopped_feeds(client: FlaskClient, session_factory: sessionmaker[Session], mailer: Mailer) -> None:
    search = save(session_factory, mailer, "maija@siivous.test")
    good = mailer.links.token("feed", search)
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in (forged, mailer.links.token("manage", search), mailer.links.token("feed", search + 1000)):
        assert client.get(f"/syote/{token}.atom").status_code == 404
        assert client.get(f"/syote/{token}.ics").status_code == 404
    with session_scope(session_factory) as session:
        unsubscribe(session, [search], now=datetime.now(UTC))
    assert client.get(f"/syote/{good}.ics").status_code == 410


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_folding_keeps_every_line_within_75_octets_and_unfolds_to_the_original(text: str) -> None:
    line = "SUMMARY:" + escape_text(text)
    folded = fold(line)
    assert all(len(piece.encode("utf-8")) <= 75 for piece in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
    assert "\n" not in line and "\r" not in line


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_text_escaping_round_trips(text: str) -> None:
    escaped = escape_text(text)
    unescaped = re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), escaped)
    assert unescaped == text
