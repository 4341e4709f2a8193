"""``hankintavahti crawl hilma`` against the HILMA stand-in: complete, incremental, polite, losing nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins import HilmaStandIn
from crawler.standins.sample import SampleData
from models.crawl import CrawlRun
from models.notice import Notice
from models.tender import Tender, TenderChange
from tests.service.conftest import COMMAND, RunCommand, count_notices, more_notices, stored_ids

pytestmark = pytest.mark.e2e

SEARCH = "/avp/eformnotices/docs/search"
ENRICH = "/avp-eforms/external-read/v1/notices"


def runs(session_factory: sessionmaker[Session], source: str = "hilma") -> list[CrawlRun]:
    with session_factory() as session:
        return list(session.scalars(select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id)))


def listed_ids(hilma: HilmaStandIn) -> set[str]:
    return {document["id"] for document in hilma.documents}


@pytest.fixture
def big_hilma(hilma: HilmaStandIn, sample: SampleData) -> HilmaStandIn:
    """The sample plus 230 more notices: the listing spans three pages of 100."""
    for document, xml in more_notices(sample, 230):
        hilma.publish(document, xml)
    return hilma


def test_a_crawl_collects_every_document_and_a_second_crawl_adds_nothing(
    hankintavahti: RunCommand, big_hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    first = hankintavahti("crawl", "hilma")
    assert first.returncode == 0, first.output
    assert stored_ids(session_factory, "hilma") == listed_ids(big_hilma)
    assert f"HILMA: valmis – {len(listed_ids(big_hilma))} uutta" in first.stdout
    assert "HILMA: sivu 3" in first.stderr  # progress, page by page
    searches = [r for r in big_hilma.requests if r.path == SEARCH]
    assert [r.json()["skip"] for r in searches] == [0, 100, 200]
    assert all(r.header("Ocp-Apim-Subscription-Key") == "test-key" for r in big_hilma.requests)
    assert max(len(r.query.get("id", [])) for r in big_hilma.requests if r.path == ENRICH) == 50
    assert count_notices(session_factory, enrichment="missing") == 0

    second = hankintavahti("crawl", "hilma")
    assert second.returncode == 0, second.output
    assert "HILMA: valmis – 0 uutta, 0 päivittynyttä" in second.stdout
    first_run, second_run = runs(session_factory)
    assert first_run.status == second_run.status == "finished"
    assert second_run.watermark_before == first_run.watermark_after is not None
    assert second_run.new == 0 and second_run.updated == 0


def test_a_crawl_that_fails_halfway_keeps_its_watermark_and_the_next_run_collects_everything(
    hankintavahti: RunCommand, big_hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    big_hilma.add_fault(SEARCH, after=1, times=-1, status=503)  # page 2 never comes
    failed = hankintavahti("crawl", "hilma")
    assert failed.returncode == 1
    assert "HILMA: haku epäonnistui" in failed.stdout and "Traceback" not in failed.output
    assert "Seuraava haku jatkaa edellisestä onnistuneesta kohdasta" in failed.stdout
    (run,) = runs(session_factory)
    assert run.status == "failed" and run.watermark_after is None and run.errors
    collected_before = stored_ids(session_factory, "hilma")
    assert 0 < len(collected_before) < len(listed_ids(big_hilma))

    big_hilma.clear_faults()
    again = hankintavahti("crawl", "hilma")
    assert again.returncode == 0, again.output
    assert stored_ids(session_factory, "hilma") == listed_ids(big_hilma)
    assert runs(session_factory)[-1].new == len(listed_ids(big_hilma)) - len(collected_before)


def test_a_notice_published_between_crawls_is_the_one_new_notice(
    hankintavahti: RunCommand, hilma: HilmaStandIn, sample: SampleData, session_factory: sessionmaker[Session]
) -> None:
    assert hankintavahti("crawl", "hilma").returncode == 0
    ((document, xml),) = more_notices(sample, 1, published_at=datetime.now(UTC))
    hilma.publish(document, xml)
    second = hankintavahti("crawl", "hilma")
    assert "HILMA: valmis – 1 uusi, 0 päivittynyttä" in second.stdout, second.output
    assert document["id"] in stored_ids(session_factory, "hilma")


def test_a_rejected_key_stops_the_crawl_with_one_line_that_says_what_to_do(
    hankintavahti: RunCommand, hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    done = hankintavahti("crawl", "hilma", HILMA_API_KEY="wrong-key")
    assert done.returncode == 1
    assert "HILMA hylkäsi avaimen HILMA_API_KEY (HTTP 401)" in done.stdout
    assert "avp-read" in done.stdout and "Traceback" not in done.output
    assert len([r for r in hilma.requests if r.path == SEARCH]) == 1  # a 401 is not retried
    assert runs(session_factory)[0].status == "failed"


def test_a_missing_key_is_one_line_before_anything_is_fetched(hankintavahti: RunCommand, hilma: HilmaStandIn) -> None:
    done = hankintavahti("crawl", "hilma", HILMA_API_KEY="")
    assert done.returncode == 1
    assert done.stderr.startswith("hankintavahti: HILMA_API_KEY puuttuu. Hae maksuton avp-read-avain")
    assert done.stderr.count("\n") == 1 and not hilma.requests


def test_a_429_waits_as_long_as_retry_after_asks_and_collects_everything(
    hankintavahti: RunCommand, hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    hilma.add_fault(SEARCH, kind="retry_after", seconds=1.5)
    done = hankintavahti("crawl", "hilma")
    assert done.returncode == 0, done.output
    refused, retried = [r for r in hilma.requests if r.path == SEARCH][:2]
    assert refused.fault == "retry_after" and retried.fault is None
    assert retried.received_at - refused.received_at >= 1.4
    assert stored_ids(session_factory, "hilma") == listed_ids(hilma)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500, "times": 2},
        {"kind": "status", "status": 502},
        {"kind": "truncate"},
        {"kind": "html200"},
        {"kind": "disconnect"},
    ],
    ids=["500-twice", "502", "truncated-json", "html-page-with-200", "dropped-connection"],
)
@pytest.mark.parametrize("path", [SEARCH, ENRICH], ids=["search", "enrichment"])
def test_passing_faults_are_retried_and_nothing_is_missing_afterwards(
    hankintavahti: RunCommand, hilma: HilmaStandIn, session_factory: sessionmaker[Session], path: str, fault: dict
) -> None:
    hilma.add_fault(path, **fault)
    done = hankintavahti("crawl", "hilma")
    assert done.returncode == 0, done.output
    assert any(r.fault for r in hilma.requests)
    assert stored_ids(session_factory, "hilma") == listed_ids(hilma)
    assert count_notices(session_factory, enrichment="missing") == 0


def test_without_the_eforms_api_notices_are_kept_from_the_index_and_completed_next_time(
    hankintavahti: RunCommand, hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    hilma.add_fault(ENRICH, times=-1, status=500)
    first = hankintavahti("crawl", "hilma")
    assert first.returncode == 0, first.output
    assert stored_ids(session_factory, "hilma") == listed_ids(hilma)
    with_xml = len(hilma.documents) - sum(1 for d in hilma.documents if d["isPlan"])
    assert count_notices(session_factory, enrichment="missing") == with_xml

    hilma.clear_faults()
    second = hankintavahti("crawl", "hilma")
    assert second.returncode == 0, second.output
    assert count_notices(session_factory, enrichment="missing") == 0
    country_only = [d["id"] for d in hilma.documents if d["nutsCodes"] == "FI" and not d["isPlan"]]
    with session_factory() as session:
        places = session.scalars(select(Notice.places).where(Notice.source_id.in_(country_only))).all()
    # The XML's towns, which the index (NUTS "FI" only) does not have.
    assert {"Tammela", "Riihimäki"} <= {place.get("town") for notice_places in places for place in notice_places}


def test_corrections_cancellations_and_awards_reach_their_tenders(
    hankintavahti: RunCommand, hilma: HilmaStandIn, sample: SampleData, session_factory: sessionmaker[Session]
) -> None:
    assert hankintavahti("crawl", "hilma").returncode == 0
    with session_factory() as session:
        for spec in sample.specs:
            if spec.hilma is None or spec.kind not in ("correction", "cancellation", "award"):
                continue
            notice = session.scalars(select(Notice).where(Notice.source_id == spec.hilma.search_id)).one()
            tender = session.get_one(Tender, notice.tender_id)
            changes = {
                change.field: (change.old, change.new)
                for change in session.scalars(select(TenderChange).where(TenderChange.tender_id == tender.id))
            }
            if spec.kind == "cancellation":
                # HILMA also flips the original notice, so the tender may never have looked open.
                assert tender.status == "cancelled"
                assert changes.get("status", ("open", "cancelled"))[1] == "cancelled"
            elif spec.kind == "award":
                assert tender.status in ("awarded", "not_awarded")
                assert {w["name"] for w in tender.winners} == {w.name for w in spec.winners}
            elif spec.deadline is not None and changes.get("deadline"):
                old, new = changes["deadline"]
                assert old != new and tender.deadline.isoformat() == new.replace("Z", "+00:00")
    with session_factory() as session:
        fields = set(session.scalars(select(TenderChange.field)))
    # Not "winners": with more than 50 notices their XML comes in several batches, which may be stored in
    # either order, so an award may create its tender instead of changing it (its winners are checked above).
    assert {"deadline", "status"} <= fields


def test_the_index_documents_are_kept_raw_for_audit(
    hankintavahti: RunCommand, hilma: HilmaStandIn, session_factory: sessionmaker[Session]
) -> None:
    assert hankintavahti("crawl", "hilma").returncode == 0
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.source_id == hilma.documents[0]["id"])).one()
        payloads = notice.payloads()
    assert json.loads(payloads["hilma-index"])["id"] == hilma.documents[0]["id"]
    assert payloads["eforms"].lstrip().startswith(b"<")


def test_an_interrupted_crawl_is_recorded_as_such_and_keeps_its_watermark(
    database_url: str, big_hilma: HilmaStandIn, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    big_hilma.add_fault(SEARCH, kind="delay", seconds=5, after=1)  # page 2 is slow to come
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url,
        "HILMA_API_URL": big_hilma.base_url,
        "HILMA_API_KEY": "test-key",
        "HILMA_RATE_LIMIT": "600000",
    }
    process = subprocess.Popen(
        [str(COMMAND), "crawl", "hilma"], env=environment, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len([r for r in big_hilma.requests if r.path == SEARCH]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "HILMA: haku keskeytettiin" in stdout
    (run,) = runs(session_factory)
    assert run.status == "interrupted" and run.watermark_after is None
