"""Every spider, built in memory without a network: its documentation, politeness and first request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.reactor import install_reactor, is_reactor_installed
from scrapy.utils.test import get_crawler

from config.settings import load_settings
from crawler.middlewares import BackoffRetryMiddleware, backoff_seconds, retry_after_seconds
from crawler.pipelines import QuarantinedNotice
from crawler.runner import SPIDERS, scrapy_settings
from crawler.spiders.base import BaseSpider
from crawler.spiders.hilma import HilmaSpider, odata_time

if not is_reactor_installed():  # Scrapy's crawlers expect the reactor the project runs on
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")

APP = load_settings({"HILMA_API_KEY": "key", "HILMA_RATE_LIMIT": "6", "TED_RATE_LIMIT": "30"})


def build(spider_class: type[BaseSpider], **settings: object) -> BaseSpider:
    crawler = get_crawler(spider_class, {**scrapy_settings(APP, progress=False).copy_to_dict(), **settings})
    spider = spider_class.from_crawler(crawler, sessions=object())
    crawler.spider = spider
    spider.window_start = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    return spider


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_every_spider_documents_its_source_arguments_and_api(name: str) -> None:
    doc = SPIDERS[name].__doc__ or ""
    for section in ("Domain", "Spider arguments", "Environment", "API documentation", "Caveats"):
        assert f"\n    {section}\n" in doc, f"{name} lacks its {section} section"


@pytest.mark.parametrize(("name", "delay"), [("hilma", 10.0), ("ted", 2.0)])
def test_every_spider_keeps_to_its_request_rate(name: str, delay: float) -> None:
    spider = build(SPIDERS[name])
    assert spider.crawler.settings.getfloat("DOWNLOAD_DELAY") == pytest.approx(delay)
    assert spider.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_every_spider_starts_with_a_search_from_its_window(name: str) -> None:
    spider = build(SPIDERS[name])
    request = next(iter(spider.first_requests())) if name == "ted" else spider.search_request(0)
    body = json.loads(request.body)
    assert request.method == "POST"
    text = body.get("filter") or body.get("query")
    assert ("2026-11-01T06:30:00.000Z" in text) or ("publication-date >= 20261101" in text)


def test_hilma_asks_for_the_window_published_or_modified_in_ascending_order() -> None:
    spider = build(HilmaSpider)
    body = json.loads(spider.search_request(200).body)
    assert body == {
        "search": "*",
        "filter": "(datePublished ge 2026-11-01T06:30:00.000Z or dateModified ge 2026-11-01T06:30:00.000Z)",
        "orderby": "datePublished asc",
        "top": 100,
        "skip": 200,
        "count": True,
    }
    assert spider.search_request(0).headers[b"Ocp-Apim-Subscription-Key"] == b"key"


def test_past_azures_skip_limit_hilma_continues_from_the_last_publication_time() -> None:
    spider = build(HilmaSpider)
    request = spider.search_request(99_900)
    documents = [{"id": f"EF-{n}", "datePublished": f"2026-11-0{1 + n // 60}T00:00:00Z"} for n in range(100)]
    response = TextResponse(request.url, body=json.dumps({"value": documents}).encode(), request=request)
    follow = [r for r in spider.parse_page(response) if isinstance(r, Request) and r.method == "POST"]
    (next_page,) = follow
    body = json.loads(next_page.body)
    assert body["skip"] == 0 and body["filter"] == "datePublished ge 2026-11-02T00:00:00Z"


def test_odata_times_are_utc_with_milliseconds() -> None:
    helsinki = datetime(2026, 6, 1, 9, 0, 0, 123456, tzinfo=UTC) + timedelta(hours=0)
    assert odata_time(helsinki) == "2026-06-01T09:00:00.123Z"


def response(status: int, headers: dict[str, str] | None = None) -> TextResponse:
    return TextResponse("https://api.example/x", status=status, headers=headers or {}, body=b"")


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert retry_after_seconds(response(429, {"Retry-After": "12"})) == 12
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(response(429, {"Retry-After": later})) <= 30
    assert retry_after_seconds(response(429)) is None


def test_backoff_grows_and_stops_at_its_cap() -> None:
    waits = [backoff_seconds(attempt, 2.0, 20.0) for attempt in range(1, 7)]
    assert 1.5 <= waits[0] <= 2.5 and 6 <= waits[2] <= 10 and max(waits) <= 25


@pytest.mark.parametrize(
    ("status", "headers", "retried", "wait"),
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (503, {}, True, None),
        (202, {"x-amzn-waf-action": "challenge"}, True, None),
        (202, {}, False, None),
        (404, {}, False, None),
        (401, {}, False, None),
    ],
)
def test_the_middleware_retries_what_a_later_attempt_can_fix(
    status: int, headers: dict[str, str], retried: bool, wait: float | None
) -> None:
    spider = build(HilmaSpider)
    middleware = BackoffRetryMiddleware.from_crawler(spider.crawler)
    request = Request("https://api.example/x")
    result = middleware.process_response(request, response(status, headers))
    assert isinstance(result, Request) is retried
    if retried and wait is not None:
        assert result.meta["wait"] == wait
    if retried:
        assert result.meta["retry_times"] == 1 and result.dont_filter


def test_a_listed_document_that_cannot_be_read_is_quarantined_and_the_crawl_goes_on() -> None:
    spider = build(HilmaSpider)
    fixtures = Path(__file__).parents[1] / "fixtures" / "hilma"
    fixture = fixtures / "search_response_forssa_cleaning_plan_award_correction.json"
    good = json.loads(fixture.read_text(encoding="utf-8"))["value"][1]  # the plan: stored from its index document
    out = list(spider.parse_documents([{"noticeId": 5, "titleFi": "ei tunnistetta"}, good]))
    quarantined, plan = out
    assert isinstance(quarantined, QuarantinedNotice)
    assert quarantined.source == "hilma" and quarantined.source_id.startswith("unreadable-")
    assert json.loads(quarantined.payloads["hilma-index"])["titleFi"] == "ei tunnistetta"
    assert plan.source_id == "PLAN-1187"
    assert spider.complete and spider.failures  # recorded, but the crawl is still whole
