"""``hankintavahti crawl prh`` end to end: stored awards → the register stand-in on loopback → ``companies``.

The command runs in its own process as a user (or the scheduler) runs it, against
this test's database (SQLite and PostgreSQL) and a PRH stand-in serving the sample's
Finnish organisations. The stand-in's request log shows who was asked, and when.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Award, Organisation
from crawler.standins.prh import COMPANIES_PATH, PrhStandIn, error_body, prh_standin
from crawler.store import store_item
from models.company import Company
from models.crawl import CrawlRun
from models.db import session_scope
from tests.conftest import MakeNotice

pytestmark = pytest.mark.e2e

COMMAND = Path(sys.executable).with_name("hankintavahti")

#: Sample firms the stand-in knows: (business ID, municipality of the visiting address).
PAROLAN_TAKSI = ("2471684-7", "082")  # Parola, Hattula
LINNAN_VALVONTA = ("0359468-4", "109")  # Hämeenlinna
PIRKAN_PROJEKTIT = ("2520545-9", "837")  # Tampere
#: Valid Finnish business IDs (right check digit) that nobody in the sample has.
UNKNOWN = ("1234567-1", "7654321-2")


@dataclass
class Run:
    returncode: int
    output: str


@pytest.fixture
def prh() -> Iterator[PrhStandIn]:
    with prh_standin() as standin:
        yield standin


@pytest.fixture
def crawl_prh(database_url: str, prh: PrhStandIn, tmp_path: Path) -> Callable[..., Run]:
    """``crawl_prh(**env)``: ``hankintavahti crawl prh`` against this test's database and stand-in."""

    def run(**env: str) -> Run:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "PRH_API_URL": prh.api_url,
            "PRH_RATE_LIMIT": "600000",  # a local stand-in: no politeness wait
            "CRAWL_BACKOFF_SECONDS": "0.05",
            "CRAWL_RETRIES": "2",
            "CRAWL_TIMEOUT_SECONDS": "5",
            **env,
        }
        done = subprocess.run(
            [str(COMMAND), "crawl", "prh"],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    return run


def winner(business_id: str, **location: str) -> Award:
    return Award(
        lot_id="LOT-0001",
        result="selec-w",
        winner=Organisation(name=f"Yritys {business_id}", business_id=business_id, **location),
        value=Decimal("50000"),
        currency="EUR",
    )


def store_award(session_factory: sessionmaker[Session], make_notice: MakeNotice, *awards: Award) -> None:
    """An award notice as the HILMA index gives one: winners with a name and a business ID."""
    notice = make_notice(kind="award", notice_type="can-standard", form_type="result", subtype="29", deadline=None)
    notice.awards = list(awards)
    with session_scope(session_factory) as session:
        store_item(session, notice)


def companies(session_factory: sessionmaker[Session]) -> dict[str, Company]:
    with session_factory() as session:
        return {company.business_id: company for company in session.scalars(select(Company))}


def prh_runs(session_factory: sessionmaker[Session]) -> list[CrawlRun]:
    with session_factory() as session:
        return list(session.scalars(select(CrawlRun).where(CrawlRun.source == "prh").order_by(CrawlRun.id)))


def test_winners_without_a_location_are_looked_up_once_and_unknown_firms_stay_unknown(
    crawl_prh: Callable[..., Run],
    prh: PrhStandIn,
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
) -> None:
    store_award(
        session_factory,
        make_notice,
        winner(PAROLAN_TAKSI[0]),
        winner("FI" + LINNAN_VALVONTA[0].replace("-", "")),  # the VAT spelling of the ID: the same firm
        winner(UNKNOWN[0]),
        winner(PIRKAN_PROJEKTIT[0], postcode="33100", town="Tampere"),  # the notice says where: not asked
        winner("556812-4471", country="SWE"),  # a Swedish firm: not in the Finnish register
        winner("1234567-2"),  # a wrong check digit: cannot be in the register
    )
    store_award(session_factory, make_notice, winner(PAROLAN_TAKSI[0]))  # the same firm in another award

    first = crawl_prh()
    assert first.returncode == 0, first.output
    assert "PRH: valmis – 3 yritystä haettu: 2 löytyi, 1 ei rekisterissä, 0 epäonnistui" in first.output
    assert sorted(prh.lookups()) == sorted([PAROLAN_TAKSI[0], LINNAN_VALVONTA[0], UNKNOWN[0]])
    stored = companies(session_factory)
    assert set(stored) == {PAROLAN_TAKSI[0], LINNAN_VALVONTA[0], UNKNOWN[0]}
    parola = stored[PAROLAN_TAKSI[0]]
    assert (parola.result, parola.municipality_code, parola.postcode, parola.town, parola.country) == (
        "found",
        "082",
        "13720",
        "Parola",
        "FI",
    )
    assert parola.name == "Parolan Taksi ja Tilausajo Oy"
    assert parola.record is not None and parola.record["businessId"]["value"] == PAROLAN_TAKSI[0]
    assert stored[LINNAN_VALVONTA[0]].municipality_code == LINNAN_VALVONTA[1]
    unknown = stored[UNKNOWN[0]]
    assert (unknown.result, unknown.municipality_code, unknown.name, unknown.record) == ("not_found", None, None, None)
    (run,) = prh_runs(session_factory)
    assert (run.status, run.new, run.unchanged, run.failed, run.pages) == ("finished", 2, 1, 0, 3)

    prh.clear_requests()
    second = crawl_prh()
    assert second.returncode == 0, second.output
    assert prh.lookups() == [], "a firm with an answer, found or not, is not asked again"
    assert "0 yritystä haettu" in second.output


def test_a_not_found_answer_is_asked_again_after_180_days(
    crawl_prh: Callable[..., Run],
    prh: PrhStandIn,
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
) -> None:
    store_award(session_factory, make_notice, winner(UNKNOWN[0]), winner(UNKNOWN[1]))
    assert crawl_prh().returncode == 0
    with session_scope(session_factory) as session:
        session.get_one(Company, UNKNOWN[0]).fetched_at = datetime.now(UTC) - timedelta(days=181)
        session.get_one(Company, UNKNOWN[1]).fetched_at = datetime.now(UTC) - timedelta(days=179)
    # The firm has registered since: the register knows it now.
    record = prh.company(PAROLAN_TAKSI[0])
    assert record is not None
    prh.add_company({**record, "businessId": {**record["businessId"], "value": UNKNOWN[0]}})
    prh.clear_requests()

    done = crawl_prh()
    assert done.returncode == 0, done.output
    assert prh.lookups() == [UNKNOWN[0]]
    stored = companies(session_factory)
    assert (stored[UNKNOWN[0]].result, stored[UNKNOWN[0]].municipality_code) == ("found", "082")
    assert stored[UNKNOWN[1]].result == "not_found"


def test_a_429_waits_as_long_as_retry_after_asks(
    crawl_prh: Callable[..., Run],
    prh: PrhStandIn,
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
) -> None:
    store_award(session_factory, make_notice, winner(PAROLAN_TAKSI[0]))
    prh.add_fault(COMPANIES_PATH, kind="retry_after", seconds=2)

    done = crawl_prh(CRAWL_BACKOFF_SECONDS="0.01")
    assert done.returncode == 0, done.output
    throttled, retried = prh.requests
    assert throttled.fault == "retry_after" and retried.fault is None
    assert retried.received_at - throttled.received_at >= 1.9  # the backoff alone would be 0.01 s
    assert companies(session_factory)[PAROLAN_TAKSI[0]].municipality_code == "082"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "body": '{"timestamp":"2026-11-26 08:00:00","message":"x","errorcode":503}'},
        {"kind": "status", "status": 500},
        {"kind": "truncate"},
        {"kind": "html200"},
        {"kind": "empty"},  # "1 result" with no company in it: broken, not "not found"
        {"kind": "disconnect"},
    ],
    ids=["503", "500", "truncated", "html-200", "emptied", "disconnect"],
)
def test_a_lookup_that_fails_stores_nothing_and_is_retried_on_the_next_run(
    crawl_prh: Callable[..., Run],
    prh: PrhStandIn,
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
    fault: dict[str, object],
) -> None:
    store_award(session_factory, make_notice, winner(PAROLAN_TAKSI[0]))
    prh.add_fault(COMPANIES_PATH, times=-1, **fault)  # type: ignore[arg-type]

    failed = crawl_prh()
    assert failed.returncode == 1, failed.output
    assert "PRH: haku epäonnistui" in failed.output and "Traceback" not in failed.output, failed.output
    assert len(prh.lookups()) == 3, "the first attempt and CRAWL_RETRIES=2 retries"
    assert companies(session_factory) == {}
    (run,) = prh_runs(session_factory)
    assert (run.status, run.new, run.unchanged, run.failed) == ("failed", 0, 0, 1)
    assert any(PAROLAN_TAKSI[0] in error for error in run.errors), run.errors

    prh.clear_faults()
    again = crawl_prh()
    assert again.returncode == 0, again.output
    assert companies(session_factory)[PAROLAN_TAKSI[0]].municipality_code == "082"


def test_a_register_that_keeps_failing_stops_the_run_after_three_firms(
    crawl_prh: Callable[..., Run],
    prh: PrhStandIn,
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
) -> None:
    firms = [PAROLAN_TAKSI[0], LINNAN_VALVONTA[0], PIRKAN_PROJEKTIT[0], *UNKNOWN]
    store_award(session_factory, make_notice, *(winner(firm) for firm in firms))
    prh.add_fault(COMPANIES_PATH, times=-1, status=503, body=str(error_body("Service Unavailable", 503)))

    failed = crawl_prh(CRAWL_RETRIES="1")
    assert failed.returncode == 1
    assert "3 kertaa peräkkäin" in failed.output, failed.output
    assert len(set(prh.lookups())) == 3, "the other two wait for the next run"
    (run,) = prh_runs(session_factory)
    assert run.failed == 3


def test_a_404_is_not_found_only_when_its_body_says_so(
    crawl_prh: Callable[..., Run],
    make_notice: MakeNotice,
    session_factory: sessionmaker[Session],
) -> None:
    store_award(session_factory, make_notice, winner(UNKNOWN[0]))
    with PrhStandIn([], not_found_status=404) as answers_404:
        done = crawl_prh(PRH_API_URL=answers_404.api_url)
    assert done.returncode == 0, done.output
    assert companies(session_factory)[UNKNOWN[0]].result == "not_found"

    store_award(session_factory, make_notice, winner(UNKNOWN[1]))
    with PrhStandIn([]) as wrong_address:
        misconfigured = crawl_prh(PRH_API_URL=wrong_address.base_url + "/v3")  # no such path: 404, not an envelope
    assert misconfigured.returncode == 1
    assert UNKNOWN[1] not in companies(session_factory)


def test_the_services_lookups_stop_when_the_service_is_asked_to(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler runs ``crawl prh`` after the alerts; SIGTERM to the service reaches it, once."""
    import threading
    import time

    from service import scheduler

    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('PRH: haku keskeytettiin', flush=True), sys.exit(1)))\n"
        "print('PRH: aloitettu', flush=True)\n"
        "time.sleep(60)\n"
    )
    monkeypatch.setattr(scheduler, "LOOKUP_COMMAND", [sys.executable, "-c", child])
    monkeypatch.setattr(scheduler, "STOPPING", threading.Event())
    threading.Timer(1.5, scheduler.STOPPING.set).start()
    started = time.monotonic()
    with caplog.at_level("INFO", logger="hankintavahti"):
        scheduler.look_up_companies()
    assert time.monotonic() - started < 10
    assert "PRH: aloitettu" in caplog.text and "PRH: haku keskeytettiin" in caplog.text
    assert "puuttuvat haetaan seuraavalla kerralla" in caplog.text


def test_the_sample_winners_without_an_address_are_placed_by_the_register_and_the_meter_counts_them(
    session_factory: sessionmaker[Session], crawl_prh: Callable[..., Run], prh: PrhStandIn
) -> None:
    """The whole way: stored sample → ``crawl prh`` against the stand-in → the meter equals the recount.

    The recount is told only what the register should say (from the sample's addresses); the
    companies table is filled by the lookups alone.
    """
    from crawler.classification.region_data import load_region_data
    from crawler.standins import load_sample
    from models.vitality import Filters, group_key, indicators, load_procedures
    from tests.models.test_vitality import assert_same
    from tests.sample_store import store_sample
    from tests.web.test_vitality_expected import expected_figures

    sample = load_sample()
    with session_scope(session_factory) as session:
        store_sample(session, sample)
    done = crawl_prh()
    assert done.returncode == 0, done.output
    without_address = [org for org in sample.organisations.values() if not org.address_in_notice]
    assert len(without_address) >= 2
    with session_factory() as session:
        answers = {company.business_id: company for company in session.scalars(select(Company))}
    assert {org.business_id for org in without_address} <= set(answers)  # each one asked, once
    # what the register should say of them: the municipality of the address the sample gives the firm
    postcodes = load_region_data().postcodes
    register = {org.business_id: postcodes[org.postcode] for org in without_address if org.postcode in postcodes}
    assert register, "the sample has a firm the register can place"
    assert {bid: answers[bid].municipality_code for bid in register} == register
    with session_scope(session_factory) as session:
        shown = {f.group: f for f in indicators(load_procedures(session), group_key("period", Filters(period="year")))}
    expected = expected_figures(sample, register=register, period="year")
    assert set(shown) == set(expected)
    for name, figures in expected.items():
        assert_same(shown[name], figures)
