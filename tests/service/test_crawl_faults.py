"""Crawl faults that ``test_crawl_hilma.py`` and ``test_crawl_ted.py`` do not cover, on both sources.

Each test breaks the stand-in (or the database) the way a real source breaks, then
checks the three promises of a crawl: it records what failed, its watermark does not
pass what was stored, and the next run collects everything the stand-in lists.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from config.settings import load_settings
from crawler.standins import HilmaStandIn, TedStandIn
from crawler.standins.sample import SampleData
from models.crawl import CrawlRun
from models.db import session_scope
from models.notice import Notice
from models.staff import add_staff_user
from tests.conftest import POSTGRESQL_ADMIN_URL
from tests.service.conftest import (
    API_KEY,
    COMMAND,
    RunCommand,
    count_notices,
    more_notices,
    more_ted_notices,
    stored_ids,
)
from tests.service.test_crawl_hilma import ENRICH, listed_ids, runs
from tests.service.test_crawl_hilma import SEARCH as HILMA_SEARCH
from tests.service.test_crawl_ted import SEARCH as TED_SEARCH
from tests.service.test_crawl_ted import ted_only
from tests.web.conftest import sign_in
from web import create_app

pytestmark = pytest.mark.e2e


def ted_listed(ted: TedStandIn) -> set[str]:
    return {notice.publication_number for notice in ted.notices}


def listed(source: str, hilma: HilmaStandIn, ted: TedStandIn) -> set[str]:
    return listed_ids(hilma) if source == "hilma" else ted_listed(ted)


def closed_port_url() -> str:
    """The address of a port nobody listens on: a source that is down refuses the connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_failed_without_moving_the_watermark(run: CrawlRun, *words: str) -> None:
    """The crawl record of a crawl that did not collect everything."""
    assert run.status == "failed", run
    assert run.watermark_after == run.watermark_before
    assert run.errors, "a failed crawl records why"
    for word in words:
        assert any(word in error for error in run.errors), (word, run.errors)


@pytest.fixture
def big_hilma(hilma: HilmaStandIn, sample: SampleData) -> HilmaStandIn:
    """The sample plus 230 more notices: three pages of 100."""
    for document, xml in more_notices(sample, 230):
        hilma.publish(document, xml)
    return hilma


@pytest.fixture
def big_ted(ted: TedStandIn, sample: SampleData) -> TedStandIn:
    """The sample plus 180 more TED-only notices: three pages of 100."""
    for notice in more_ted_notices(sample, 180):
        ted.publish(notice)
    return ted


# --- the source ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["hilma", "ted"])
def test_a_source_that_is_down_fails_the_crawl_and_the_next_run_collects_everything(
    hankintavahti: RunCommand,
    hilma: HilmaStandIn,
    ted: TedStandIn,
    session_factory: sessionmaker[Session],
    source: str,
) -> None:
    down = hankintavahti("crawl", source, HILMA_API_URL=closed_port_url(), TED_API_URL=closed_port_url())
    assert down.returncode == 1
    assert "haku epäonnistui" in down.stdout and "Traceback" not in down.output, down.output
    (run,) = runs(session_factory, source)
    assert_failed_without_moving_the_watermark(run, "ConnectionRefusedError")
    assert count_notices(session_factory) == 0

    up = hankintavahti("crawl", source)
    assert up.returncode == 0, up.output
    assert stored_ids(session_factory, source) == listed(source, hilma, ted)


@pytest.mark.parametrize(
    ("source", "path"),
    [("hilma", HILMA_SEARCH), ("hilma", ENRICH), ("ted", TED_SEARCH), ("ted", "/en/notice/")],
    ids=["hilma-search", "hilma-enrichment", "ted-search", "ted-xml"],
)
def test_an_answer_slower_than_the_timeout_is_asked_again(
    hankintavahti: RunCommand,
    hilma: HilmaStandIn,
    ted: TedStandIn,
    session_factory: sessionmaker[Session],
    source: str,
    path: str,
) -> None:
    standin = hilma if source == "hilma" else ted
    standin.add_fault(path, kind="delay", seconds=3, times=2)
    done = hankintavahti("crawl", source, CRAWL_TIMEOUT_SECONDS="0.5")
    assert done.returncode == 0, done.output
    assert [r.fault for r in standin.requests if r.path.startswith(path)][:3] == ["delay", "delay", None]
    assert stored_ids(session_factory, source) == listed(source, hilma, ted)
    assert count_notices(session_factory, enrichment="missing") == 0


def test_a_listing_that_keeps_timing_out_fails_the_crawl_and_the_next_run_collects_everything(
    hankintavahti: RunCommand, big_hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    big_hilma.add_fault(HILMA_SEARCH, kind="delay", seconds=2, after=1, times=-1)  # page 2 never comes in time
    failed = hankintavahti("crawl", "hilma", CRAWL_TIMEOUT_SECONDS="0.5")
    assert failed.returncode == 1 and "Traceback" not in failed.output, failed.output
    (run,) = runs(session_factory)
    assert_failed_without_moving_the_watermark(run, "TimeoutError")
    assert 0 < len(stored_ids(session_factory, "hilma")) < len(listed_ids(big_hilma))

    big_hilma.clear_faults()
    again = hankintavahti("crawl", "hilma")
    assert again.returncode == 0, again.output
    assert stored_ids(session_factory, "hilma") == listed_ids(big_hilma)


def test_ted_answering_429_is_asked_again_after_retry_after_and_collects_everything(
    hankintavahti: RunCommand, ted: TedStandIn, session_factory: sessionmaker[Session]
) -> None:
    ted.add_fault(TED_SEARCH, kind="retry_after", seconds=1.5)
    done = hankintavahti("crawl", "ted")
    assert done.returncode == 0, done.output
    refused, retried = [r for r in ted.requests if r.path == TED_SEARCH][:2]
    assert refused.fault == "retry_after" and retried.fault is None
    assert retried.received_at - refused.received_at >= 1.4
    assert stored_ids(session_factory, "ted") == ted_listed(ted)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "times": 3},  # a burst as long as the retries (CRAWL_RETRIES=3)
        {"kind": "truncate"},
        {"kind": "html200"},
        {"kind": "disconnect"},
    ],
    ids=["503-burst", "truncated-json", "html-page-with-200", "dropped-connection"],
)
def test_passing_faults_of_the_ted_listing_mid_paging_are_retried_and_nothing_is_missing(
    hankintavahti: RunCommand, big_ted: TedStandIn, session_factory: sessionmaker[Session], fault: dict
) -> None:
    big_ted.add_fault(TED_SEARCH, after=1, **fault)
    done = hankintavahti("crawl", "ted")
    assert done.returncode == 0, done.output
    assert any(r.fault for r in big_ted.requests)
    assert stored_ids(session_factory, "ted") == ted_listed(big_ted)


def test_a_5xx_burst_mid_paging_of_hilma_is_waited_out(
    hankintavahti: RunCommand, big_hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    big_hilma.add_fault(HILMA_SEARCH, status=503, after=1, times=3)
    done = hankintavahti("crawl", "hilma")
    assert done.returncode == 0, done.output
    assert [r.fault for r in big_hilma.requests if r.path == HILMA_SEARCH] == [None, "status", "status", "status"] + [
        None
    ] * 2
    assert stored_ids(session_factory, "hilma") == listed_ids(big_hilma)


# --- empty pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["hilma", "ted"])
def test_an_empty_page_in_the_middle_of_paging_is_asked_again(
    hankintavahti: RunCommand,
    big_hilma: HilmaStandIn,
    big_ted: TedStandIn,
    session_factory: sessionmaker[Session],
    source: str,
) -> None:
    standin, path = (big_hilma, HILMA_SEARCH) if source == "hilma" else (big_ted, TED_SEARCH)
    standin.add_fault(path, kind="empty", after=1, times=1)
    done = hankintavahti("crawl", source)
    assert done.returncode == 0, done.output
    assert [r.fault for r in standin.requests if r.path == path][:3] == [None, "empty", None]
    assert stored_ids(session_factory, source) == listed(source, big_hilma, big_ted)


@pytest.mark.parametrize("source", ["hilma", "ted"])
def test_pages_that_stay_empty_fail_the_crawl_instead_of_ending_it_and_the_next_run_collects_everything(
    hankintavahti: RunCommand,
    big_hilma: HilmaStandIn,
    big_ted: TedStandIn,
    session_factory: sessionmaker[Session],
    source: str,
) -> None:
    standin, path = (big_hilma, HILMA_SEARCH) if source == "hilma" else (big_ted, TED_SEARCH)
    standin.add_fault(path, kind="empty", after=1, times=-1)
    failed = hankintavahti("crawl", source)
    assert failed.returncode == 1 and "Traceback" not in failed.output, failed.output
    (run,) = runs(session_factory, source)
    assert_failed_without_moving_the_watermark(run, "sivu")
    everything = listed(source, big_hilma, big_ted)
    assert 0 < len(stored_ids(session_factory, source)) < len(everything)

    standin.clear_faults()
    again = hankintavahti("crawl", source)
    assert again.returncode == 0, again.output
    assert stored_ids(session_factory, source) == everything


# --- malformed eForms XML --------------------------------------------------------------------------------------------


def test_malformed_xml_from_hilma_keeps_the_notice_from_the_index_records_it_and_is_read_next_time(
    hankintavahti: RunCommand, hilma: HilmaStandIn, sample: SampleData, session_factory: sessionmaker[Session]
) -> None:
    document = next(d for d in hilma.documents if d["isEForms"] and d["id"].startswith("EF-"))
    good_xml = sample.hilma_eforms[document["noticeId"]]
    hilma.publish(document, good_xml[: len(good_xml) // 3] + b"<cbc:Note>&broken;</cbc:Note>")
    first = hankintavahti("crawl", "hilma")
    assert first.returncode == 0, first.output
    assert stored_ids(session_factory, "hilma") == listed_ids(hilma)
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.source_id == document["id"])).one()
        assert notice.enrichment == "missing" and notice.status == "ok"
    (run,) = runs(session_factory)
    assert run.status == "finished" and any(document["id"] in error for error in run.errors), run.errors

    hilma.publish(document, good_xml)
    second = hankintavahti("crawl", "hilma")
    assert second.returncode == 0, second.output
    assert count_notices(session_factory, enrichment="missing") == 0
    assert stored_ids(session_factory, "hilma") == listed_ids(hilma)


def test_malformed_xml_from_ted_keeps_the_listing_records_it_and_is_read_next_time(
    hankintavahti: RunCommand, ted: TedStandIn, session_factory: sessionmaker[Session]
) -> None:
    number = ted.notices[0].publication_number
    ted.add_fault(f"/en/notice/{number}/xml", kind="truncate", times=-1)
    first = hankintavahti("crawl", "ted")
    assert first.returncode == 0, first.output
    assert stored_ids(session_factory, "ted") == ted_listed(ted)
    assert count_notices(session_factory, enrichment="missing") == 1
    (run,) = runs(session_factory, "ted")
    assert any(number in error for error in run.errors), run.errors

    ted.clear_faults()
    second = hankintavahti("crawl", "ted")
    assert second.returncode == 0, second.output
    assert count_notices(session_factory, enrichment="missing") == 0
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.source_id == number)).one()
        assert notice.payloads()["eforms"].lstrip().startswith(b"<")


# --- notices that cannot be read -------------------------------------------------------------------------------------


def test_an_unreadable_notice_is_quarantined_shown_to_staff_and_the_rest_of_the_crawl_goes_on(
    hankintavahti: RunCommand,
    hilma: HilmaStandIn,
    ted: TedStandIn,
    sample: SampleData,
    database_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    good_hilma = listed_ids(hilma)
    ((document, _xml),) = more_notices(sample, 1)
    hilma.publish({**document, "id": None})  # an index document without its key
    broken = ted.notices[0]
    ted.publish(dataclasses.replace(broken, fields={**broken.fields, "publication-number": ["ei numeroa"]}))

    done = hankintavahti("crawl", "all")
    assert done.returncode == 0, done.output
    with session_factory() as session:
        quarantined = session.scalars(
            select(Notice).where(Notice.status == "quarantined").order_by(Notice.source)
        ).all()
        assert [notice.source for notice in quarantined] == ["hilma", "ted"]
        assert all(notice.error and notice.tender_id is None for notice in quarantined)
        hilma_payload = quarantined[0].payloads()["hilma-index"]
        assert json.loads(hilma_payload)["noticeId"] == document["noticeId"]  # kept, to be read again
        ok = {
            (source, source_id)
            for source, source_id in session.execute(
                select(Notice.source, Notice.source_id).where(Notice.status == "ok")
            )
        }
    expected_ted = ted_only(ted, sample) - {broken.publication_number}  # TED's copies of HILMA notices are HILMA's
    assert ok == {("hilma", source_id) for source_id in good_hilma} | {("ted", number) for number in expected_ted}
    assert [run.status for run in runs(session_factory)] == ["finished"]

    settings = load_settings({"DATABASE_URL": database_url, "SECRET_KEY": "test"}, env_file=Path(os.devnull))
    with session_scope(session_factory) as session:
        add_staff_user(session, "Maija", "oikea-salasana-42", now=datetime.now(UTC))
    staff = create_app(settings, session_factory).test_client()
    sign_in(staff)
    page = staff.get("/henkilokunta/haut").text
    assert '<strong id="quarantine-count">2</strong>' in page
    for notice in quarantined:
        assert notice.source_id.startswith("unreadable-") and notice.source_id in page
        assert escape(notice.error) in page


def test_a_notice_dated_far_in_the_future_does_not_push_the_watermark_past_today(
    hankintavahti: RunCommand, hilma: HilmaStandIn, sample: SampleData, session_factory: sessionmaker[Session]
) -> None:
    ((typo, xml),) = more_notices(sample, 1)
    hilma.publish({**typo, "datePublished": "2962-05-04T09:30:00Z"}, xml)  # 2962 for 2026
    assert hankintavahti("crawl", "hilma").returncode == 0
    (run,) = runs(session_factory)
    assert run.watermark_after is not None and run.watermark_after <= datetime.now(UTC)

    ((later, xml),) = more_notices(sample, 1, published_at=datetime.now(UTC))
    later = {**later, "id": "EF-999999", "noticeId": 999_999}
    hilma.publish(later, xml)
    second = hankintavahti("crawl", "hilma")
    assert second.returncode == 0, second.output
    assert "EF-999999" in stored_ids(session_factory, "hilma")


# --- the database ----------------------------------------------------------------------------------------------------


@pytest.fixture
def database_switch(database_url: str) -> Iterator[Engine]:
    """An admin connection that can shut this test's PostgreSQL database and open it again."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the database going away is tested on PostgreSQL, the production database")
    admin = create_engine(POSTGRESQL_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = make_url(database_url).database
    yield admin
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
    admin.dispose()


@pytest.mark.postgresql
def test_the_database_going_away_mid_crawl_fails_the_crawl_and_the_next_run_collects_everything(
    hankintavahti: RunCommand,
    big_hilma: HilmaStandIn,
    database_url: str,
    database_switch: Engine,
    session_factory: sessionmaker[Session],
) -> None:
    name = make_url(database_url).database
    big_hilma.add_fault(HILMA_SEARCH, kind="delay", seconds=1, after=1, times=1)  # page 2 takes a second
    environment = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "HILMA_API_URL": big_hilma.base_url,
        "HILMA_API_KEY": API_KEY,
        "HILMA_RATE_LIMIT": "600000",
        "CRAWL_BACKOFF_SECONDS": "0.05",
        "CRAWL_RETRIES": "3",
    }
    process = subprocess.Popen(
        [str(COMMAND), "crawl", "hilma"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while len([r for r in big_hilma.requests if r.path == HILMA_SEARCH]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        with database_switch.connect() as connection:  # the server goes away: no connections, old ones cut
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
        time.sleep(4)
        with database_switch.connect() as connection:  # and comes back while the crawl is closing
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        stdout, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stdout + stderr
    assert "HILMA: haku epäonnistui" in stdout and "Traceback" not in stdout + stderr, stdout + stderr
    (run,) = runs(session_factory)
    assert_failed_without_moving_the_watermark(run, "OperationalError")
    collected = stored_ids(session_factory, "hilma")
    assert len(collected) < len(listed_ids(big_hilma))

    again = hankintavahti("crawl", "hilma")
    assert again.returncode == 0, again.output
    assert stored_ids(session_factory, "hilma") == listed_ids(big_hilma)
    assert count_notices(session_factory, enrichment="missing") == 0


@pytest.mark.postgresql
def test_a_notice_the_database_refuses_is_quarantined_and_the_crawl_goes_on(
    hankintavahti: RunCommand,
    hilma: HilmaStandIn,
    sample: SampleData,
    database_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    """PostgreSQL refuses a value longer than its column; the notice must not stop every crawl at the same place."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores a string of any length")
    good = listed_ids(hilma)
    ((document, xml),) = more_notices(sample, 1)
    hilma.publish({**document, "noticeNumber": "2026-" + "9" * 60}, xml)  # hilma_notice_number is VARCHAR(32)
    done = hankintavahti("crawl", "hilma")
    assert done.returncode == 0, done.output
    with session_factory() as session:
        refused = session.scalars(select(Notice).where(Notice.status == "quarantined")).one()
        assert refused.source_id == document["id"] and "tietokanta ei hyväksynyt" in (refused.error or "")
        assert "hilma-index" in refused.payloads()
    assert stored_ids(session_factory, "hilma") >= good
    assert [run.status for run in runs(session_factory)] == ["finished"]
