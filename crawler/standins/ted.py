"""A local stand-in for TED's Search API v3 and notice XML downloads, for tests and the demo.

* ``POST /v3/notices/search`` — no key; the request body is validated like TED's
  ``PublicExpertSearchRequestV1`` (unknown keys, empty ``fields``, ``limit`` over 250
  are 400s with TED-shaped bodies); the expert query subset of
  :mod:`crawler.standins.ted_query`; ``PAGE_NUMBER`` paging (``page``, ``limit``) and
  ``ITERATION`` paging (an opaque ``iterationNextToken``, ``null`` on the last page,
  valid only with the identical query); each notice carries only the requested fields.
* ``GET /{lang}/notice/{publication-number}/xml`` — the published eForms XML, for the
  publication number with or without TED's zero padding.

Iteration continues after the last notice returned (not at an offset), so a notice
published between two pages neither repeats nor hides another one; a token can be
used again, because a client that lost an answer must be able to retry.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crawler.standins.server import RecordedRequest, Response, StandInServer, json_response
from crawler.standins.ted_fields import KNOWN_FIELDS, TedSampleNotice
from crawler.standins.ted_query import TedQuery, TedQueryError, field_dates, parse_query

SEARCH_PATH = "/v3/notices/search"
_XML_PATH = re.compile(r"^/(?P<language>[a-z]{2})/notice/(?P<number>\d{1,8})-(?P<year>\d{4})/xml/?$")
_BT_FIELD = re.compile(r"^(BT|OPP|OPT|OPA)-\d+[a-z]?(\(\w+\))?(-\w+)?$")

MAX_LIMIT = 250
MAX_PAGE_WINDOW = 15_000  # PAGE_NUMBER mode: page × limit
MAX_FIELD_VALUES = 10_000  # fields × limit
_REQUEST_KEYS = {
    "query",
    "fields",
    "page",
    "limit",
    "scope",
    "checkQuerySyntax",
    "paginationMode",
    "iterationNextToken",
    "onlyLatestVersions",
}
_REQUEST_CLASS = "eu.europa.ted.api.search.model.PublicExpertSearchRequestV1"
_BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True)
class _Iteration:
    query: str
    last_key: tuple[Any, ...]


class TedStandIn(StandInServer):
    """TED search and XML download over the given notices."""

    name = "ted-standin"

    def __init__(
        self,
        notices: Iterable[TedSampleNotice],
        *,
        today: Callable[[], date] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._today = today or (lambda: datetime.now(_BRUSSELS).date())
        self._data_lock = threading.Lock()
        self._notices: dict[str, TedSampleNotice] = {}
        self._iterations: dict[str, _Iteration] = {}
        for notice in notices:
            self._notices[notice.publication_number] = notice

    def publish(self, notice: TedSampleNotice) -> None:
        """Add a notice while serving (a notice published between two crawls)."""
        with self._data_lock:
            self._notices[notice.publication_number] = notice

    @property
    def notices(self) -> list[TedSampleNotice]:
        with self._data_lock:
            return list(self._notices.values())

    # -- routing ------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        if request.path == SEARCH_PATH and request.method == "POST":
            return self._search(request)
        match = _XML_PATH.match(request.path)
        if match and request.method in ("GET", "HEAD"):
            number = f"{int(match['number'])}-{match['year']}"
            with self._data_lock:
                notice = self._notices.get(number)
            if notice is not None:
                return Response(200, notice.xml, {"Content-Type": "application/xml"})
        return json_response(404, {"message": "Not Found", "error": {"type": "NOT_FOUND"}})

    # -- search -------------------------------------------------------------------------------

    def _search(self, request: RecordedRequest) -> Response:
        try:
            body = request.json()
        except (UnicodeDecodeError, ValueError):
            return _error("JSON parse error: the request body is not valid JSON", "BAD_REQUEST")
        if not isinstance(body, dict):
            return _error("The request body must be a JSON object", "BAD_REQUEST")
        unknown = [key for key in body if key not in _REQUEST_KEYS]
        if unknown:
            return _error(
                f'Unrecognized field "{unknown[0]}" (class {_REQUEST_CLASS}), not marked as ignorable', "BAD_REQUEST"
            )
        problems = _validation_problems(body)
        if problems:
            return json_response(400, {"message": "Validation error", "error": problems})

        fields: list[str] = body["fields"]
        unsupported = [name for name in fields if name not in KNOWN_FIELDS and not _BT_FIELD.match(name)]
        if unsupported:
            return _error(
                f"Unknown field(s) {', '.join(unsupported)}. "
                f"Fields the stand-in knows: {', '.join(sorted(KNOWN_FIELDS))}",
                "QUERY_UNKNOWN_FIELD",
            )
        limit = int(body.get("limit", 10))
        mode = body.get("paginationMode", "PAGE_NUMBER")
        page = int(body.get("page", 1))
        if len(fields) * limit > MAX_FIELD_VALUES:
            return _error(f"fields × limit must not exceed {MAX_FIELD_VALUES}", "SEARCH_EXCEEDS_MAX_LIMIT")
        if mode == "PAGE_NUMBER" and page * limit > MAX_PAGE_WINDOW:
            return _error(
                f"page × limit must not exceed {MAX_PAGE_WINDOW} in PAGE_NUMBER mode; use ITERATION mode",
                "SEARCH_EXCEEDS_MAX_LIMIT",
            )
        query_text: str = body["query"]
        try:
            query = parse_query(query_text, self._today())
        except TedQueryError as error:
            return _error(str(error), error.kind)
        if body.get("checkQuerySyntax"):
            return json_response(
                200, {"notices": [], "totalNoticeCount": None, "iterationNextToken": None, "timedOut": False}
            )

        token = body.get("iterationNextToken")
        with self._data_lock:
            hits = self._select(query, body.get("scope", "ALL"), bool(body.get("onlyLatestVersions")))
            if token is not None:
                iteration = self._iterations.get(token)
                if mode != "ITERATION" or iteration is None or iteration.query != query_text:
                    return _error(
                        "Invalid iterationNextToken: continue an iteration with the token it returned "
                        "and exactly the same query",
                        "INVALID_ITERATION_TOKEN",
                    )
                after = [hit for hit in hits if _after(_sort_key(hit, query), iteration.last_key, query.descending)]
            else:
                after = hits
            if mode == "ITERATION":
                page_notices = after[:limit]
                next_token = None
                if len(after) > limit:
                    next_token = secrets.token_urlsafe(24)
                    self._iterations[next_token] = _Iteration(query_text, _sort_key(page_notices[-1], query))
            else:
                page_notices = hits[(page - 1) * limit : page * limit]
                next_token = None
        base = self.base_url
        return json_response(
            200,
            {
                "notices": [_render(notice, fields, base) for notice in page_notices],
                "totalNoticeCount": len(hits),
                "iterationNextToken": next_token,
                "timedOut": False,
            },
        )

    def _select(self, query: TedQuery, scope: str, only_latest: bool) -> list[TedSampleNotice]:
        notices = list(self._notices.values())
        if scope in ("LATEST", "ACTIVE") or only_latest:
            changed = {
                identifier
                for notice in notices
                for identifier in notice.fields.get("change-notice-version-identifier", [])
            }
            notices = [notice for notice in notices if _full_id(notice) not in changed]
        if scope == "ACTIVE":
            today = self._today()
            notices = [notice for notice in notices if _active(notice, today)]
        hits = [notice for notice in notices if query.predicate(notice.fields)]
        hits.sort(key=lambda notice: _sort_key(notice, query), reverse=query.descending)
        return hits


def _validation_problems(body: dict[str, Any]) -> list[dict[str, str]]:
    problems = []

    def problem(field: str, message: str) -> None:
        problems.append({"objectName": "publicExpertSearchRequestV1", "field": field, "message": message})

    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        problem("query", "must not be blank")
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields:
        problem("fields", "must not be empty")
    elif not all(isinstance(name, str) for name in fields):
        problem("fields", "must be a list of field names")
    for name, low, high in (("limit", 0, MAX_LIMIT), ("page", 1, None)):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            problem(name, "must be an integer")
        elif value < low:
            problem(name, f"must be greater than or equal to {low}")
        elif high is not None and value > high:
            problem(name, f"must be less than or equal to {high}")
    if body.get("scope", "ALL") not in ("ALL", "ACTIVE", "LATEST"):
        problem("scope", "must be one of ALL, ACTIVE, LATEST")
    if body.get("paginationMode", "PAGE_NUMBER") not in ("PAGE_NUMBER", "ITERATION"):
        problem("paginationMode", "must be one of PAGE_NUMBER, ITERATION")
    return problems


def _sort_key(notice: TedSampleNotice, query: TedQuery) -> tuple[Any, ...]:
    """The query's sort field, then the publication number: unique, so iteration can resume after it."""
    serial, year = notice.publication_number.split("-")
    number = (int(year), int(serial))
    if query.sort_field == "publication-number":
        return (number,)
    dates = field_dates(notice.fields, query.sort_field)
    return (dates[0] if dates else date.min, number)


def _after(key: tuple[Any, ...], last: tuple[Any, ...], descending: bool) -> bool:
    return key < last if descending else key > last


def _full_id(notice: TedSampleNotice) -> str:
    return f"{notice.fields.get('notice-identifier')}-{notice.fields.get('notice-version', '01')}"


def _active(notice: TedSampleNotice, today: date) -> bool:
    """Open for tenders, or a notice without a deadline (TED's ACTIVE scope, roughly)."""
    if notice.fields.get("form-type") == "result":
        return False
    deadlines = field_dates(notice.fields, "deadline-receipt-tender-date-lot")
    return not deadlines or max(deadlines) >= today


def _render(notice: TedSampleNotice, fields: list[str], base_url: str) -> dict[str, Any]:
    """Only the requested fields (absent when empty), plus ``links`` as TED always adds them."""
    rendered = {name: notice.fields[name] for name in fields if name in notice.fields}
    rendered["links"] = _links(notice, base_url)
    return rendered


def _links(notice: TedSampleNotice, base_url: str) -> dict[str, dict[str, str]]:
    number = notice.publication_number
    languages = [language.upper() for language in notice.languages]
    if "ENG" not in languages:
        languages.append("ENG")
    short = {"FIN": "fi", "SWE": "sv", "ENG": "en", "EST": "et", "DEU": "de", "FRA": "fr"}
    return {
        "xml": {"MUL": f"{base_url}/en/notice/{number}/xml"},
        "html": {lang: f"{base_url}/{short.get(lang, 'en')}/notice/-/detail/{number}" for lang in languages},
        "htmlDirect": {lang: f"{base_url}/{short.get(lang, 'en')}/notice/{number}/html" for lang in languages},
        "pdf": {lang: f"{base_url}/{short.get(lang, 'en')}/notice/{number}/pdf" for lang in languages},
        "pdfs": {lang: f"{base_url}/{short.get(lang, 'en')}/notice/{number}/pdfs" for lang in languages},
    }


def _error(message: str, kind: str) -> Response:
    return json_response(400, {"message": message, "error": {"type": kind}})
