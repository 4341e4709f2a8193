"""Local HTTP stand-ins for HILMA and TED, an eForms XML builder, and the project's sample of tenders.

Tests and ``make demo`` crawl these instead of the real services (there is no
network in either): the stand-ins answer like the real APIs, including their
errors, limits and quirks, and serve a sample of realistic Finnish notices whose
dates are relative to today.

Typical use::

    sample = load_sample()
    hilma, ted = sample_standins(sample)
    with hilma, ted:
        crawl(hilma.base_url, ted.base_url)
"""

from __future__ import annotations

from crawler.standins.eforms_builder import build_eforms_xml
from crawler.standins.hilma import HilmaStandIn
from crawler.standins.hilma_index import hilma_index_document
from crawler.standins.sample import SampleData, load_sample
from crawler.standins.server import RecordedRequest, StandInServer
from crawler.standins.specs import NoticeSpec
from crawler.standins.ted import TedStandIn
from crawler.standins.ted_fields import TedSampleNotice, ted_notice

__all__ = [
    "HilmaStandIn",
    "NoticeSpec",
    "RecordedRequest",
    "SampleData",
    "StandInServer",
    "TedSampleNotice",
    "TedStandIn",
    "build_eforms_xml",
    "hilma_index_document",
    "load_sample",
    "sample_standins",
    "ted_notice",
]


def sample_standins(
    sample: SampleData | None = None, *, api_key: str = "demo-key", host: str = "127.0.0.1"
) -> tuple[HilmaStandIn, TedStandIn]:
    """A HILMA and a TED stand-in serving the sample (not started: use them as context managers)."""
    sample = sample or load_sample()
    hilma = HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=api_key, host=host)
    ted = TedStandIn(sample.ted_notices, host=host)
    return hilma, ted
