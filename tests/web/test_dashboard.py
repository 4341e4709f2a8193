"""Staff dashboards: access control, crawl warnings, the per-day chart, subscriber counts, escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from models.crawl import CrawlRun
from models.db import session_scope
from models.notice import Notice
from models.outbox import Message
from models.subscriptions import Subscriber, Subscription
from tests.web.conftest import sign_in
from web.dashboard import CHART_DAYS, day_bounds

HELSINKI = ZoneInfo("Europe/Helsinki")
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def client(client: FlaskClient, staff_user: str) -> FlaskClient:
    """The shared client, with the staff account ``maija`` in the database."""
    return client


def add_run(session: Session, source: str, *, started: datetime, status: str = "finished", **values: object) -> None:
    finished = None if status == "running" else started + timedelta(minutes=3, seconds=5)
    session.add(CrawlRun(source=source, started_at=started, finished_at=finished, status=status, **values))


def add_notices(session: Session, source: str, fetched_at: datetime, count: int = 1, **values: object) -> None:
    for _ in range(count):
        number = session.info.setdefault("notice_number", [0])
        number[0] += 1
        session.add(Notice(source=source, source_id=f"{source}-{number[0]}", fetched_at=fetched_at, **values))


def healthy(session: Session, now: datetime) -> None:
    for source in ("hilma", "ted"):
        add_run(session, source, started=now - timedelta(hours=1), new=4)
        add_notices(session, source, now - timedelta(hours=1))


def warnings_of(page: str) -> list[str]:
    return re.findall(r'<li class="crawl-warning">(.*?)</li>', page, flags=re.S)


@pytest.mark.parametrize("path", ["/henkilokunta/haut", "/henkilokunta/tilaajat"])
def test_the_dashboards_need_a_login(client: FlaskClient, path: str) -> None:
    refused = client.get(path)
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/henkilokunta/kirjaudu?seuraava=")
    sign_in(client)
    page = client.get(path)
    assert page.status_code == 200
    assert "<title>" in page.text and 'lang="fi"' in page.text


def test_no_warning_when_both_sources_are_healthy(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        healthy(session, now)
        add_run(session, "hilma", started=now - timedelta(days=1), status="failed", message="vanha virhe")
    sign_in(client)
    page = client.get("/henkilokunta/haut").text
    assert warnings_of(page) == []
    assert 'class="ok-box"' in page and 'role="alert"' not in page
    assert "<title>Haun tila – Hankintavahti</title>" in page


@pytest.mark.parametrize("status, word", [("failed", "epäonnistui"), ("interrupted", "keskeytyi")])
def test_a_failed_or_interrupted_latest_run_warns(
    client: FlaskClient, session_factory: sessionmaker[Session], status: str, word: str
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        healthy(session, now)
        add_run(session, "ted", started=now - timedelta(minutes=20), status=status, message="yhteys katkesi")
    sign_in(client)
    page = client.get("/henkilokunta/haut").text
    (warning,) = warnings_of(page)
    assert warning.startswith("TED: viimeisin haku") and word in warning and "yhteys katkesi" in warning
    assert 'role="alert"' in page


def test_a_run_stuck_running_for_over_two_hours_warns(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        healthy(session, now)
        add_run(session, "hilma", started=now - timedelta(hours=3), status="running")
        add_run(session, "ted", started=now - timedelta(minutes=30), status="running")  # still fine
    sign_in(client)
    (warning,) = warnings_of(client.get("/henkilokunta/haut").text)
    assert warning.startswith("HILMA: haku, joka alkoi") and "käynnissä 3 tuntia" in warning


def test_a_source_that_collected_nothing_for_a_day_warns(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        add_run(session, "hilma", started=now - timedelta(hours=1))
        add_notices(session, "hilma", now - timedelta(hours=2))
        add_run(session, "ted", started=now - timedelta(hours=1))
        add_notices(session, "ted", now - timedelta(hours=25), count=3)
    sign_in(client)
    (warning,) = warnings_of(client.get("/henkilokunta/haut").text)
    assert warning.startswith("TED: yhtään ilmoitusta ei ole kerätty viimeisen vuorokauden aikana")


def test_register_lookups_are_shown_and_warn_only_when_they_fail_or_hang(
    client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        healthy(session, now)
        add_run(session, "prh", started=now - timedelta(days=3), new=7, unchanged=2)  # quiet days are normal
    sign_in(client)
    page = client.get("/henkilokunta/haut").text
    assert warnings_of(page) == []
    assert "Yritysrekisteri (PRH)" in page and '<td class="num">7</td><td class="num">2</td>' in page
    with session_scope(session_factory) as session:
        add_run(session, "prh", started=now - timedelta(minutes=5), status="failed", message="PRH vastasi 503")
        add_run(session, "prh", started=now - timedelta(hours=4), status="running")
    warnings = warnings_of(client.get("/henkilokunta/haut").text)
    assert len(warnings) == 2 and all(text.startswith("Yritysrekisteri (PRH): ") for text in warnings)
    assert "epäonnistui: PRH vastasi 503" in warnings[0] and "käynnissä 4 tuntia" in warnings[1]


def test_the_chart_counts_notices_per_helsinki_day(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(HELSINKI).date()
    # 00.30 Helsinki time on the day before yesterday is still the previous evening in UTC
    early = datetime.combine(today - timedelta(days=2), datetime.min.time(), tzinfo=HELSINKI) + timedelta(minutes=30)
    with session_scope(session_factory) as session:
        healthy(session, now)  # one notice each an hour ago
        add_notices(session, "hilma", early, count=3)
        add_notices(session, "hilma", early - timedelta(hours=1), count=2)  # the day before that
        add_notices(session, "ted", early, count=5, status="quarantined", error="rikki")
        add_notices(session, "hilma", now - timedelta(days=CHART_DAYS + 1), count=7)  # outside the chart
    sign_in(client)
    page = client.get("/henkilokunta/haut").text
    hilma, ted = (_chart_counts(page, source) for source in ("hilma", "ted"))
    assert len(hilma) == len(ted) == CHART_DAYS
    an_hour_ago = (now - timedelta(hours=1)).astimezone(HELSINKI).date()
    expected_hilma = {an_hour_ago: 1}
    expected_hilma[early.date()] = expected_hilma.get(early.date(), 0) + 3
    expected_hilma[early.date() - timedelta(days=1)] = 2
    assert {day: count for day, count in hilma.items() if count} == expected_hilma
    assert ted[early.date()] == 5 and sum(ted.values()) == 6
    table = re.search(r"HILMA: kerätyt ilmoitukset päivittäin.*?</table>", page, flags=re.S)
    assert table is not None
    day = early.date()
    assert f'<th scope="row">{day.day}.{day.month}.{day.year}</th><td class="num">3</td>' in table.group(0)


def _chart_counts(page: str, source: str) -> dict[date, int]:
    caption = page.index(f'id="chart-{source}-caption"')
    svg = page[caption : page.index("</svg>", caption)]
    return {
        date.fromisoformat(day): int(count) for day, count in re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', svg)
    }


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_day_bounds_are_helsinki_midnights(today: date) -> None:
    bounds = day_bounds(today, CHART_DAYS, HELSINKI)
    assert len(bounds) == CHART_DAYS + 1
    local = [moment.astimezone(HELSINKI) for moment in bounds]
    assert all(moment.hour == 0 and moment.minute == 0 for moment in local)
    assert local[-1].date() == today + timedelta(days=1) and local[0].date() == today - timedelta(days=CHART_DAYS - 1)


def test_runs_and_quarantine_are_shown_escaped(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        healthy(session, now)
        add_run(
            session,
            "hilma",
            started=now - timedelta(minutes=10),
            new=12,
            updated=3,
            unchanged=40,
            duplicate=2,
            failed=1,
            pages=5,
            errors=[f"virhe {HOSTILE}"],
            message=f"viesti {HOSTILE}",
        )
        add_notices(
            session,
            "ted",
            now,
            count=2,
            status="quarantined",
            error=f"ei luettavissa {HOSTILE}",
            url="javascript:alert(1)",
        )
    sign_in(client)
    page = client.get("/henkilokunta/haut").text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page
    assert '<strong id="quarantine-count">2</strong>' in page
    assert "Virheet (1)" in page and "3 min 5 s" in page
    assert re.search(
        r"<td>valmis</td>\s*<td>3 min 5 s</td>\s*"
        + r"\s*".join(f'<td class="num">{n}</td>' for n in (12, 3, 40, 2, 1, 5)),
        page,
    )


def test_the_subscribers_page_counts(client: FlaskClient, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as session:
        maija = Subscriber(email="maija@siivous.test", name=HOSTILE, company="Siivous Oy", created_at=now, bounces=2)
        pekka = Subscriber(email="pekka@rakennus.test", created_at=now, status="paused")
        session.add_all([maija, pekka])
        session.flush()
        session.add_all(
            [
                _search(maija, ["siivous"], ["subregion:053"]),
                _search(maija, ["siivous", "rakentaminen"], ["region:05"], frequency="weekly"),
                _search(pekka, ["rakentaminen"], ["subregion:053"], status="unconfirmed"),
                _search(pekka, [], [], status="active", keywords=[HOSTILE]),
            ]
        )
        for index, status in enumerate(["sent", "sent", "sent", "pending", "rejected"]):
            session.add(_message(maija, index, status, now))
        session.add(_message(pekka, 9, "rejected", now))
    sign_in(client)
    page = client.get("/henkilokunta/tilaajat").text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert _table(page, "by-sector") == {"Siivous ja puhtaanapito": 2, "Rakennusurakat ja korjausrakentaminen": 1}
    assert _table(page, "by-region") == {"Forssan seutukunta": 1, "Kanta-Häme": 1}
    assert 'id="total-subscribers">2 (aktiivinen 1, tauolla 1)' in page
    assert 'id="total-searches">4 (odottaa vahvistusta 1, voimassa 3)' in page
    assert 'id="total-messages">6 (odottaa 1, lähetetty 3, hylätty 2)' in page
    assert "lähetetty 3, odottaa 1,\n          hylätty 1" in page
    assert "maanantaisin" not in page and "viikoittain" in page
    assert "odottaa vahvistusta" in page and "Siivous Oy" in page and "tauolla" in page


def _search(subscriber: Subscriber, sectors: list[str], regions: list[str], **values: object) -> Subscription:
    values.setdefault("status", "active")
    return Subscription(
        subscriber_id=subscriber.id, sectors=sectors, regions=regions, created_at=subscriber.created_at, **values
    )


def _message(subscriber: Subscriber, index: int, status: str, now: datetime) -> Message:
    return Message(
        subscriber_id=subscriber.id,
        kind="instant",
        to_address=subscriber.email,
        subject="Aihe",
        text="teksti",
        html="<p>teksti</p>",
        message_id_header=f"<{subscriber.id}-{index}@hankintavahti.test>",
        status=status,
        next_attempt_at=now,
        created_at=now,
    )


def _table(page: str, table_id: str) -> dict[str, int]:
    start = page.index(f'id="{table_id}"')
    body = page[start : page.index("</table>", start)]
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="num">(\d+)</td>', body)
    return {name: int(count) for name, count in rows}
