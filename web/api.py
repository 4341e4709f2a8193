"""The JSON API: ``GET /api/tenders``, the tender list as ``hankintavahti tenders --format json`` prints it, paginated.

Query parameters are read strictly: an unknown, repeated or malformed one is a 400
with a Finnish message naming it, because a typo that silently drops a filter gives
a plausible but wrong list. Every value is checked against what is known (sector
slugs, notice kinds, region codes) before it reaches SQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from config.errors import InputError
from config.settings import Settings
from crawler.classification.sectors import sector_names
from crawler.items import NOTICE_KINDS
from models.db import session_scope
from models.queries import TENDER_SORTS, count_tenders, tender_page, tender_record
from models.tender import TENDER_STATUSES
from service.explain import region_choice

blueprint = Blueprint("api", __name__, url_prefix="/api")

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 200
#: Effective statuses a tender can have (``closed``: open but past its deadline).
STATUSES: tuple[str, ...] = (*TENDER_STATUSES, "closed")
SINGLE = ("all", "region", "sort", "page", "per_page", "published_from", "published_to", "deadline_from", "deadline_to")
REPEATABLE = ("sector", "kind", "status")
FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = re.compile(r"[0-9]{1,9}")


class BadParameterError(InputError):
    """A query parameter the API cannot use; the message is the Finnish one the client gets."""


@dataclass(frozen=True)
class TenderQuery:
    """The parsed query string of ``/api/tenders``: filters for :func:`select_tenders` and the page."""

    filters: dict[str, Any] = field(default_factory=dict)
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


def _settings() -> Settings:
    return current_app.config["HANKINTAVAHTI_SETTINGS"]


def _json(body: dict[str, Any], status: int = 200) -> Response:
    """JSON in the record's own key order (Flask's provider would sort the keys) and readable Finnish."""
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


@blueprint.errorhandler(BadParameterError)
def bad_parameter(error: BadParameterError) -> Response:
    return _json({"error": str(error)}, 400)


@blueprint.get("/tenders")
def tenders() -> Response:
    """One page of tenders, with the total and a ``Link`` header to the next and previous pages."""
    settings = _settings()
    now = datetime.now(UTC)
    query = parse_query(request.args, tz=settings.timezone, now=now)
    offset = (query.page - 1) * query.per_page
    with _session() as session:
        total = session.scalar(count_tenders(**query.filters)) or 0
        items: list[dict[str, Any]] = []
        if offset < total:
            page = tender_page(session, offset=offset, limit=query.per_page, **query.filters)
            items = [tender_record(tender, settings.timezone, now=now) for tender in page]
    pages = math.ceil(total / query.per_page)
    response = _json({"items": items, "page": query.page, "per_page": query.per_page, "total": total, "pages": pages})
    links = _page_links(settings.base_url, query.page, pages)
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def parse_query(args: MultiDict[str, str], *, tz: ZoneInfo, now: datetime) -> TenderQuery:
    """The filters and page of a query string; :class:`BadParameterError` names what is wrong."""
    for name in args:
        if name not in SINGLE and name not in REPEATABLE:
            raise BadParameterError(f"tuntematon parametri {name!r}; tunnetut: {', '.join((*SINGLE, *REPEATABLE))}")
        if name in SINGLE and len(args.getlist(name)) > 1:
            raise BadParameterError(f"parametri {name} on annettu useammin kuin kerran")
    filters: dict[str, Any] = {
        "open_only": not _flag(args, "all"),
        "now": now,
        "sectors": _choices(args, "sector", list(sector_names()), "toimiala"),
        "kinds": _choices(args, "kind", NOTICE_KINDS, "ilmoituslaji"),
        "statuses": _choices(args, "status", STATUSES, "tila"),
        "sort": args.get("sort", "deadline"),
    }
    if filters["sort"] not in TENDER_SORTS:
        raise BadParameterError(f"sort {filters['sort']!r}: tuntematon järjestys; käy {', '.join(TENDER_SORTS)}")
    if "region" in args:
        filters["region_level"], filters["region"] = _region(args["region"])
    for window in ("published", "deadline"):
        start, end = _day(args, f"{window}_from", tz), _day(args, f"{window}_to", tz, next_day=True)
        if start is not None and end is not None and start >= end:
            raise BadParameterError(f"{window}_from on myöhempi kuin {window}_to")
        filters[f"{window}_from"], filters[f"{window}_before"] = start, end
    page = _number(args, "page", default=1, low=1, high=10**9 - 1)
    per_page = _number(args, "per_page", default=PER_PAGE_DEFAULT, low=1, high=PER_PAGE_MAX)
    return TenderQuery(filters=filters, page=page, per_page=per_page)


def _flag(args: MultiDict[str, str], name: str) -> bool:
    value = args.get(name, "0").strip().lower()
    if value not in FLAG_VALUES:
        raise BadParameterError(f"{name} {value!r}: anna 1 tai 0")
    return FLAG_VALUES[value]


def _choices(args: MultiDict[str, str], name: str, known: list[str] | tuple[str, ...], word: str) -> list[str]:
    values = args.getlist(name)
    for value in values:
        if value not in known:
            raise BadParameterError(f"{name} {value!r}: tuntematon {word}; tunnetut: {', '.join(known)}")
    return values


def _region(text: str) -> tuple[str, str]:
    try:
        return region_choice(text)
    except InputError:
        raise BadParameterError(
            f"region {text!r}: ei maakunnan, seutukunnan eikä kunnan koodi tai nimi "
            "(esim. 05, 053, 061, Forssa tai kunta:051)"
        ) from None


def _day(args: MultiDict[str, str], name: str, tz: ZoneInfo, *, next_day: bool = False) -> datetime | None:
    """A YYYY-MM-DD day as the instant its Helsinki day starts (or the next day, for an inclusive end).

    None also when the bound lies outside what a datetime can hold: such a bound
    excludes nothing.
    """
    value = args.get(name)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise BadParameterError(f"{name} {value!r}: anna päivä muodossa VVVV-KK-PP, esim. 2026-05-20") from None
    try:
        if next_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return None


def _number(args: MultiDict[str, str], name: str, *, default: int, low: int, high: int) -> int:
    value = args.get(name)
    if value is None:
        return default
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise BadParameterError(f"{name} {value!r}: anna kokonaisluku {low}–{high}")
    return int(value)


def _page_links(base_url: str, page: int, pages: int) -> list[str]:
    """RFC 8288 links to the neighbouring pages, keeping every other parameter as given."""
    links = []
    if page < pages:
        links.append(f'<{_page_url(base_url, page + 1)}>; rel="next"')
    if 1 < page <= pages:
        links.append(f'<{_page_url(base_url, page - 1)}>; rel="prev"')
    return links


def _page_url(base_url: str, page: int) -> str:
    params = [(name, value) for name, value in request.args.items(multi=True) if name != "page"]
    params.append(("page", str(page)))
    return f"{base_url.rstrip('/')}{request.path}?{urlencode(params)}"
