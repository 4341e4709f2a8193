"""Running the ``hankintavahti`` command in a child process against local stand-ins.

The command runs as a user would run it: its own process (a Twisted reactor runs
once per process), settings from the environment, a database from ``DATABASE_URL``
(each test's SQLite file or PostgreSQL database), the stand-ins on loopback.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins import (
    HilmaStandIn,
    TedSampleNotice,
    TedStandIn,
    build_eforms_xml,
    hilma_index_document,
    load_sample,
    ted_notice,
)
from crawler.standins.sample import SampleData
from models.notice import Notice

COMMAND = Path(sys.executable).with_name("hankintavahti")
API_KEY = "test-key"


@dataclasses.dataclass
class Run:
    """What the command printed and how it ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


RunCommand = Callable[..., Run]


@pytest.fixture(scope="session")
def sample() -> SampleData:
    return load_sample()


@pytest.fixture
def hilma(sample: SampleData) -> Iterator[HilmaStandIn]:
    with HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=API_KEY) as standin:
        yield standin


@pytest.fixture
def ted(sample: SampleData) -> Iterator[TedStandIn]:
    with TedStandIn(sample.ted_notices) as standin:
        yield standin


@pytest.fixture
def hankintavahti(database_url: str, hilma: HilmaStandIn, ted: TedStandIn, tmp_path: Path) -> RunCommand:
    """``hankintavahti(*args, **env)``: run the command against this test's database and stand-ins."""

    def run(*args: str, timeout: float = 120, **env: str) -> Run:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "HILMA_API_URL": hilma.base_url,
            "HILMA_API_KEY": API_KEY,
            "TED_API_URL": ted.base_url,
            # The stand-ins are local: no politeness waits, short backoff, few retries.
            "HILMA_RATE_LIMIT": "600000",
            "TED_RATE_LIMIT": "600000",
            "CRAWL_BACKOFF_SECONDS": "0.05",
            "CRAWL_RETRIES": "3",
            "CRAWL_TIMEOUT_SECONDS": "5",
            # a first crawl reaches the sample's oldest notices (its award history is two years long)
            "CRAWL_INITIAL_DAYS": "800",
            **env,
        }
        done = subprocess.run(
            [str(COMMAND), *args],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def more_notices(sample: SampleData, copies: int, published_at: datetime | None = None) -> list[tuple[dict, bytes]]:
    """New HILMA contract notices (index document and XML) made from the sample's, with fresh ids.

    Enough of them make the listing span several pages, as a real backfill does.
    They are published when their originals were (a minute apart), or at ``published_at``.
    """
    originals = [
        spec for spec in sample.specs if spec.hilma and spec.notice_id and spec.kind == "contract_notice"
    ]
    made = []
    for number in range(copies):
        spec = originals[number % len(originals)]
        assert spec.hilma is not None
        hilma = dataclasses.replace(
            spec.hilma,
            notice_id=900_000 + number,
            procedure_id=800_000 + number,
            published_at=published_at or spec.hilma.published_at - timedelta(minutes=number),
            modified_at=None,
            previous=(),
        )
        copy = dataclasses.replace(
            spec, notice_id=str(uuid.uuid4()), procedure_id=str(uuid.uuid4()), hilma=hilma, ted_publication=None
        )
        made.append((hilma_index_document(copy), build_eforms_xml(copy)))
    return made


def stored_ids(session_factory: sessionmaker[Session], source: str) -> set[str]:
    with session_factory() as session:
        return set(session.scalars(select(Notice.source_id).where(Notice.source == source)))


def count_notices(session_factory: sessionmaker[Session], **where: object) -> int:
    with session_factory() as session:
        statement = select(func.count()).select_from(Notice)
        for column, value in where.items():
            statement = statement.where(getattr(Notice, column) == value)
        return session.scalar(statement) or 0


def more_ted_notices(sample: SampleData, copies: int) -> list[TedSampleNotice]:
    """TED-only notices made from the sample's TED notices, with fresh ids and publication numbers."""
    originals = [spec for spec in sample.specs if spec.ted_publication is not None]
    made = []
    for number in range(copies):
        spec = originals[number % len(originals)]
        assert spec.ted_publication is not None
        publication = dataclasses.replace(spec.ted_publication, number=f"{950_000 + number}-{sample.today.year}")
        copy = dataclasses.replace(
            spec, notice_id=str(uuid.uuid4()), procedure_id=str(uuid.uuid4()), hilma=None, ted_publication=publication
        )
        made.append(ted_notice(copy, sample.cpv_labels))
    return made
