"""Helpers for the stand-in tests: real HTTP over loopback with urllib, and the sample loaded once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from crawler.standins import HilmaStandIn, TedStandIn
from crawler.standins.sample import SampleData, load_sample
from tests.standins.standin_http import API_KEY, Reply, http


@pytest.fixture(scope="session")
def sample() -> SampleData:
    return load_sample()


@pytest.fixture(scope="session")
def fixed_day_sample() -> SampleData:
    """The sample on a fixed day, for tests that compare exact dates."""
    return load_sample(today=date(2026, 3, 16))


@pytest.fixture(scope="module")
def hilma(sample: SampleData) -> Iterator[HilmaStandIn]:
    with HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def ted(sample: SampleData) -> Iterator[TedStandIn]:
    with TedStandIn(sample.ted_notices, today=lambda: sample.today) as server:
        yield server


@pytest.fixture(scope="module")
def search(hilma: HilmaStandIn) -> Callable[..., Reply]:
    """POST a search body to the HILMA stand-in with the right key."""

    def post(body: dict[str, Any], *, key: str | None = API_KEY) -> Reply:
        headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
        return http("POST", f"{hilma.base_url}/avp/eformnotices/docs/search", json_body=body, headers=headers)

    return post


@pytest.fixture(scope="module")
def ted_search(ted: TedStandIn) -> Callable[..., Reply]:
    def post(body: dict[str, Any]) -> Reply:
        return http("POST", f"{ted.base_url}/v3/notices/search", json_body=body)

    return post
