"""Alerts end to end on SQLite and PostgreSQL, through a real SMTP server on loopback.

Tenders are stored the way the crawler stores them (``store_item``: parsed item →
notice → tender → classification); searches are saved with the same code the command
line and the web use; emails go over SMTP to the scriptable aiosmtpd server. The
questions are the users': did the alert arrive, once, saying the right thing; does
nothing get lost or doubled when the mail server misbehaves; does a correction reach
exactly those who were told.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Mailer
from alerts.delivery import retry_wait
from alerts.runs import send_alerts, send_digest
from alerts.subscribe import SearchRequest, subscribe
from config.settings import Settings, load_settings
from crawler.items import NoticeItem, Organisation, Place
from crawler.store import store_item
from models.db import session_scope
from models.outbox import Alert, Message
from models.subscriptions import Subscriber, Subscription
from tests.alerts.smtp_server import SmtpTestServer
from tests.conftest import MakeNotice

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 12.00 in Helsinki

FORSSA = {"places": [Place(nuts="FI1C2", town="Forssa", postcode="30100")]}
LAHTI = {
    "places": [Place(nuts="FI1C3", town="Lahti", postcode="15100")],
    "buyers": [Organisation(name="Lahden kaupunki", business_id="0158651-7", town="Lahti", nuts="FI1C3")],
}
TAMPERE = {
    "places": [Place(nuts="FI197", town="Tampere", postcode="33100")],
    "buyers": [Organisation(name="Tampereen kaupunki", business_id="0211675-2", town="Tampere", nuts="FI197")],
}


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SMTP_URL": smtp_server.url,
            "MAIL_FROM": "Hankintavahti <vahti@hankintavahti.test>",
            "BASE_URL": "https://hankintavahti.test",
            "SECRET_KEY": "test-secret-key",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        env_file=Path(os.devnull),
    )


@pytest.fixture
def mailer(settings: Settings) -> Mailer:
    return Mailer.from_settings(settings)


Store = Callable[..., NoticeItem]


@pytest.fixture
def store(session_factory: sessionmaker[Session], make_notice: MakeNotice) -> Store:
    """Store a notice as the crawler would (published a day before NOW, deadline in two weeks)."""

    def put(**overrides: Any) -> NoticeItem:
        values: dict[str, Any] = {"published_at": NOW - timedelta(days=1), "deadline": NOW + timedelta(days=14)}
        values.update(overrides)
        item = make_notice(**values)
        with session_scope(session_factory) as session:
            store_item(session, item)
        return item

    return put


Save = Callable[..., int]


@pytest.fixture
def save(session_factory: sessionmaker[Session], mailer: Mailer) -> Save:
    """Save a confirmed search (unless confirmed=False) and return its id."""

    def put(email: str, *, confirmed: bool = True, name: str | None = None, **search: Any) -> int:
        with session_scope(session_factory) as session:
            subscription = subscribe(
                session,
                mailer,
                email=email,
                search=SearchRequest(**search),
                now=NOW - timedelta(days=2),
                name=name,
                confirmed=confirmed,
            )
            return subscription.id

    return put


def received_by(server: SmtpTestServer, address: str) -> list[Any]:
    return [message for message in server.messages if address in message.recipients]


def text_of(received: Any) -> str:
    body = received.message.get_body(preferencelist=("plain",))
    return body.get_content()


def html_of(received: Any) -> str:
    return received.message.get_body(preferencelist=("html",)).get_content()


def count_rows(session_factory: sessionmaker[Session], model: Any, *where: Any) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# ---------------------------------------------------------------------------------------------------------------------


def test_a_matching_tender_arrives_once_as_one_email_per_subscriber(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("maija@siivous.test", name="Maija", sectors=["siivous"], regions=["subregion:053"])
    save("rakentaja@rakennus.test", sectors=["rakentaminen"], regions=["region:05"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    store(titles={"fi": "Jokioisten päiväkodin siivouspalvelut"}, places=[Place(town="Jokioinen")])
    store(titles={"fi": "Tampereen koulujen siivous"}, **TAMPERE)
    store(titles={"fi": "Lahden uimahallin siivous"}, **LAHTI)

    summary = send_alerts(settings, session_factory, now=NOW)

    maija = received_by(smtp_server, "maija@siivous.test")
    assert len(maija) == 1 and summary.delivery.sent == 1
    assert received_by(smtp_server, "rakentaja@rakennus.test") == []
    email = maija[0].message
    assert email["Subject"].startswith("2 uutta tarjouspyyntöä: siivous")
    text = text_of(maija[0])
    assert "Forssan koulujen ylläpitosiivous" in text and "Jokioisten päiväkodin siivouspalvelut" in text
    assert "Tampere" not in text and "Lahden uimahallin" not in text
    assert "Hei Maija" in text
    assert str(email["List-Unsubscribe"]).strip().startswith("<https://hankintavahti.test/tilaus/lopeta/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert 'style="' in html_of(maija[0])

    again = send_alerts(settings, session_factory, now=NOW + timedelta(minutes=15))
    assert (again.matched.new, again.composed, again.delivery.sent) == (0, 0, 0)
    assert len(smtp_server.messages) == 1


def test_keywords_find_inflected_forms_and_excluded_words_keep_tenders_out(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("ikkunat@pesu.test", keywords=["ikkunanpesu"], excluded_keywords=["Tampere"], regions=[])
    store(titles={"fi": "Koulujen ikkunanpesut 2027–2029"}, **FORSSA)
    store(titles={"fi": "Ikkunanpesupalvelut virastotaloon"}, **LAHTI)
    store(titles={"fi": "Ikkunanpesu Tampereen kouluissa"}, **TAMPERE)
    store(titles={"fi": "Lumityöt"}, **FORSSA)
    send_alerts(settings, session_factory, now=NOW)
    [email] = received_by(smtp_server, "ikkunat@pesu.test")
    text = text_of(email)
    assert "Koulujen ikkunanpesut" in text and "Ikkunanpesupalvelut" in text
    assert "Tampereen kouluissa" not in text and "Lumityöt" not in text


def test_an_unconfirmed_search_gets_only_its_confirmation_until_confirmed(
    settings: Settings,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    store: Store,
    save: Save,
    mailer: Mailer,
) -> None:
    search_id = save("uusi@yritys.test", confirmed=False, sectors=["siivous"], regions=["subregion:053"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    send_alerts(settings, session_factory, now=NOW)
    [confirmation] = received_by(smtp_server, "uusi@yritys.test")
    assert confirmation.message["Subject"] == "Vahvista Hankintavahdin tilaus"
    # The confirm token carries the second it was made: read it back rather than make a new one.
    [token] = re.findall(r"/tilaus/vahvista/(\S+)", text_of(confirmation))
    assert mailer.links.read("confirm", token) == search_id
    assert count_rows(session_factory, Alert) == 0

    from alerts.subscribe import confirm

    with session_scope(session_factory) as session:
        confirm(session, search_id, now=NOW)
        session.get_one(Subscription, search_id)
    store(titles={"fi": "Tammelan koulun siivous"}, places=[Place(town="Tammela")])
    send_alerts(settings, session_factory, now=NOW + timedelta(minutes=15))
    messages = received_by(smtp_server, "uusi@yritys.test")
    assert len(messages) == 2
    # alerts are about what is published from now on: the tender matched before confirming is not sent
    text = text_of(messages[1])
    assert "Forssan koulujen ylläpitosiivous" not in text
    assert "Tammelan koulun siivous" in text


def test_temporary_failures_retry_and_nothing_is_sent_twice(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("a@firma.test", sectors=["siivous"])
    save("b@firma.test", sectors=["siivous"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    smtp_server.fail_next(1, 451)
    first = send_alerts(settings, session_factory, now=NOW)
    assert (first.delivery.sent, first.delivery.deferred) == (1, 1)
    with session_factory() as session:
        waiting = session.scalars(select(Message).where(Message.status == "pending")).one()
        assert "451" in (waiting.last_error or "") and waiting.next_attempt_at == NOW + retry_wait(1)

    too_early = send_alerts(settings, session_factory, now=NOW + timedelta(seconds=30))
    assert too_early.delivery.attempted == 0
    later = send_alerts(settings, session_factory, now=NOW + retry_wait(1))
    assert later.delivery.sent == 1
    assert Counter(address for m in smtp_server.messages for address in m.recipients) == {
        "a@firma.test": 1,
        "b@firma.test": 1,
    }


def test_a_server_that_refuses_service_loses_nothing(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("a@firma.test", sectors=["siivous"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    smtp_server.answer_connect(421)
    down = send_alerts(settings, session_factory, now=NOW)
    assert (down.delivery.sent, down.delivery.deferred) == (0, 1)
    smtp_server.restore()
    up = send_alerts(settings, session_factory, now=NOW + timedelta(hours=1))
    assert up.delivery.sent == 1
    assert len(received_by(smtp_server, "a@firma.test")) == 1


def test_a_dropped_connection_mid_batch_loses_nothing_and_doubles_nothing(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    addresses = [f"yrittaja{number}@firma.test" for number in range(4)]
    for address in addresses:
        save(address, sectors=["siivous"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    smtp_server.drop_after(1)
    first = send_alerts(settings, session_factory, now=NOW)
    assert first.delivery.sent >= 1 and first.delivery.deferred >= 1
    send_alerts(settings, session_factory, now=NOW + timedelta(hours=4))
    assert Counter(address for m in smtp_server.messages for address in m.recipients) == dict.fromkeys(addresses, 1)
    assert count_rows(session_factory, Message, Message.status != "sent") == 0


def test_a_rejected_recipient_is_recorded_and_paused_after_repeated_rejections(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("poissa@firma.test", sectors=["siivous"])
    save("paikalla@firma.test", sectors=["siivous"])
    smtp_server.reject_recipient("poissa@firma.test", 550)
    for day in range(3):
        store(titles={"fi": f"Siivous {day + 1}"}, **FORSSA)
        send_alerts(settings, session_factory, now=NOW + timedelta(days=day))
    assert len(received_by(smtp_server, "paikalla@firma.test")) == 3
    with session_factory() as session:
        gone = session.scalars(select(Subscriber).where(Subscriber.email == "poissa@firma.test")).one()
        assert (gone.status, gone.bounces) == ("paused", 3)
        rejected = session.scalars(select(Message).where(Message.subscriber_id == gone.id)).all()
        assert [m.status for m in rejected] == ["rejected"] * 3 and "550" in (rejected[0].last_error or "")
    # paused: the next match is recorded but no email is built or sent
    store(titles={"fi": "Siivous 4"}, **FORSSA)
    send_alerts(settings, session_factory, now=NOW + timedelta(days=4))
    with session_factory() as session:
        waiting = session.scalars(select(Alert).where(Alert.subscriber_id == gone.id, Alert.message_id.is_(None)))
        assert len(waiting.all()) == 1
    assert count_rows(session_factory, Message, Message.status == "rejected") == 3


def test_a_correction_reaches_exactly_those_who_were_told(
    settings: Settings,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    store: Store,
    save: Save,
    make_notice: MakeNotice,
) -> None:
    save("kerrottu@firma.test", sectors=["siivous"], regions=["subregion:053"])
    save("muualla@firma.test", sectors=["siivous"], regions=["region:07"])
    first = store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    send_alerts(settings, session_factory, now=NOW)
    assert len(smtp_server.messages) == 1
    # a newcomer after the original was sent: gets the tender as new, not as a change
    save("myohemmin@firma.test", sectors=["siivous"], regions=["region:05"])

    moved = first.deadline + timedelta(days=7)
    store(
        kind="correction",
        procedure_id=first.procedure_id,
        changed_notice=first.full_notice_id,
        deadline=moved,
        published_at=NOW + timedelta(hours=1),
        titles=first.titles,
        **FORSSA,
    )
    send_alerts(settings, session_factory, now=NOW + timedelta(hours=2))
    [_original, change] = received_by(smtp_server, "kerrottu@firma.test")
    assert "muutos" in change.message["Subject"].lower()
    text = text_of(change)
    assert "Määräaika" in text and "7.12.2026" in text and "14.12.2026" in text
    [newcomer] = received_by(smtp_server, "myohemmin@firma.test")
    assert "muutos" not in newcomer.message["Subject"].lower() and "14.12.2026" in text_of(newcomer)
    assert received_by(smtp_server, "muualla@firma.test") == []

    # the cancellation is one more change for the one who was told
    store(
        kind="cancellation",
        procedure_id=first.procedure_id,
        changed_notice=first.full_notice_id,
        published_at=NOW + timedelta(days=1),
        titles=first.titles,
        change_reason="cancel",
        **FORSSA,
    )
    send_alerts(settings, session_factory, now=NOW + timedelta(days=1, hours=1))
    cancelled = received_by(smtp_server, "kerrottu@firma.test")[-1]
    assert "keskeytetty" in text_of(cancelled).lower()
    assert len(received_by(smtp_server, "kerrottu@firma.test")) == 3
    assert len(received_by(smtp_server, "myohemmin@firma.test")) == 2
    assert received_by(smtp_server, "muualla@firma.test") == []


def test_a_daily_digest_groups_by_sector_counts_and_is_built_once_per_period(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("kooste@firma.test", frequency="daily", sectors=["siivous", "rakentaminen"], regions=["region:05"])
    save("heti@firma.test", frequency="instant", sectors=["siivous"], regions=["region:05"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    store(titles={"fi": "Tammelan koulun siivous"}, places=[Place(town="Tammela")])
    store(
        titles={"fi": "Forssan uimahallin peruskorjaus"},
        cpv_main="45454000",
        deadline=NOW + timedelta(days=3),
        **FORSSA,
    )
    instant = send_alerts(settings, session_factory, now=NOW)
    assert received_by(smtp_server, "kooste@firma.test") == [] and instant.delivery.sent == 1

    morning = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday 07.00 in Helsinki
    digest = send_digest(settings, session_factory, "daily", now=morning)
    assert digest.composed == 1 and digest.period is not None
    [email] = received_by(smtp_server, "kooste@firma.test")
    subject = email.message["Subject"]
    assert subject.startswith("Päiväkooste") and "3 uutta" in subject
    text = text_of(email)
    assert "Siivous ja puhtaanapito (2)" in text and "Rakennusurakat ja korjausrakentaminen (1)" in text
    assert "Määräaika lähestyy" in text
    assert text.index("Forssan uimahallin peruskorjaus") != text.rindex("Forssan uimahallin peruskorjaus")

    again = send_digest(settings, session_factory, "daily", now=morning + timedelta(minutes=5))
    assert again.period_done_before and again.composed == 0
    assert len(received_by(smtp_server, "kooste@firma.test")) == 1
    assert len(received_by(smtp_server, "heti@firma.test")) == 1


def test_a_weekly_digest_waits_for_monday_morning(
    settings: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer, store: Store, save: Save
) -> None:
    save("viikko@firma.test", frequency="weekly", sectors=["siivous"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    send_alerts(settings, session_factory, now=NOW)  # Monday noon: recorded after this week's digest
    early = send_digest(settings, session_factory, "weekly", now=NOW + timedelta(days=3))
    assert early.composed == 0  # the period that ended on Monday 07.00 had no matches
    next_monday = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    on_time = send_digest(settings, session_factory, "weekly", now=next_monday)
    assert on_time.composed == 1
    [email] = received_by(smtp_server, "viikko@firma.test")
    assert email.message["Subject"].startswith("Viikkokooste 23.–29.11.2026")


def test_nothing_is_sent_to_someone_who_stopped_everything_while_an_email_waited(
    settings: Settings,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    store: Store,
    save: Save,
) -> None:
    from alerts.subscribe import unsubscribe_all

    save("lopettaja@firma.test", sectors=["siivous"])
    store(titles={"fi": "Forssan koulujen ylläpitosiivous"}, **FORSSA)
    smtp_server.answer_connect(421)
    assert send_alerts(settings, session_factory, now=NOW).delivery.deferred == 1
    with session_scope(session_factory) as session:
        subscriber = session.scalars(select(Subscriber)).one()
        unsubscribe_all(session, subscriber.id, now=NOW)
    smtp_server.restore()
    later = send_alerts(settings, session_factory, now=NOW + timedelta(hours=1))
    assert later.delivery.sent == 0 and smtp_server.messages == []
    assert count_rows(session_factory, Message, Message.status == "cancelled") == 1
