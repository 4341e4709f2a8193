"""Staff tender list at ``/henkilokunta/``: filters, sorting, pages of 50, and exports of the filtered list.

Every filter is a GET parameter, so a filtered list is a link staff can bookmark or
send, and the CSV and Excel exports take the same parameters: an export is the list
on screen, all pages of it. Filter values are checked against what is known (region
codes, sector slugs, kinds, states); an unknown or malformed value is dropped rather
than refused, because the form only offers known ones and a stale bookmark should
still open.

Free text finds Finnish words in their inflected forms by the stems the alert
keywords use (:func:`models.queries.text_condition`). Exports neutralise text that a
spreadsheet would run as a formula: notice texts come from the internet.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, send_file, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from alerts.compose import Mailer
from alerts.render import STATUS_WORDS, format_moment
from crawler.items import NOTICE_KINDS
from models.db import session_scope
from models.queries import REVIEW_STATES, STAFF_SORTS, count_tenders, select_tenders, tender_page
from models.review import TenderReview
from models.tender import TENDER_STATUSES, Tender
from web.auth import current_staff, login_required
from web.public import NOTICE_KIND_WORDS, Choice

blueprint = Blueprint("staff", __name__, url_prefix="/henkilokunta")

PER_PAGE = 50
#: The filters a phone screen folds under "Lisää rajauksia" (the list's first screen stays the list).
FOLDED_FILTERS = (
    "kunta",
    "laji",
    "tila",
    "arvio",
    "maaraaika_alkaen",
    "maaraaika_asti",
    "julkaistu_alkaen",
    "julkaistu_asti",
)
#: How far the list counts a free-text search's matches before it says "over" (see tender_list).
TEXT_COUNT_CAP = 1000
#: Effective statuses (``closed``: open but past its deadline).
STATUSES: tuple[str, ...] = (*TENDER_STATUSES, "closed")
DEFAULT_SORT = "-published"
SORT_WORDS: dict[str, str] = {
    "-published": "Uusin julkaisu ensin",
    "published": "Vanhin julkaisu ensin",
    "deadline": "Määräaika, aikaisin ensin",
    "-deadline": "Määräaika, myöhäisin ensin",
    "title": "Otsikko A–Ö",
    "-title": "Otsikko Ö–A",
    "buyer": "Hankkija A–Ö",
    "-buyer": "Hankkija Ö–A",
}
REVIEW_WORDS: dict[str, str] = {
    "unreviewed": "Arvioimatta",
    "relevant": "Relevantti",
    "not_relevant": "Ei relevantti",
}
#: The export's columns, in order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "Otsikko",
    "Hankkija",
    "Y-tunnus",
    "Kunnat",
    "Seutukunnat",
    "Maakunnat",
    "Toimialat",
    "Tila",
    "Määräaika",
    "Julkaistu",
    "Arvioitu arvo",
    "Ilmoituksen linkki",
    "Asiakirjat",
    "Arvio",
    "Muistiinpano",
)
#: What a spreadsheet would take for the start of a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_EXPORT_BATCH = 500
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as db:
        yield db


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """An optgroup of a select."""

    label: str
    choices: list[Choice]


@dataclass(frozen=True)
class Choices:
    """What the filter selects offer, with Finnish names."""

    maakunnat: list[Choice]
    seutukunnat: list[Group]
    kunnat: list[Group]
    sectors: list[Choice]
    kinds: list[Choice]
    statuses: list[Choice]
    reviews: list[Choice]
    sorts: list[Choice]

    @classmethod
    def build(cls, mailer: Mailer) -> Choices:
        data = mailer.regions
        maakunnat = sorted((Choice(code, m.name_fi) for code, m in data.maakunta.items()), key=_by_label)
        names = {choice.value: choice.label for choice in maakunnat}
        subregions: dict[str, list[Choice]] = defaultdict(list)
        for code, subregion in data.subregions.items():
            subregions[subregion.maakunta].append(Choice(code, subregion.name_fi))
        towns: dict[str, list[Choice]] = defaultdict(list)
        for code, town in data.municipalities.items():
            towns[town.maakunta].append(Choice(code, town.name_fi))
        return cls(
            maakunnat=maakunnat,
            seutukunnat=_groups(subregions, names),
            kunnat=_groups(towns, names),
            sectors=[Choice(slug, name) for slug, name in mailer.sectors.items()],
            kinds=[Choice(kind, NOTICE_KIND_WORDS.get(kind, kind).capitalize()) for kind in NOTICE_KINDS],
            statuses=[Choice(status, STATUS_WORDS[status].capitalize()) for status in STATUSES],
            reviews=[Choice(state, REVIEW_WORDS[state]) for state in REVIEW_STATES],
            sorts=[Choice(sort, SORT_WORDS[sort]) for sort in SORT_WORDS],
        )

    def known(self, name: str) -> set[str]:
        """The values the select ``name`` offers."""
        options: list[Choice] | list[Group] = getattr(self, name)
        values: set[str] = set()
        for option in options:
            if isinstance(option, Group):
                values.update(choice.value for choice in option.choices)
            else:
                values.add(option.value)
        return values


def _by_label(choice: Choice) -> str:
    return choice.label


def _groups(members: dict[str, list[Choice]], maakunta_names: dict[str, str]) -> list[Group]:
    """Choices grouped under their maakunta, groups and members by name."""
    groups = [
        Group(maakunta_names.get(code, code), sorted(choices, key=_by_label)) for code, choices in members.items()
    ]
    return sorted(groups, key=lambda group: group.label)


@dataclass(frozen=True)
class StaffFilters:
    """The list's GET parameters, each a known value or empty (Finnish names: they show in bookmarks)."""

    maakunta: str = ""
    seutukunta: str = ""
    kunta: str = ""
    toimiala: str = ""
    laji: str = ""
    tila: str = ""
    maaraaika_alkaen: str = ""
    maaraaika_asti: str = ""
    julkaistu_alkaen: str = ""
    julkaistu_asti: str = ""
    haku: str = ""
    arvio: str = ""
    jarjestys: str = DEFAULT_SORT

    @classmethod
    def from_args(cls, args: MultiDict[str, str], choices: Choices) -> StaffFilters:
        def pick(name: str, known: Iterable[str]) -> str:
            value = (args.get(name) or "").strip()
            return value if value in known else ""

        def day(name: str) -> str:
            value = (args.get(name) or "").strip()
            try:
                return date.fromisoformat(value).isoformat() if len(value) == 10 else ""
            except ValueError:
                return ""

        return cls(
            maakunta=pick("maakunta", choices.known("maakunnat")),
            seutukunta=pick("seutukunta", choices.known("seutukunnat")),
            kunta=pick("kunta", choices.known("kunnat")),
            toimiala=pick("toimiala", choices.known("sectors")),
            laji=pick("laji", NOTICE_KINDS),
            tila=pick("tila", STATUSES),
            maaraaika_alkaen=day("maaraaika_alkaen"),
            maaraaika_asti=day("maaraaika_asti"),
            julkaistu_alkaen=day("julkaistu_alkaen"),
            julkaistu_asti=day("julkaistu_asti"),
            haku=" ".join((args.get("haku") or "").split())[:200],
            arvio=pick("arvio", REVIEW_STATES),
            jarjestys=pick("jarjestys", STAFF_SORTS) or DEFAULT_SORT,
        )

    def query(self, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
        """Keyword arguments for :func:`select_tenders` and :func:`count_tenders`."""
        places = [
            (level, code)
            for level, code in (("region", self.maakunta), ("subregion", self.seutukunta), ("municipality", self.kunta))
            if code
        ]
        return {
            "open_only": False,
            "now": now,
            "places": places,
            "sectors": [self.toimiala] if self.toimiala else [],
            "kinds": [self.laji] if self.laji else [],
            "statuses": [self.tila] if self.tila else [],
            "deadline_from": _day_start(self.maaraaika_alkaen, tz),
            "deadline_before": _day_start(self.maaraaika_asti, tz, next_day=True),
            "published_from": _day_start(self.julkaistu_alkaen, tz),
            "published_before": _day_start(self.julkaistu_asti, tz, next_day=True),
            "text": self.haku or None,
            "review": self.arvio or None,
            "sort": self.jarjestys,
        }

    def query_string(self, **extra: str | int) -> str:
        """The filters as a query string (empty ones and the default order left out), plus ``extra``."""
        values = {key: value for key, value in asdict(self).items() if value and value != DEFAULT_SORT}
        values.update({key: str(value) for key, value in extra.items()})
        return urlencode(values)

    @property
    def active(self) -> bool:
        return any(getattr(self, item.name) for item in fields(self) if item.name != "jarjestys")

    @property
    def folded_active(self) -> bool:
        """Whether a filter of the folded "more filters" part is set: the page then shows it open."""
        return any(getattr(self, name) for name in FOLDED_FILTERS)


def _day_start(text: str, tz: ZoneInfo, *, next_day: bool = False) -> datetime | None:
    """The instant a Helsinki day begins (the next day's, for an inclusive end); None for no day."""
    if not text:
        return None
    day = date.fromisoformat(text) + timedelta(days=1 if next_day else 0)
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _page_number(args: MultiDict[str, str]) -> int:
    value = (args.get("sivu") or "1").strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 10**6 else 1


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """A tender's places by level, as Finnish names."""

    municipalities: list[str]
    subregions: list[str]
    regions: list[str]
    summary: str


def _places(tender: Tender, mailer: Mailer) -> Places:
    codes: dict[str, list[str]] = defaultdict(list)
    for row in tender.regions:
        codes[row.level].append(row.code)
    data = mailer.regions
    return Places(
        municipalities=[data.place_name("municipality", code) for code in codes["municipality"]],
        subregions=[data.place_name("subregion", code) for code in codes["subregion"]],
        regions=[data.place_name("region", code) for code in codes["region"]],
        summary=data.describe_places(
            codes["region"], codes["subregion"], codes["municipality"], bool(tender.nationwide)
        ),
    )


def _reviews(session: Session, tender_ids: list[int]) -> dict[int, TenderReview]:
    if not tender_ids:
        return {}
    rows = session.scalars(select(TenderReview).where(TenderReview.tender_id.in_(tender_ids)))
    return {row.tender_id: row for row in rows}


def _row(tender: Tender, review: TenderReview | None, mailer: Mailer, now: datetime) -> dict[str, Any]:
    places = _places(tender, mailer)
    status = tender.effective_status(now)
    return {
        "id": tender.id,
        "title": tender.title or "(nimetön hankinta)",
        "buyer": tender.buyer.name if tender.buyer is not None else None,
        "place": places.summary,
        "sectors": [mailer.sectors.get(row.slug, row.slug) for row in tender.sectors],
        "status": STATUS_WORDS.get(status, status),
        "status_code": status,
        "deadline": format_moment(tender.deadline, mailer.timezone) if tender.deadline else "ei määräaikaa",
        "published": format_moment(tender.first_published_at, mailer.timezone) if tender.first_published_at else "",
        "review": review.relevance if review is not None else None,
        "note": bool(review is not None and review.note),
    }


# --- the list ---------------------------------------------------------------------------------


@blueprint.get("/")
@login_required
def tender_list() -> str:
    """One page of the filtered list, with the total count and links that keep the filters."""
    mailer = _mailer()
    now = datetime.now(UTC)
    choices = Choices.build(mailer)
    filters = StaffFilters.from_args(request.args, choices)
    page = _page_number(request.args)
    query = filters.query(now=now, tz=mailer.timezone)
    offset = (page - 1) * PER_PAGE
    # A free-text search for a common word matches a large share of all tenders: count
    # only as far as this page and the next need, and say "over N" beyond.
    cap = max(TEXT_COUNT_CAP, offset + PER_PAGE) + 1 if query.get("text") else None
    with _session() as session:
        total = session.scalar(count_tenders(cap=cap, **query)) or 0
        rows: list[dict[str, Any]] = []
        if offset < total:
            tenders = tender_page(session, offset=offset, limit=PER_PAGE, **query)
            reviews = _reviews(session, [tender.id for tender in tenders])
            rows = [_row(tender, reviews.get(tender.id), mailer, now) for tender in tenders]
    over = cap is not None and total >= cap
    if over:
        total -= 1
    pages = max(1, math.ceil(total / PER_PAGE))
    return render_template(
        "staff/list.html",
        title="Hankinnat" if page == 1 else f"Hankinnat, sivu {page}",
        staff=current_staff(),
        filters=filters,
        choices=choices,
        rows=rows,
        total=total,
        over=over,
        page=page,
        pages=pages,
        first=offset + 1,
        last=offset + len(rows),
        review_words=REVIEW_WORDS,
    )


# --- exports ----------------------------------------------------------------------------------


def _export_rows(query: dict[str, Any], mailer: Mailer, now: datetime) -> Iterator[dict[str, Any]]:
    """Every tender of the filtered list as the export's columns (typed values), read in batches."""
    with _session() as session:
        statement = select_tenders(**query).execution_options(yield_per=_EXPORT_BATCH)
        for batch in session.scalars(statement).partitions():
            reviews = _reviews(session, [tender.id for tender in batch])
            for tender in batch:
                yield _export_row(tender, reviews.get(tender.id), mailer, now)


def _export_row(tender: Tender, review: TenderReview | None, mailer: Mailer, now: datetime) -> dict[str, Any]:
    places = _places(tender, mailer)
    status = tender.effective_status(now)
    buyer = tender.buyer
    tz = mailer.timezone
    return {
        "Otsikko": tender.title or "",
        "Hankkija": buyer.name if buyer is not None else "",
        "Y-tunnus": (buyer.business_id or "") if buyer is not None else "",
        "Kunnat": ", ".join(places.municipalities),
        "Seutukunnat": ", ".join(places.subregions),
        "Maakunnat": ", ".join(places.regions) or ("koko maa" if tender.nationwide else ""),
        "Toimialat": ", ".join(mailer.sectors.get(row.slug, row.slug) for row in tender.sectors),
        "Tila": STATUS_WORDS.get(status, status),
        "Määräaika": tender.deadline.astimezone(tz).replace(tzinfo=None) if tender.deadline else None,
        "Julkaistu": tender.first_published_at.astimezone(tz).date() if tender.first_published_at else None,
        "Arvioitu arvo": tender.estimated_value,
        "Ilmoituksen linkki": tender.url or "",
        "Asiakirjat": tender.documents_url or "",
        "Arvio": REVIEW_WORDS[review.relevance] if review is not None and review.relevance else "",
        "Muistiinpano": (review.note or "") if review is not None else "",
    }


def neutralised(text: str) -> str:
    """Text a spreadsheet shows as text: one that would start a formula gets an apostrophe in front."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_value(value: Any) -> str:
    """A value as Finnish Excel reads it from CSV: d.m.yyyy dates, decimal comma, plain text otherwise."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value.day}.{value.month}.{value.year} {value.hour}.{value.minute:02d}"
    if isinstance(value, date):
        return f"{value.day}.{value.month}.{value.year}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f").replace(".", ",") if value == value else ""
    return neutralised(str(value))


def _export_name(extension: str) -> str:
    return f"hankinnat-{datetime.now(UTC).astimezone(_mailer().timezone).date().isoformat()}.{extension}"


def _export_query() -> tuple[dict[str, Any], Mailer, datetime]:
    mailer = _mailer()
    now = datetime.now(UTC)
    filters = StaffFilters.from_args(request.args, Choices.build(mailer))
    return filters.query(now=now, tz=mailer.timezone), mailer, now


@blueprint.get("/vienti.csv")
@login_required
def export_csv() -> Response:
    """The filtered list as CSV for Finnish Excel: UTF-8 with a BOM, ';' between fields; streamed."""
    query, mailer, now = _export_query()

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        yield "\ufeff" + _drain(buffer)
        for count, row in enumerate(_export_rows(query, mailer, now), start=1):
            writer.writerow([_csv_value(row[column]) for column in EXPORT_COLUMNS])
            if count % 200 == 0:
                yield _drain(buffer)
        yield _drain(buffer)

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@blueprint.get("/vienti.xlsx")
@login_required
def export_xlsx() -> Response:
    """The filtered list as an Excel workbook, written row by row (openpyxl's write-only mode) to a temporary file."""
    query, mailer, now = _export_query()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Hankinnat")
    sheet.append(list(EXPORT_COLUMNS))
    for row in _export_rows(query, mailer, now):
        sheet.append([_xlsx_cell(sheet, row[column]) for column in EXPORT_COLUMNS])
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - send_file closes it
    workbook.save(output)
    output.seek(0)
    return send_file(output, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=_export_name("xlsx"))


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    """A typed cell: dates and money as such, text always as text (never a formula)."""
    if isinstance(value, Decimal):
        value = float(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, datetime):
        cell.number_format = "d.m.yyyy h:mm"
    elif isinstance(value, date):
        cell.number_format = "d.m.yyyy"
    elif isinstance(value, float):
        cell.number_format = "#,##0.00"
    return cell


@blueprint.app_template_global()
def staff_tender_url(tender_id: int) -> str:
    """The staff detail page of a tender (built by the review blueprint)."""
    return f"{request.script_root}/henkilokunta/hankinnat/{tender_id}"
