"""Downloader middleware: retry what is worth retrying, and wait as long as asked.

Scrapy's own ``RetryMiddleware`` retries at once; an API that answers 429 wants us
to wait (``Retry-After``), and a server in trouble (5xx, timeouts) recovers better
when the waits grow. :class:`BackoffRetryMiddleware` replaces it (see
``crawler/settings.py``): a retried request carries ``meta["wait"]`` and
:meth:`BackoffRetryMiddleware.process_request` sleeps that long before letting it
go, without blocking the reactor or the other requests. Spiders use
:func:`retry_later` for responses that arrive with status 200 but an unreadable
body (a truncated JSON, an HTML error page).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.misc import load_object

logger = logging.getLogger(__name__)

#: Statuses that a later attempt may fix: rate limiting, server trouble, gateway timeouts.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})


def retry_after_seconds(response: Response) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (delta or HTTP date)."""
    raw = response.headers.get(b"Retry-After")
    if not raw:
        return None
    text = raw.decode("latin-1").strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base, 2·base, 4·base … (±25 %), at most ``cap``."""
    return min(cap, base * (2 ** max(0, attempt - 1))) * random.uniform(0.75, 1.25)


def retry_later(
    request: Request,
    spider: scrapy.Spider,
    reason: str,
    *,
    wait: float | None = None,
) -> Request | None:
    """A copy of ``request`` to try again after a wait, or None when retries are used up."""
    settings = spider.crawler.settings
    retry = get_retry_request(
        request,
        spider=spider,
        reason=reason,
        max_retry_times=request.meta.get("max_retry_times", settings.getint("RETRY_TIMES")),
    )
    if retry is None:
        return None
    attempt = retry.meta.get("retry_times", 1)
    cap = settings.getfloat("BACKOFF_MAX_SECONDS")
    if wait is None:
        wait = backoff_seconds(attempt, settings.getfloat("BACKOFF_BASE_SECONDS"), cap)
    retry.meta["wait"] = min(wait, settings.getfloat("RETRY_AFTER_MAX_SECONDS"))
    logger.info("retrying %s in %.1f s (%s, attempt %d)", request.url, retry.meta["wait"], reason, attempt)
    return retry


class BackoffRetryMiddleware:
    """Retries 429 after ``Retry-After``, and 5xx, timeouts and dropped connections with backoff."""

    def __init__(self, crawler: scrapy.crawler.Crawler) -> None:
        self.crawler = crawler
        self.exceptions = tuple(load_object(path) for path in crawler.settings.getlist("RETRY_EXCEPTIONS"))

    @classmethod
    def from_crawler(cls, crawler: scrapy.crawler.Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        wait = request.meta.pop("wait", None)
        if wait:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry"):
            return response
        waf_challenge = response.status == 202 and b"x-amzn-waf-action" in response.headers
        if response.status not in RETRY_STATUSES and not waf_challenge:
            return response
        wait = retry_after_seconds(response) if response.status in (429, 503) else None
        assert self.crawler.spider is not None
        retry = retry_later(request, self.crawler.spider, f"HTTP {response.status}", wait=wait)
        return retry or response

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        assert self.crawler.spider is not None
        return retry_later(request, self.crawler.spider, type(exception).__name__)


def describe_failure(failure: Any) -> str:
    """One line for a failed request: the status, or the exception's name and message."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status} from {response.url}"
    request = getattr(failure, "request", None)
    where = f" ({request.url})" if request is not None else ""
    return f"{failure.type.__name__}: {failure.getErrorMessage()}{where}"
