"""The calendar after a real crawl: ``hankintavahti crawl all`` over the HILMA and TED stand-ins serving the sample.

``test_calendar`` stores the sample in-process through the crawlers' mapping and store
path; this runs the command itself (spiders, enrichment, pipeline) in a child process, as
``make demo`` does, and checks the pages against the same independent recomputation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from crawler.standins import load_sample, sample_standins
from tests.web.test_calendar import SUBREGIONS, expected_calendar, shown

pytestmark = pytest.mark.e2e

COMMAND = Path(sys.executable).with_name("hankintavahti")


def test_the_crawled_sample_gives_the_recomputed_calendar(
    database_url: str, client: FlaskClient, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    sample = load_sample()
    oldest = min((spec.hilma.published_at if spec.hilma else spec.issued_at) for spec in sample.specs)
    since = (oldest - timedelta(days=1)).date().isoformat()
    hilma, ted = sample_standins(sample, api_key="test-key")
    with hilma, ted:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "HILMA_API_URL": hilma.base_url,
            "HILMA_API_KEY": "test-key",
            "TED_API_URL": ted.base_url,
            "HILMA_RATE_LIMIT": "600000",
            "TED_RATE_LIMIT": "600000",
            "CRAWL_BACKOFF_SECONDS": "0.05",
        }
        done = subprocess.run(
            [str(COMMAND), "crawl", "all", "--since", since, "--quiet"],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    for code, slug in SUBREGIONS.items():
        expected = expected_calendar(sample, session_factory, code, datetime.now(UTC))
        assert expected, code
        assert shown(client.get(f"/kalenteri/{slug}").text) == expected, code
