"""The vitality meter's pages: the staff dashboard, its charts and CSV exports, and the public methodology page.

Everything is computed per request from the stored award notices by
:mod:`models.vitality` (a few hundred awards a year in Kanta-Häme: no cache needed).
Every figure on the dashboard is a table, most have a chart next to them, and each
can be downloaded as CSV with the same filters, so staff can check a chart against
its numbers and take the numbers to a report.

Charts are matplotlib SVGs served from their own URL and shown with ``<img>``: no
script, and the SVG carries no ``<style>`` or ``style=""`` (the site's CSP allows
neither): matplotlib's inline styles are rewritten as SVG presentation attributes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import matplotlib
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from lxml import etree
from matplotlib.figure import Figure as PlotFigure
from matplotlib.ticker import PercentFormatter

from crawler.classification.region_data import load_region_data
from crawler.classification.sectors import sector_names
from models.db import session_scope
from models.vitality import (
    KANTA_HAME,
    LOCATION_CLASSES,
    LOCATION_LABELS,
    Contract,
    Filters,
    Indicators,
    Procedure,
    filtered,
    group_key,
    indicators,
    load_procedures,
    periods,
    yearly_by_municipality,
)
from web.auth import login_required
from web.staff import neutralised

matplotlib.use("Agg")  # no display on a server; charts are drawn with Figure objects, never pyplot's global state

blueprint = Blueprint("vitality", __name__)

PERIOD_WORDS = {"vuosi": "year", "neljannes": "quarter"}
#: The colours of the location classes, near to far; the tables carry the same numbers.
CLASS_COLOURS = {
    "municipality": "#0b5a3c",
    "subregion": "#2f8f5b",
    "region": "#8cc084",
    "finland": "#3a6ea5",
    "abroad": "#7b4f9d",
    "unknown": "#b0b0b0",
}


@dataclass(frozen=True)
class Figure:
    """One figure of the dashboard: a table (and maybe a chart) of indicators per group."""

    slug: str
    title: str
    group_title: str
    chart: bool


FIGURES = {
    figure.slug: figure
    for figure in (
        Figure("jaksot", "Ajanjaksoittain", "Ajanjakso", chart=True),
        Figure("seutukunnat", "Seutukunnittain", "Seutukunta", chart=True),
        Figure("kunnat", "Hankintayksikön kunnan mukaan", "Kunta", chart=True),
        Figure("toimialat", "Toimialoittain", "Toimiala", chart=True),
        Figure("hankkijat", "Hankintayksiköittäin", "Hankintayksikkö", chart=False),
        Figure("vuosivertailu", "Vuosivertailu kunnittain", "Kunta ja vuosi", chart=True),
    )
}
_FIGURE_DIMENSIONS = {
    "jaksot": "period",
    "seutukunnat": "subregion",
    "kunnat": "municipality",
    "toimialat": "sector",
    "hankkijat": "buyer",
}
MEASURES = {"arvo": "arvosta", "sopimukset": "sopimuksista"}


# -- request → data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The filters of one request, the choices the form offers and the procedures they keep."""

    filters: Filters
    args: dict[str, str]
    procedures: list[Procedure]
    choices: dict[str, list[tuple[str, str]]]

    def figure_rows(self, slug: str) -> list[Indicators]:
        if slug == "vuosivertailu":
            return yearly_by_municipality(self.procedures)
        return indicators(self.procedures, group_key(_FIGURE_DIMENSIONS[slug], self.filters))


def _view() -> View:
    regions = load_region_data()
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        every = load_procedures(session)
    args = request.args
    period = PERIOD_WORDS.get(args.get("jakso", ""), "year")
    subregions = {code: s.name_fi for code, s in regions.subregions.items() if s.maakunta == KANTA_HAME}
    municipalities = {code: m.name_fi for code, m in regions.municipalities.items() if m.maakunta == KANTA_HAME}
    sectors = sector_names()
    buyers = {str(p.buyer_id): p.buyer_name for p in every if p.buyer_id is not None}
    period_values = periods(every, period)

    def pick(name: str, allowed: Sequence[str] | dict[str, str]) -> str | None:
        value = args.get(name, "")
        return value if value in allowed else None

    chosen = {
        "jakso": "neljannes" if period == "quarter" else "vuosi",
        "aika": pick("aika", period_values),
        "seutukunta": pick("seutukunta", subregions),
        "kunta": pick("kunta", municipalities),
        "toimiala": pick("toimiala", sectors),
        "hankkija": pick("hankkija", buyers),
    }
    filters = Filters(
        period=period,
        period_value=chosen["aika"],
        subregion=chosen["seutukunta"],
        municipality=chosen["kunta"],
        sector=chosen["toimiala"],
        buyer_id=int(chosen["hankkija"]) if chosen["hankkija"] else None,
    )
    choices = {
        "jakso": [("vuosi", "Vuosi"), ("neljannes", "Vuosineljännes")],
        "aika": [(value, value) for value in period_values],
        "seutukunta": sorted(subregions.items(), key=lambda item: item[1]),
        "kunta": sorted(municipalities.items(), key=lambda item: item[1]),
        "toimiala": sorted(sectors.items(), key=lambda item: item[1]),
        "hankkija": sorted(buyers.items(), key=lambda item: item[1]),
    }
    kept_args = {name: value for name, value in chosen.items() if value and not (name == "jakso" and value == "vuosi")}
    return View(filters, kept_args, filtered(every, filters), choices)


# -- pages ------------------------------------------------------------------------------------


@blueprint.get("/henkilokunta/elinvoima")
@login_required
def dashboard() -> str:
    view = _view()
    total = indicators(view.procedures)
    contracts = sorted(
        (contract for procedure in view.procedures for contract in procedure.contracts),
        key=lambda c: (c.day, c.buyer_name, c.lot_id),
        reverse=True,
    )
    return render_template(
        "vitality/dashboard.html",
        title="Elinvoimamittari",
        view=view,
        total=total[0] if total else None,
        figures=[(figure, view.figure_rows(figure.slug)) for figure in FIGURES.values()],
        contracts=contracts,
        classes=LOCATION_CLASSES,
        class_labels=LOCATION_LABELS,
        percent=format_percent,
        money=format_euro,
        decimal=format_decimal,
        chart_alt=chart_alt,
        sources=CONTRACT_SOURCES,
        sizes=SIZE_WORDS,
    )


@blueprint.get("/elinvoimamittari/menetelmat")
def methodology() -> str:
    return render_template(
        "vitality/methodology.html", title="Elinvoimamittarin menetelmät", class_labels=LOCATION_LABELS
    )


@blueprint.get("/henkilokunta/elinvoima/kuva/<slug>.svg")
@login_required
def chart(slug: str) -> Response:
    figure = FIGURES.get(slug)
    if figure is None or not figure.chart:
        abort(404)
    measure = request.args.get("mitta", "arvo")
    if measure not in MEASURES:
        abort(404)
    view = _view()
    rows = view.figure_rows(slug)
    svg = stacked_chart(rows, measure=measure, title=f"{figure.title}: voittajien sijainti {MEASURES[measure]}")
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@blueprint.get("/henkilokunta/elinvoima/<slug>.csv")
@login_required
def export(slug: str) -> Response:
    view = _view()
    if slug == "sopimukset":
        header, body = contract_table([c for p in view.procedures for c in p.contracts])
    elif slug in FIGURES:
        header, body = indicator_table(view.figure_rows(slug), FIGURES[slug].group_title)
    else:
        abort(404)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 only with the BOM
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_csv_cell(value) for value in row] for row in body])
    day = datetime.now(UTC).date().isoformat()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="elinvoimamittari-{slug}-{day}.csv"'},
    )


# -- tables (the CSV columns; the page shows the same numbers) ---------------------------------


def indicator_table(rows: Sequence[Indicators], group_title: str) -> tuple[list[str], list[list[Any]]]:
    header = [group_title, "Hankintoja", "Sopimuksia"]
    header += [f"Sopimuksia: {LOCATION_LABELS[c]}" for c in LOCATION_CLASSES]
    header += [
        "Sopimuksista samassa kunnassa (%)",
        "Sopimuksista samassa seutukunnassa (%)",
        "Sopimuksista Kanta-Hämeessä (%)",
        "Arvo yhteensä (€)",
    ]
    header += [f"Arvo: {LOCATION_LABELS[c]} (€)" for c in LOCATION_CLASSES]
    header += [
        "Arvosta samassa kunnassa (%)",
        "Arvosta samassa seutukunnassa (%)",
        "Arvosta Kanta-Hämeessä (%)",
        "Sopimuksia ilman arvoa",
        "PK-yrityksiä",
        "Suuria yrityksiä",
        "Koko ei tiedossa",
        "PK-yritysten osuus kokonsa ilmoittaneista (%)",
        "Osia, joiden tarjousmäärä tiedossa",
        "Tarjouksia osaa kohden",
        "Yhden tarjouksen osia (%)",
        "Osiin jaettuja hankintoja",
        "Osiin jaettujen osuus (%)",
        "Kestävyys huomioitu: kyllä",
        "Kestävyys huomioitu: ei",
        "Kestävyys: ei vastausta",
        "Kestävyys huomioitu vastanneista (%)",
        "PK-yritykset huomioitu: kyllä",
        "PK-yritykset huomioitu: ei",
        "PK-yritykset: ei vastausta",
        "PK-yritykset huomioitu vastanneista (%)",
    ]
    body = []
    for row in rows:
        line: list[Any] = [row.group, row.procedures, row.contracts]
        line += [row.contracts_by_class[c] for c in LOCATION_CLASSES]
        line += [_pct(row.local_contract_share(level)) for level in ("municipality", "subregion", "region")]
        line += [row.value]
        line += [row.value_by_class[c] for c in LOCATION_CLASSES]
        line += [_pct(row.local_value_share(level)) for level in ("municipality", "subregion", "region")]
        line += [row.contracts_without_value, row.sme, row.large, row.size_unknown, _pct(row.sme_share)]
        line += [row.lots_with_count, _round(row.average_tenders), _pct(row.single_tender_share)]
        line += [row.divided, _pct(row.divided_share)]
        line += [row.sustainability[k] for k in ("yes", "no", "unanswered")] + [_pct(row.sustainability_share)]
        line += [row.sme_flag[k] for k in ("yes", "no", "unanswered")] + [_pct(row.sme_flag_share)]
        body.append(line)
    return header, body


CONTRACT_SOURCES = {
    "postcode": "postinumero",
    "town": "postitoimipaikka",
    "nuts": "NUTS-alue (vain maakunta)",
    "country": "maa",
    "register": "yritysrekisteri",
    "none": "ei tietoa",
}


def contract_table(contracts: Sequence[Contract]) -> tuple[list[str], list[list[Any]]]:
    regions = load_region_data()
    header = [
        "Päivä",
        "Hankintayksikkö",
        "Hankintayksikön kunta",
        "Osa",
        "Toimittaja",
        "Y-tunnus",
        "Toimittajan kunta",
        "Sijainti",
        "Sijainnin lähde",
        "Arvo (€)",
        "Koko",
        "Puitejärjestely",
    ]
    body = [
        [
            c.day,
            c.buyer_name,
            regions.place_name("municipality", c.buyer_municipality) if c.buyer_municipality else "",
            c.lot_id,
            c.winner_name or "",
            c.winner_business_id or "",
            regions.place_name("municipality", c.location.municipality) if c.location.municipality else "",
            LOCATION_LABELS[c.location_class],
            CONTRACT_SOURCES[c.location.source],
            c.value,
            SIZE_WORDS.get(c.size or "", "ei tiedossa"),
            "kyllä" if c.framework else "ei",
        ]
        for c in sorted(contracts, key=lambda c: (c.day, c.buyer_name, c.lot_id))
    ]
    return header, body


SIZE_WORDS = {"micro": "mikro", "small": "pieni", "medium": "keskisuuri", "large": "suuri"}


def _pct(share: float | None) -> Decimal | None:
    return None if share is None else Decimal(str(round(share * 100, 1)))


def _round(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 1)))


def _csv_cell(value: Any) -> str:
    """Finnish Excel: decimal comma, d.m.yyyy dates, formulas neutralised (names come from notices)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f").replace(".", ",")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day}.{value.month}.{value.year}"
    if isinstance(value, int):
        return str(value)
    return neutralised(str(value))


# -- formatting for the page ------------------------------------------------------------------


def format_percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{share * 100:.1f}".replace(".", ",") + "\u00a0%"


def format_decimal(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def format_euro(value: Decimal | None) -> str:
    if value is None:
        return "–"
    whole = f"{int(value.to_integral_value()):,}".replace(",", "\u00a0")
    return f"{whole}\u00a0€"


def chart_alt(figure: Figure, rows: Sequence[Indicators], measure: str) -> str:
    """The chart in words: what it shows and the local (Kanta-Häme) share of each group; the table has the rest."""
    parts = []
    for row in rows[:12]:
        share = row.local_value_share("region") if measure == "arvo" else row.local_contract_share("region")
        parts.append(f"{row.group} {format_percent(share)}")
    more = " …" if len(rows) > 12 else ""
    return (
        f"Pinottu pylväskaavio: voittajien sijainti {MEASURES[measure]} ({figure.title.lower()}). "
        f"Kanta-Hämeen yritysten osuus: {', '.join(parts)}{more}. Kaikki luvut ovat taulukossa kaavion alla."
    )


# -- charts -----------------------------------------------------------------------------------


def stacked_chart(rows: Sequence[Indicators], *, measure: str, title: str) -> bytes:
    """Horizontal bars, one per group, split by the winners' location classes (shares of value or contracts)."""
    labels = [row.group for row in rows] or ["(ei hankintoja)"]
    height = 1.2 + 0.42 * len(labels)
    figure = PlotFigure(figsize=(7.2, height), dpi=100)
    axes = figure.subplots()
    left = [0.0] * len(labels)
    for location_class in LOCATION_CLASSES:
        shares = []
        for row in rows:
            share = row.value_share(location_class) if measure == "arvo" else row.contract_share(location_class)
            shares.append(share or 0.0)
        if not rows:
            shares = [0.0]
        axes.barh(
            labels,
            shares,
            left=left,
            color=CLASS_COLOURS[location_class],
            label=LOCATION_LABELS[location_class],
            edgecolor="white",
            linewidth=0.6,
        )
        left = [a + b for a, b in zip(left, shares, strict=True)]
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_title(title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(ncols=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / height), frameon=False)
    figure.tight_layout()
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "elinvoimamittari"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return without_inline_styles(buffer.getvalue().encode("utf-8"))


def without_inline_styles(svg: bytes) -> bytes:
    """The SVG with ``style`` attributes and ``<style>`` elements turned into presentation attributes.

    The site's CSP has no ``'unsafe-inline'`` for styles, and a browser may apply it to
    an SVG image too; presentation attributes (``fill="…"``) are not styles to CSP.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(svg, parser)
    svg_ns = "{http://www.w3.org/2000/svg}"
    for style in root.iter(f"{svg_ns}style"):
        for declaration in (style.text or "").strip().strip("*{}").split(";"):
            _set_presentation(root, declaration)
        style.getparent().remove(style)
    for element in root.iter():
        declarations = element.attrib.pop("style", None)
        if declarations:
            for declaration in declarations.split(";"):
                _set_presentation(element, declaration)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _set_presentation(element: etree._Element, declaration: str) -> None:
    name, _, value = declaration.partition(":")
    name, value = name.strip(), value.strip()
    if name and value:
        element.set(name, value)


def figure_args(view: View, **extra: str) -> dict[str, str]:
    return {**view.args, **extra}


@blueprint.app_context_processor
def _helpers() -> dict[str, Callable[..., Any]]:
    def vitality_url(endpoint: str, view: View, **extra: str) -> str:
        return url_for(endpoint, **figure_args(view, **extra))

    return {"vitality_url": vitality_url}
