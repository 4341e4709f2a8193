"""How well regions and sectors are classified, measured on hand-labelled notices.

``python -m crawler.classification.evaluation [PATH] [--errors]`` (``make eval``) reads a
folder holding ``notices.json`` (a HILMA search response) and ``labels.json`` (what a
careful Häme reader gives for each notice, see its ``_about`` entry), maps every
document with :func:`crawler.hilma_json.map_index_document` and runs three
classifiers side by side:

* **NUTS only**: what the HILMA and TED filters do, regions from the place-of-performance
  NUTS codes alone and a sector from the main CPV code's division;
* **naive substring**: NUTS only plus every Häme municipality whose name appears
  anywhere in the title, description or buyer, the first thing one would try;
* **Hankintavahti**: :func:`crawler.classification.regions.classify_regions` and
  :func:`crawler.classification.sectors.classify_sectors`.

The baselines carry their own small tables on purpose: they model other systems'
behaviour and must not get better when the project's data files in ``config/`` do.

Figures per classifier: precision and recall of Kanta-Häme (``05``) and Päijät-Häme
(``07``) membership, the share of notices whose Häme municipalities are exactly right,
the share whose sector set is exactly right, and the share whose nationwide flag is right.
A figure whose denominator is zero is ``None`` (printed ``–``): nothing to measure is
not a perfect score.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.errors import InputError
from crawler.hilma_json import map_index_document
from crawler.items import NoticeItem

#: The labelled set that ships with the project.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "classification"

KANTA_HAME, PAIJAT_HAME = "05", "07"

#: The issue's targets: Hankintavahti must reach these on the labelled set.
MEMBERSHIP_PRECISION_TARGET = 0.98
MEMBERSHIP_RECALL_TARGET = 0.95
MUNICIPALITY_ACCURACY_TARGET = 0.90
SECTOR_ACCURACY_TARGET = 0.90


# -- what a classifier says about one notice ---------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """Regions, municipalities, sectors and the nationwide flag of one notice (a label has the same shape)."""

    regions: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    nationwide: bool = False


@dataclass(frozen=True)
class Classifier:
    """A named way of classifying an item; ``key`` is what tests and code refer to."""

    key: str
    name: str  # shown in the table, Finnish / English
    predict: Callable[[NoticeItem], Prediction]


# -- the baselines -----------------------------------------------------------------------------

#: NUTS 3 codes (2021, 2024 and the NUTS 2006 codes of old notices) → maakunta.
NUTS3_MAAKUNTA: dict[str, str] = {
    **dict.fromkeys(("FI1B1", "FI181", "FI182"), "01"),
    **dict.fromkeys(("FI1C1", "FI183"), "02"),
    "FI196": "04",
    **dict.fromkeys(("FI1C2", "FI184"), "05"),
    **dict.fromkeys(("FI197", "FI19B"), "06"),
    **dict.fromkeys(("FI1C3", "FI1C6", "FI185"), "07"),
    **dict.fromkeys(("FI1C4", "FI1C7", "FI186"), "08"),
    **dict.fromkeys(("FI1C5", "FI187"), "09"),
    **dict.fromkeys(("FI1D1", "FI1DA", "FI131"), "10"),
    **dict.fromkeys(("FI1D2", "FI1DB", "FI132"), "11"),
    **dict.fromkeys(("FI1D3", "FI1DC", "FI133"), "12"),
    **dict.fromkeys(("FI193", "FI198"), "13"),
    **dict.fromkeys(("FI194", "FI199"), "14"),
    **dict.fromkeys(("FI195", "FI19A"), "15"),
    **dict.fromkeys(("FI1D5", "FI1A1"), "16"),
    **dict.fromkeys(("FI1D9", "FI1A2", "FI1D6"), "17"),
    **dict.fromkeys(("FI1D8", "FI134", "FI1D4"), "18"),
    **dict.fromkeys(("FI1D7", "FI1A3"), "19"),
    "FI200": "21",
}

#: CPV divisions (two digits) → the sector whose prefix list in the issue names that division.
CPV_DIVISION_SECTOR: dict[str, str] = {
    "45": "rakentaminen",
    "71": "suunnittelu",
    **dict.fromkeys(("15", "03"), "elintarvikkeet"),
    "55": "ateriapalvelut",
    **dict.fromkeys(("60", "63"), "kuljetus"),
    **dict.fromkeys(("34", "16", "42", "43", "31", "38"), "ajoneuvot"),
    **dict.fromkeys(("72", "48", "30", "32"), "ict"),
    **dict.fromkeys(("85", "33"), "sote"),
    **dict.fromkeys(("80", "92"), "koulutus"),
    **dict.fromkeys(("79", "66", "75", "73", "70", "98"), "asiantuntija"),
    "22": "viestinta",
    **dict.fromkeys(("90", "41"), "ymparisto"),
    **dict.fromkeys(("09", "65"), "energia"),
    **dict.fromkeys(("39", "18", "19", "37", "44", "24", "14"), "tarvikkeet"),
    "35": "turvallisuus",
    **dict.fromkeys(("50", "51"), "huolto"),
    "77": "metsa_maatalous",
}

#: Häme municipalities by the names a substring search would look for (Finnish, and Swedish where it differs).
MUNICIPALITY_NAMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "109": ("05", "Hämeenlinna", ("Tavastehus",)),
    "082": ("05", "Hattula", ()),
    "165": ("05", "Janakkala", ()),
    "694": ("05", "Riihimäki", ()),
    "086": ("05", "Hausjärvi", ()),
    "433": ("05", "Loppi", ()),
    "061": ("05", "Forssa", ()),
    "103": ("05", "Humppila", ()),
    "169": ("05", "Jokioinen", ("Jockis",)),
    "834": ("05", "Tammela", ()),
    "981": ("05", "Ypäjä", ()),
    "016": ("07", "Asikkala", ()),
    "081": ("07", "Hartola", ()),
    "111": ("07", "Heinola", ()),
    "098": ("07", "Hollola", ()),
    "142": ("07", "Iitti", ()),
    "316": ("07", "Kärkölä", ()),
    "398": ("07", "Lahti", ("Lahtis",)),
    "560": ("07", "Orimattila", ()),
    "576": ("07", "Padasjoki", ()),
    "781": ("07", "Sysmä", ()),
}


def place_nuts(item: NoticeItem) -> list[str]:
    """Every place-of-performance NUTS code of the notice and its lots."""
    places = [*item.places, *(place for lot in item.lots for place in lot.places)]
    return [place.nuts.strip().upper() for place in places if place.nuts]


def division_sector(cpv: str | None) -> frozenset[str]:
    """The sector of a CPV code's two-digit division, or none."""
    sector = CPV_DIVISION_SECTOR.get((cpv or "")[:2])
    return frozenset({sector}) if sector else frozenset()


def predict_nuts_only(item: NoticeItem) -> Prediction:
    """Regions from the place NUTS codes alone, the main CPV's division as the sector."""
    regions = frozenset(NUTS3_MAAKUNTA[code] for code in place_nuts(item) if code in NUTS3_MAAKUNTA)
    return Prediction(regions=regions, sectors=division_sector(item.cpv_main), nationwide=not regions)


def predict_naive_substring(item: NoticeItem) -> Prediction:
    """NUTS only, plus Häme municipalities whose name appears anywhere in the texts or the buyer."""
    buyer = item.buyer
    buyer_texts = [buyer.name, buyer.street, buyer.postcode, buyer.town] if buyer else []
    haystack = " ".join(
        text or "" for text in [*item.titles.values(), *item.descriptions.values(), *buyer_texts]
    ).casefold()
    municipalities = frozenset(
        code
        for code, (_, name, other_names) in MUNICIPALITY_NAMES.items()
        if any(candidate.casefold() in haystack for candidate in (name, *other_names))
    )
    by_nuts = predict_nuts_only(item)
    regions = by_nuts.regions | {MUNICIPALITY_NAMES[code][0] for code in municipalities}
    return Prediction(regions=regions, municipalities=municipalities, sectors=by_nuts.sectors, nationwide=not regions)


def predict_hankintavahti(item: NoticeItem) -> Prediction:
    """The project's own classifiers (imported here so that the baselines run without them)."""
    from crawler.classification.regions import classify_regions
    from crawler.classification.sectors import classify_sectors

    regions = classify_regions(item)
    sectors = classify_sectors(item)
    return Prediction(
        regions=frozenset(regions.regions),
        municipalities=frozenset(regions.municipalities),
        sectors=frozenset(sectors.sectors),
        nationwide=bool(regions.nationwide),
    )


NUTS_ONLY = Classifier("nuts", "vain NUTS / NUTS only", predict_nuts_only)
NAIVE_SUBSTRING = Classifier("naive", "naiivi haku / naive substring", predict_naive_substring)
HANKINTAVAHTI = Classifier("hankintavahti", "Hankintavahti", predict_hankintavahti)
CLASSIFIERS: tuple[Classifier, ...] = (NUTS_ONLY, NAIVE_SUBSTRING, HANKINTAVAHTI)


# -- metrics -----------------------------------------------------------------------------------


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or ``None`` when there is nothing to divide by."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Membership:
    """How well "the notice concerns this maakunta" is told apart from the rest."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float | None:
        return ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float | None:
        return ratio(self.true_positives, self.true_positives + self.false_negatives)


def membership(pairs: Iterable[tuple[bool, bool]]) -> Membership:
    """Count ``(expected, predicted)`` pairs into true positives, false positives and false negatives."""
    true_positives = false_positives = false_negatives = 0
    for expected, predicted in pairs:
        true_positives += expected and predicted
        false_positives += predicted and not expected
        false_negatives += expected and not predicted
    return Membership(true_positives, false_positives, false_negatives)


@dataclass(frozen=True)
class Accuracy:
    """The share of notices where one aspect is exactly right."""

    correct: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return ratio(self.correct, self.total)


def accuracy(outcomes: Iterable[bool]) -> Accuracy:
    results = list(outcomes)
    return Accuracy(sum(results), len(results))


@dataclass(frozen=True)
class Figures:
    """One classifier's figures over the labelled set."""

    classifier: Classifier
    kanta_hame: Membership
    paijat_hame: Membership
    municipalities: Accuracy
    sectors: Accuracy
    nationwide: Accuracy
    count: int

    def shortfalls(self) -> list[str]:
        """The issue's targets these figures miss, each as a readable line (empty when all are met)."""
        checks = [
            ("Kanta-Häme precision", self.kanta_hame.precision, MEMBERSHIP_PRECISION_TARGET),
            ("Kanta-Häme recall", self.kanta_hame.recall, MEMBERSHIP_RECALL_TARGET),
            ("Päijät-Häme precision", self.paijat_hame.precision, MEMBERSHIP_PRECISION_TARGET),
            ("Päijät-Häme recall", self.paijat_hame.recall, MEMBERSHIP_RECALL_TARGET),
            ("municipality exact-set accuracy", self.municipalities.value, MUNICIPALITY_ACCURACY_TARGET),
            ("sector accuracy", self.sectors.value, SECTOR_ACCURACY_TARGET),
        ]
        return [
            f"{name} {_number(value)} < {target}" for name, value, target in checks if value is None or value < target
        ]


@dataclass(frozen=True)
class Mismatch:
    """A notice where a classifier disagrees with its label, and on what."""

    notice_id: str
    fields: tuple[str, ...]
    expected: Prediction
    got: Prediction
    note: str = ""


@dataclass(frozen=True)
class Report:
    """Figures for each classifier in the order run, and the last classifier's mismatches."""

    figures: tuple[Figures, ...]
    errors: tuple[Mismatch, ...] = field(default=())

    def of(self, key: str) -> Figures:
        """The figures of the classifier with this key."""
        return next(figures for figures in self.figures if figures.classifier.key == key)


# -- labels and evaluation ---------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledSet:
    """Expected predictions by notice id, and the municipalities the labels speak about."""

    expected: dict[str, Prediction]
    notes: dict[str, str]
    municipality_scope: frozenset[str]


def read_labels(labels: Mapping[str, Any]) -> LabelledSet:
    """Parse ``labels.json``; its ``_about`` entry says which municipalities were labelled."""
    about = labels.get("_about") or {}
    scope = frozenset(about.get("municipality_scope") or MUNICIPALITY_NAMES)
    expected: dict[str, Prediction] = {}
    notes: dict[str, str] = {}
    for notice_id, label in labels.items():
        if notice_id.startswith("_"):
            continue
        try:
            prediction = Prediction(
                regions=frozenset(label["regions"]),
                municipalities=frozenset(label["municipalities"]),
                sectors=frozenset(label["sectors"]),
                nationwide=bool(label.get("nationwide", False)),
            )
        except (KeyError, TypeError) as error:
            raise InputError(f"merkintä {notice_id} on vajaa (regions, municipalities, sectors): {error}") from error
        outside = prediction.municipalities - scope
        if outside:
            raise InputError(f"merkinnän {notice_id} kunnat {sorted(outside)} eivät kuulu merkittyihin kuntiin")
        expected[notice_id] = prediction
        if label.get("note"):
            notes[notice_id] = label["note"]
    return LabelledSet(expected, notes, scope)


def evaluate(
    documents: Iterable[Mapping[str, Any]],
    labels: Mapping[str, Any],
    classifiers: Sequence[Classifier] = CLASSIFIERS,
) -> Report:
    """Run every classifier over the documents and compare with the labels.

    Every document needs a label and every label a document, so that a renamed id
    cannot silently shrink the set. Mismatches are listed for the last classifier.
    """
    labelled = read_labels(labels)
    items = [map_index_document(dict(document)) for document in documents]
    ids = [item.source_id for item in items]
    unlabelled = sorted(set(ids) - set(labelled.expected))
    missing = sorted(set(labelled.expected) - set(ids))
    if unlabelled or missing:
        raise InputError(
            f"ilmoitukset ja merkinnät eivät täsmää: ilman merkintää {unlabelled}, ilman ilmoitusta {missing}"
        )
    figures = []
    errors: list[Mismatch] = []
    for classifier in classifiers:
        pairs = [(labelled.expected[item.source_id], classifier.predict(item)) for item in items]
        figures.append(_figures(classifier, pairs, labelled.municipality_scope))
        errors = [
            Mismatch(item.source_id, wrong, expected, got, labelled.notes.get(item.source_id, ""))
            for item, (expected, got) in zip(items, pairs, strict=True)
            if (wrong := _wrong_fields(expected, got, labelled.municipality_scope))
        ]
    return Report(tuple(figures), tuple(errors))


def _figures(classifier: Classifier, pairs: list[tuple[Prediction, Prediction]], scope: frozenset[str]) -> Figures:
    return Figures(
        classifier=classifier,
        kanta_hame=membership((KANTA_HAME in e.regions, KANTA_HAME in g.regions) for e, g in pairs),
        paijat_hame=membership((PAIJAT_HAME in e.regions, PAIJAT_HAME in g.regions) for e, g in pairs),
        municipalities=accuracy(e.municipalities == g.municipalities & scope for e, g in pairs),
        sectors=accuracy(e.sectors == g.sectors for e, g in pairs),
        nationwide=accuracy(e.nationwide == g.nationwide for e, g in pairs),
        count=len(pairs),
    )


def _wrong_fields(expected: Prediction, got: Prediction, scope: frozenset[str]) -> tuple[str, ...]:
    checks = (
        ("regions", expected.regions == got.regions),
        ("municipalities", expected.municipalities == got.municipalities & scope),
        ("sectors", expected.sectors == got.sectors),
        ("nationwide", expected.nationwide == got.nationwide),
    )
    return tuple(name for name, right in checks if not right)


# -- reading and printing ----------------------------------------------------------------------


def load(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The documents of ``PATH/notices.json`` and the labels of ``PATH/labels.json``."""
    try:
        response = json.loads((path / "notices.json").read_text(encoding="utf-8"))
        labels = json.loads((path / "labels.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InputError(
            f"arviointiaineistoa ei löydy: {error.filename} (anna kansio, jossa ovat notices.json ja labels.json)"
        ) from error
    except json.JSONDecodeError as error:
        raise InputError(f"arviointiaineisto ei ole JSONia: {error}") from error
    documents = response.get("value") if isinstance(response, dict) else None
    if not isinstance(documents, list) or not isinstance(labels, dict):
        raise InputError("notices.json ei ole HILMA-hakuvastaus ({\"value\": [...]}) tai labels.json ei ole objekti")
    return documents, labels


def render(report: Report) -> str:
    """The figures as an aligned plain-text table, one column per classifier."""
    figures = report.figures
    rows = [
        ("", "tavoite / target", [f.classifier.name for f in figures]),
        ("Kanta-Häme: tarkkuus / precision", _at_least(MEMBERSHIP_PRECISION_TARGET),
         [_precision(f.kanta_hame) for f in figures]),
        ("Kanta-Häme: kattavuus / recall", _at_least(MEMBERSHIP_RECALL_TARGET),
         [_recall(f.kanta_hame) for f in figures]),
        ("Päijät-Häme: tarkkuus / precision", _at_least(MEMBERSHIP_PRECISION_TARGET),
         [_precision(f.paijat_hame) for f in figures]),
        ("Päijät-Häme: kattavuus / recall", _at_least(MEMBERSHIP_RECALL_TARGET),
         [_recall(f.paijat_hame) for f in figures]),
        ("Kunnat täsmälleen / municipality exact set", _at_least(MUNICIPALITY_ACCURACY_TARGET),
         [_accuracy(f.municipalities) for f in figures]),
        ("Toimialat täsmälleen / sector exact set", _at_least(SECTOR_ACCURACY_TARGET),
         [_accuracy(f.sectors) for f in figures]),
        ("Valtakunnallisuus / nationwide flag", "", [_accuracy(f.nationwide) for f in figures]),
        ("Ilmoituksia / notices", "", [str(f.count) for f in figures]),
    ]
    first = max(len(label) for label, _, _ in rows)
    second = max(len(target) for _, target, _ in rows)
    widths = [max(len(cells[i]) for _, _, cells in rows) for i in range(len(figures))]
    lines = []
    for label, target, cells in rows:
        columns = "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
        lines.append(f"{label.ljust(first)}  {target.ljust(second)}  {columns}".rstrip())
    return "\n".join(lines)


def _at_least(target: float) -> str:
    return f"≥ {target:.2f}"


def _precision(counts: Membership) -> str:
    return f"{_number(counts.precision)} ({counts.true_positives}/{counts.true_positives + counts.false_positives})"


def _recall(counts: Membership) -> str:
    return f"{_number(counts.recall)} ({counts.true_positives}/{counts.true_positives + counts.false_negatives})"


def _accuracy(counts: Accuracy) -> str:
    return f"{_number(counts.value)} ({counts.correct}/{counts.total})"


def render_errors(report: Report) -> str:
    """One block per notice the last classifier gets wrong: what was expected and what it gave."""
    if not report.errors:
        return "Ei virheitä / no errors."
    lines = [f"Virheet / errors ({report.figures[-1].classifier.name}): {len(report.errors)}"]
    for mismatch in report.errors:
        lines.append(f"{mismatch.notice_id}  ({', '.join(mismatch.fields)})")
        for name in mismatch.fields:
            expected, got = getattr(mismatch.expected, name), getattr(mismatch.got, name)
            lines.append(f"    {name}: odotettu / expected {_show(expected)}  saatu / got {_show(got)}")
        if mismatch.note:
            lines.append(f"    huom / note: {mismatch.note}")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _show(value: frozenset[str] | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else "[" + ", ".join(sorted(value)) + "]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.classification.evaluation",
        description="Alue- ja toimialaluokittelun arviointi merkittyä aineistoa vasten.",
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH,
                        help="kansio, jossa notices.json ja labels.json (oletus: projektin oma aineisto)")
    parser.add_argument("--errors", action="store_true", help="listaa ilmoitukset, joissa Hankintavahti erehtyy")
    arguments = parser.parse_args(argv)
    try:
        documents, labels = load(arguments.path)
        try:
            report = evaluate(documents, labels)
        except ImportError as error:
            # The baselines still say something while the project's classifiers are being written.
            print(f"virhe: Hankintavahdin luokittelija puuttuu ({error}); alla vain vertailukohdat", file=sys.stderr)
            report, status = evaluate(documents, labels, (NUTS_ONLY, NAIVE_SUBSTRING)), 1
        else:
            status = 0
    except InputError as error:
        print(f"virhe: {error}", file=sys.stderr)
        return 1
    print(f"Luokittelun arviointi / classification evaluation: {arguments.path}\n")
    print(render(report))
    if arguments.errors and status == 0:
        print()
        print(render_errors(report))
    return status


if __name__ == "__main__":
    sys.exit(main())
