"""A local stand-in for HILMA's AVP API (api.hankintailmoitukset.fi), for tests and the demo.

It follows the mock checklist of the HILMA format notes (§2 and §6):

* ``POST /avp/eformnotices/docs/search`` — Azure AI Search over ``eformnotices-v2``:
  ``search``, ``filter`` (see :mod:`crawler.standins.odata`), ``orderby``, ``select``,
  ``top``/``skip``/``count`` given as JSON numbers or as strings (HILMA's own examples
  send strings), ``skip`` at most 100 000, at most 1 000 documents a page;
* ``GET /avp/eformnotices`` — the index definition;
* ``GET /avp-eforms/external-read/v1/notice/{noticeId}`` and
  ``GET /avp-eforms/external-read/v1/notices?id=…&id=…`` (at most 50 ids) — envelopes
  with the eForms XML in base64;
* the gateway's behaviour: ``Ocp-Apim-Subscription-Key`` (or ``?subscription-key=``)
  required, APIM's 401 and 404 bodies, and optionally APIM's rate limit: more than N
  requests in a minute get 429 with ``Retry-After`` and a plain-text body.
"""

from __future__ import annotations

import base64
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from crawler.standins.hilma_index import index_definition, utc_millis
from crawler.standins.odata import FieldTypes, QueryError, compile_filter, compile_search, sort_documents
from crawler.standins.server import RecordedRequest, Response, StandInServer, json_response, text_response
from crawler.standins.specs import STATISTICS_DEFAULTS

SEARCH_PATH = "/avp/eformnotices/docs/search"
INDEX_PATH = "/avp/eformnotices"
NOTICE_PATH = "/avp-eforms/external-read/v1/notice/"
NOTICES_PATH = "/avp-eforms/external-read/v1/notices"

MAX_SKIP = 100_000  # Azure AI Search's hard limit
PAGE_CAP = 1_000  # Azure returns at most this many documents a page
DEFAULT_TOP = 50
MAX_BATCH = 50  # the eForms read API rejects more ids than this

_SEARCH_CONTEXT = "https://hns-hilma-prod-search.search.windows.net/indexes('eformnotices-v2')/$metadata#docs(*)"
_SEARCH_PARAMETERS = {
    "search",
    "filter",
    "top",
    "skip",
    "count",
    "orderby",
    "select",
    "searchMode",
    "queryType",
    "searchFields",
}
_AZURE_ONLY_PARAMETERS = {
    "facets",
    "highlight",
    "highlightPreTag",
    "highlightPostTag",
    "minimumCoverage",
    "scoringProfile",
    "scoringParameters",
    "scoringStatistics",
    "sessionId",
    "semanticConfiguration",
}

MISSING_KEY = {
    "statusCode": 401,
    "message": "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API.",
}
INVALID_KEY = {
    "statusCode": 401,
    "message": "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription.",
}
NOT_FOUND = {"statusCode": 404, "message": "Resource not found"}


class HilmaStandIn(StandInServer):
    """HILMA's search and eForms read API over the given index documents and XML."""

    name = "hilma-standin"

    def __init__(
        self,
        documents: Iterable[dict[str, Any]],
        eforms: dict[int, bytes],
        *,
        api_key: str = "demo-key",
        rate_limit_per_minute: int | None = None,
        rate_limit_window: float = 60.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_window = rate_limit_window  # seconds; tests shorten it to see the limit lift
        self._data_lock = threading.Lock()
        self._documents: dict[str, dict[str, Any]] = {}
        self._eforms: dict[int, bytes] = dict(eforms)
        self._types: FieldTypes | None = None
        self._recent: deque[float] = deque()
        for document in documents:
            self._documents[document["id"]] = document

    # -- data ---------------------------------------------------------------------------------

    def publish(self, document: dict[str, Any], xml: bytes | None = None) -> None:
        """Add a notice (or replace the document with the same ``id``) while serving."""
        with self._data_lock:
            self._documents[document["id"]] = document
            if xml is not None:
                self._eforms[int(document["noticeId"])] = xml
            self._types = None

    @property
    def documents(self) -> list[dict[str, Any]]:
        with self._data_lock:
            return list(self._documents.values())

    # -- routing ------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        path = request.path.rstrip("/") or "/"
        route = None
        if path == SEARCH_PATH and request.method == "POST":
            route = self._search
        elif path == INDEX_PATH and request.method == "GET":
            route = self._index_definition
        elif path.startswith(NOTICE_PATH) and request.method == "GET":
            route = self._notice
        elif path == NOTICES_PATH and request.method == "GET":
            route = self._notices
        if route is None:
            return json_response(404, NOT_FOUND)
        key = request.header("Ocp-Apim-Subscription-Key") or (request.query.get("subscription-key") or [None])[0]
        if not key:
            return json_response(401, MISSING_KEY)
        if key != self.api_key:
            return json_response(401, INVALID_KEY)
        limited = self._rate_limited()
        if limited is not None:
            return limited
        return route(request)

    def _rate_limited(self) -> Response | None:
        """APIM's rate-limit policy: a sliding window of accepted calls per key."""
        if self.rate_limit_per_minute is None:
            return None
        now = time.monotonic()
        with self._data_lock:
            while self._recent and self._recent[0] <= now - self.rate_limit_window:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_minute:
                wait = max(1, math.ceil(self._recent[0] + self.rate_limit_window - now))
                response = text_response(429, f"Rate limit is exceeded. Try again in {wait} seconds.")
                response.headers["Retry-After"] = str(wait)
                return response
            self._recent.append(now)
        return None

    # -- search -------------------------------------------------------------------------------

    def _search(self, request: RecordedRequest) -> Response:
        started = time.monotonic()
        try:
            body = request.json()
        except (UnicodeDecodeError, ValueError):
            return _problem(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _problem(400, "The request body must be a JSON object of search parameters.")
        try:
            parameters = _search_parameters(body)
            documents, types = self._snapshot()
            matches = compile_search(
                parameters["search"], parameters["searchFields"] or types.searchable, mode=parameters["searchMode"]
            )
            keep = compile_filter(parameters["filter"], types)
            hits = [document for document in documents if matches(document) and keep(document)]
            hits = sort_documents(hits, parameters["orderby"], types)
            select = _selected_fields(parameters["select"], documents)
        except QueryError as error:
            return _problem(400, str(error))

        skip, top = parameters["skip"], parameters["top"]
        page_size = min(top if top is not None else DEFAULT_TOP, PAGE_CAP)
        page = hits[skip : skip + page_size]
        payload: dict[str, Any] = {"@odata.context": _SEARCH_CONTEXT}
        if parameters["count"]:
            payload["@odata.count"] = len(hits)
        payload["value"] = [_hit(document, select) for document in page]
        wanted = top if top is not None else len(hits) - skip
        if wanted > page_size and skip + page_size < len(hits):
            # Azure's continuation: the same request with the next skip (only when the cap cut the page).
            payload["@odata.nextPageParameters"] = {
                **body,
                "skip": skip + page_size,
                **({"top": top - page_size} if top is not None else {}),
            }
        elapsed = max(1, round((time.monotonic() - started) * 1000))
        return json_response(
            200,
            payload,
            content_type="application/json; odata.metadata=minimal",
            headers={
                "OData-Version": "4.0",
                "Preference-Applied": 'odata.include-annotations="*"',
                "request-id": str(uuid.uuid4()),
                "elapsed-time": str(elapsed),
            },
        )

    def _snapshot(self) -> tuple[list[dict[str, Any]], FieldTypes]:
        with self._data_lock:
            documents = list(self._documents.values())
            if self._types is None:
                self._types = _field_types(documents)
            return documents, self._types

    def _index_definition(self, request: RecordedRequest) -> Response:
        documents, _ = self._snapshot()
        return json_response(200, index_definition(documents[0] if documents else {}))

    # -- eForms read API ----------------------------------------------------------------------

    def _notice(self, request: RecordedRequest) -> Response:
        raw = request.path.rstrip("/")[len(NOTICE_PATH) :]
        if not raw.isdigit():
            return _problem(400, f"The value '{raw}' is not a valid notice id.")
        envelope = self._envelope(int(raw))
        if envelope is None:
            return _problem(404, f"Notice {raw} has no eForms content.", title="Not Found")
        return json_response(200, envelope)

    def _notices(self, request: RecordedRequest) -> Response:
        raw_ids = [value for item in request.query.get("id", []) for value in item.split(",") if value]
        if not raw_ids:
            return _problem(400, "Give the notices to read as id=…&id=… query parameters.")
        if len(raw_ids) > MAX_BATCH:
            return _problem(400, f"At most {MAX_BATCH} notices can be read at a time; {len(raw_ids)} were requested.")
        if not all(value.isdigit() for value in raw_ids):
            return _problem(400, "Notice ids are integers.")
        envelopes = [self._envelope(notice_id) for notice_id in dict.fromkeys(int(value) for value in raw_ids)]
        return json_response(200, [envelope for envelope in envelopes if envelope is not None])

    def _envelope(self, notice_id: int) -> dict[str, Any] | None:
        """The read API's answer for one notice, or None when HILMA has no eForms XML for it."""
        with self._data_lock:
            xml = self._eforms.get(notice_id)
            document = next(
                (doc for doc in self._documents.values() if doc.get("noticeId") == notice_id and doc.get("isEForms")),
                None,
            )
        if xml is None:
            return None
        published = document.get("datePublished") if document else None
        created = (
            utc_millis(datetime.fromisoformat(published) - timedelta(minutes=5)) if published else None
        )  # the notice is created in HILMA a few minutes before it is published
        return {
            "id": notice_id,
            "procedureId": document.get("procedureId") if document else None,
            "eForm": base64.b64encode(xml).decode("ascii"),
            "hilmaStatistics": _statistics(document) if document else {},
            "dateCreated": created,
            "dateModified": document.get("dateModified") if document else None,
        }


def _search_parameters(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the search body the way Azure does, accepting numbers and booleans given as strings."""
    for name in body:
        if name in _AZURE_ONLY_PARAMETERS:
            raise QueryError(f"The stand-in does not implement the search parameter '{name}'.")
        if name not in _SEARCH_PARAMETERS:
            raise QueryError(
                f"The parameter '{name}' in the request payload is not a valid parameter for the operation 'search'."
            )
    top = _integer(body, "top")
    skip = _integer(body, "skip") or 0
    if skip > MAX_SKIP:
        raise QueryError(f"Value must be between 0 and {MAX_SKIP}.\r\nParameter name: $skip")
    search_mode = str(body.get("searchMode", "any")).lower()
    if search_mode not in ("any", "all"):
        raise QueryError("searchMode must be 'any' or 'all'.")
    if str(body.get("queryType", "simple")).lower() not in ("simple", "full"):
        raise QueryError("queryType must be 'simple' or 'full'.")
    search_fields = body.get("searchFields")
    return {
        "search": body.get("search"),
        "filter": body.get("filter"),
        "orderby": body.get("orderby"),
        "select": body.get("select"),
        "top": top,
        "skip": skip,
        "count": _boolean(body.get("count", False)),
        "searchMode": search_mode,
        "searchFields": tuple(name.strip() for name in search_fields.split(",")) if search_fields else None,
    }


def _integer(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise QueryError(f"The value '{value}' of parameter '{name}' is not a valid non-negative integer.")
    return int(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise QueryError(f"The value '{value}' of parameter 'count' is not a valid boolean.")


def _selected_fields(select: str | None, documents: list[dict[str, Any]]) -> list[str] | None:
    if select is None or select.strip() in ("", "*"):
        return None
    names = [name.strip() for name in select.split(",") if name.strip()]
    known = set(documents[0]) if documents else set()
    unknown = [name for name in names if known and name not in known]
    if unknown:
        raise QueryError(
            f"Invalid expression: Could not find a property named '{unknown[0]}' on type 'search.document'."
        )
    return names


def _hit(document: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    fields = document if select is None else {name: document.get(name) for name in select}
    return {"@search.score": 1.0, **fields}


def _field_types(documents: list[dict[str, Any]]) -> FieldTypes:
    """Field kinds from the index definition of the documents being served."""
    fields = index_definition(documents[0])["fields"] if documents else []
    by_type: dict[str, set[str]] = {"string": set(), "number": set(), "boolean": set(), "date": set()}
    kinds = {
        "Edm.String": "string",
        "Edm.Int32": "number",
        "Edm.Int64": "number",
        "Edm.Double": "number",
        "Edm.Boolean": "boolean",
        "Edm.DateTimeOffset": "date",
    }
    for field in fields:
        kind = kinds.get(field["type"])
        if kind:
            by_type[kind].add(field["name"])
    return FieldTypes(
        strings=frozenset(by_type["string"]),
        numbers=frozenset(by_type["number"]),
        booleans=frozenset(by_type["boolean"]),
        dates=frozenset(by_type["date"]),
        sortable=frozenset(field["name"] for field in fields if field.get("sortable")),
        searchable=tuple(field["name"] for field in fields if field.get("searchable")),
    )


def _statistics(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``hilmaStatistics`` keyed by lot, as HILMA's notice model stores them."""
    lots = document.get("lots") or [{"id": "LOT-0000", **document}]
    return {lot["id"]: {name: lot.get(name) for name in STATISTICS_DEFAULTS} for lot in lots}


def _problem(status: int, detail: str, *, title: str = "Invalid request") -> Response:
    """HILMA's RFC 7807 error body."""
    return json_response(
        status,
        {"type": "Hilma API Error", "title": title, "status": status, "detail": detail, "traceId": uuid.uuid4().hex},
        content_type="application/problem+json; charset=utf-8",
    )
