"""``hankintavahti crawl ted`` against the TED stand-in, alone and after HILMA: each notice stored once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins import HilmaStandIn, TedStandIn
from crawler.standins.sample import SampleData
from models.crawl import CrawlRun
from models.notice import Notice
from tests.service.conftest import RunCommand, count_notices, more_ted_notices, stored_ids

pytestmark = pytest.mark.e2e

SEARCH = "/v3/notices/search"


def ted_only(ted: TedStandIn, sample: SampleData) -> set[str]:
    on_hilma = {d["tedPublicationId"] for d in sample.hilma_documents if d["tedPublicationId"]}
    return {notice.publication_number for notice in ted.notices} - on_hilma


def test_after_hilma_ted_adds_only_what_hilma_did_not_have_and_fetches_no_known_xml(
    hankintavahti: RunCommand, hilma: HilmaStandIn, ted: TedStandIn, sample: SampleData,
    session_factory: sessionmaker[Session],
) -> None:
    assert hankintavahti("crawl", "hilma").returncode == 0
    done = hankintavahti("crawl", "ted")
    assert done.returncode == 0, done.output
    expected_new = ted_only(ted, sample)
    duplicates = len(ted.notices) - len(expected_new)
    summary = f"TED: valmis – {len(expected_new)} uutta, 0 päivittynyttä, 0 ennallaan, {duplicates} jo toisesta"
    assert summary in done.stdout
    assert stored_ids(session_factory, "ted") == expected_new
    xml_fetches = [r for r in ted.requests if r.path.endswith("/xml")]
    assert len(xml_fetches) == len(expected_new)  # HILMA's copies are recognised from the listing
    with session_factory() as session:
        numbered = session.scalar(select(func.count()).where(Notice.publication_number.is_not(None)))
    assert numbered == len(ted.notices)  # every TED number is on exactly one stored notice

    again = hankintavahti("crawl", "ted")
    assert "TED: valmis – 0 uutta, 0 päivittynyttä" in again.stdout, again.output


def test_ted_first_then_hilma_still_stores_each_notice_once_and_hilma_keeps_it(
    hankintavahti: RunCommand, hilma: HilmaStandIn, ted: TedStandIn, sample: SampleData,
    session_factory: sessionmaker[Session],
) -> None:
    assert hankintavahti("crawl", "ted").returncode == 0
    assert count_notices(session_factory, source="ted") == len(ted.notices)
    assert hankintavahti("crawl", "hilma").returncode == 0
    assert stored_ids(session_factory, "ted") == ted_only(ted, sample)
    assert stored_ids(session_factory, "hilma") == {d["id"] for d in hilma.documents}
    with session_factory() as session:
        total = session.scalar(select(func.count()).select_from(Notice))
    assert total == len(hilma.documents) + len(ted_only(ted, sample))


def test_a_ted_crawl_that_fails_halfway_loses_nothing_on_the_next_run(
    hankintavahti: RunCommand, ted: TedStandIn, sample: SampleData, session_factory: sessionmaker[Session]
) -> None:
    for notice in more_ted_notices(sample, 180):
        ted.publish(notice)  # three pages of 100
    ted.add_fault(SEARCH, after=1, times=-1, status=500)
    failed = hankintavahti("crawl", "ted")
    assert failed.returncode == 1 and "TED: haku epäonnistui" in failed.stdout, failed.output
    with session_factory() as session:
        (run,) = session.scalars(select(CrawlRun)).all()
        assert run.status == "failed" and run.watermark_after is None
    assert 0 < count_notices(session_factory, source="ted") < len(ted.notices)

    ted.clear_faults()
    again = hankintavahti("crawl", "ted")
    assert again.returncode == 0, again.output
    assert stored_ids(session_factory, "ted") == {notice.publication_number for notice in ted.notices}
    tokens = [r.json().get("iterationNextToken") for r in ted.requests if r.path == SEARCH and r.fault is None]
    assert tokens[-3] is None and all(tokens[-2:])  # the last crawl paged through with tokens


@pytest.mark.parametrize("kind", ["truncate", "html200", "disconnect"])
def test_a_broken_notice_xml_is_fetched_again(
    hankintavahti: RunCommand, ted: TedStandIn, session_factory: sessionmaker[Session], kind: str
) -> None:
    ted.add_fault("/en/notice/", kind=kind, times=2)
    done = hankintavahti("crawl", "ted")
    assert done.returncode == 0, done.output
    assert count_notices(session_factory, source="ted") == len(ted.notices)
    assert count_notices(session_factory, enrichment="missing") == 0
