"""The region facts under ``config/``, read once into lookup tables.

``config/regions.json`` holds the maakunta (NUTS 2021, 2024 and legacy codes, name
forms), the sub-regions, the municipalities named in text with every surface form,
villages and former municipalities, the whole-country phrases and the few word lists
that keep text matching precise. ``config/municipalities.csv`` maps every Finnish
municipality to its maakunta and ``config/postcodes.csv`` every postcode to its
municipality (Posti's postcode file). Another region is added by editing these files:
nothing below knows a place by name.

Every name form is tokenised with :func:`crawler.classification.text.tokens` and
indexed by its first word, so the classifier finds names with one dictionary lookup
per word of a notice instead of one pattern per form.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import config
from crawler.classification.text import tokens

CONFIG_DIR = Path(config.__file__).resolve().parent

#: Postcode types whose postal name is a place a person writes as a town.
_TOWN_POSTCODE_TYPES = frozenset({"normal", "po_box"})


@dataclass(frozen=True)
class Maakunta:
    code: str  # Statistics Finland, two digits: "05"
    name_fi: str
    name_sv: str
    name_en: str
    nuts: tuple[str, ...]  # NUTS 2021, 2024 and legacy NUTS3 codes that mean this maakunta


@dataclass(frozen=True)
class Subregion:
    code: str  # seutukunta, three digits: "051"
    name_fi: str
    maakunta: str


@dataclass(frozen=True)
class Municipality:
    code: str  # kuntanumero, three digits: "109"
    name_fi: str
    name_sv: str
    maakunta: str
    subregion: str | None  # known for the municipalities the text detection covers


@dataclass(frozen=True)
class PlaceName:
    """One surface form of a place as text writes it ("Riihimäellä", "Kanta-Hämeen", "koko Suomi")."""

    aspect: str  # "municipality", "subregion", "region" (maakunta) or "nationwide"
    code: str  # the municipality, sub-region or maakunta code; "FI" for the whole country
    name: str  # the place it names, for staff: "Riihimäki", "Lammi"
    kind: str  # what the name is: "kunta", "entinen kunta", "kylä", "seutukunta", "maakunta" …
    words: tuple[str, ...]  # the form's words, lower-cased (hyphenated words stay whole)
    place_only: bool  # a common word or surname too: counts only in place-of-performance fields


@dataclass(frozen=True)
class BuyerRules:
    """How a buyer's legal type or name tells a local, regional or national buyer."""

    local_types: frozenset[str]
    regional_types: frozenset[str]
    national_types: frozenset[str]
    local_name_words: frozenset[str]
    local_name_endings: tuple[str, ...]
    regional_name_words: frozenset[str]
    regional_name_endings: tuple[str, ...]


@dataclass(frozen=True)
class RegionData:
    maakunta: dict[str, Maakunta]
    subregions: dict[str, Subregion]
    municipalities: dict[str, Municipality]  # every Finnish municipality
    nuts: dict[str, str]  # NUTS3 code (2021, 2024, legacy) → maakunta
    postcodes: dict[str, str]  # postcode → municipality
    postcode_prefixes: dict[str, str]  # three-digit prefix → municipality, where the prefix has only one
    towns: dict[str, str]  # lower-case municipality or postal name → municipality, where unambiguous
    names: dict[str, tuple[PlaceName, ...]]  # first word of a form → its forms, longest first
    nationwide_not_before: tuple[str, ...]  # "valtakunnallisten ohjeiden": a rule, not a scope
    company_suffixes: frozenset[str]  # "Oy", "Ab" …: a place name before one is a company's name
    company_name_words: int  # how many capitalised words may stand between the place and the suffix
    street_words: frozenset[str]  # "Lahden moottoritie" is a road, not the town
    buyers: BuyerRules

    def maakunta_of(self, municipality: str) -> str | None:
        found = self.municipalities.get(municipality)
        return found.maakunta if found else None

    def place_name(self, level: str, code: str) -> str:
        """The Finnish name of a maakunta ("region"), seutukunta ("subregion") or municipality code."""
        levels = {"region": self.maakunta, "subregion": self.subregions, "municipality": self.municipalities}
        entry = levels[level].get(code)
        return entry.name_fi if entry is not None else code

    def describe_places(
        self, regions: list[str], subregions: list[str], municipalities: list[str], nationwide: bool, *, most: int = 3
    ) -> str:
        """Where the work is, in a few words: up to ``most`` municipalities, else the
        sub-regions or maakunta, else "koko maa" ("" when nothing is known)."""
        for level, codes in (("municipality", municipalities), ("subregion", subregions), ("region", regions)):
            if codes and (len(codes) <= most or level == "region"):
                return ", ".join(self.place_name(level, code) for code in codes)
        return "koko maa" if nationwide else ""


@cache
def load_region_data(directory: Path = CONFIG_DIR) -> RegionData:
    """Read and index the region files once per process (the classifier calls this per notice)."""
    document = json.loads((directory / "regions.json").read_text(encoding="utf-8"))
    maakunta = {
        entry["code"]: Maakunta(
            code=entry["code"],
            name_fi=entry["name_fi"],
            name_sv=entry["name_sv"],
            name_en=entry["name_en"],
            nuts=tuple(dict.fromkeys([entry["nuts2021"], entry["nuts2024"], *entry["nuts_legacy"]])),
        )
        for entry in document["maakunta"]
    }
    subregions = {
        entry["code"]: Subregion(entry["code"], entry["name_fi"], entry["maakunta"]) for entry in document["subregions"]
    }
    subregion_of = {entry["code"]: entry["subregion"] for entry in document["municipalities"]}
    municipalities = {
        row["municipality"]: Municipality(
            code=row["municipality"],
            name_fi=row["name_fi"],
            name_sv=row["name_sv"],
            maakunta=row["maakunta"],
            subregion=subregion_of.get(row["municipality"]),
        )
        for row in _read_csv(directory / "municipalities.csv")
    }
    postcode_rows = _read_csv(directory / "postcodes.csv")
    postcodes = {row["postcode"]: row["municipality"] for row in postcode_rows}
    _check(document, maakunta, subregions, municipalities, postcodes)
    return RegionData(
        maakunta=maakunta,
        subregions=subregions,
        municipalities=municipalities,
        nuts={code: entry.code for entry in maakunta.values() for code in entry.nuts},
        postcodes=postcodes,
        postcode_prefixes=_unambiguous_prefixes(postcodes),
        towns=_towns(municipalities, postcode_rows),
        names=_index(_place_names(document, municipalities)),
        nationwide_not_before=tuple(document["nationwide"]["not_before"]),
        company_suffixes=frozenset(document["text"]["company_suffixes"]),
        company_name_words=int(document["text"]["company_name_words"]),
        street_words=frozenset(document["text"]["street_words"]),
        buyers=BuyerRules(
            local_types=frozenset(document["buyers"]["local_types"]),
            regional_types=frozenset(document["buyers"]["regional_types"]),
            national_types=frozenset(document["buyers"]["national_types"]),
            local_name_words=frozenset(document["buyers"]["local_name_words"]),
            local_name_endings=tuple(document["buyers"]["local_name_endings"]),
            regional_name_words=frozenset(document["buyers"]["regional_name_words"]),
            regional_name_endings=tuple(document["buyers"]["regional_name_endings"]),
        ),
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _place_names(document: dict, municipalities: dict[str, Municipality]) -> list[PlaceName]:
    names: list[PlaceName] = []

    def add(aspect: str, code: str, name: str, kind: str, forms: list[str], place_only: bool = False) -> None:
        for form in forms:
            words = tuple(token.lower for token in tokens(form) if not token.part)
            names.append(PlaceName(aspect, code, name, kind, words, place_only))

    for entry in document["maakunta"]:
        add("region", entry["code"], entry["name_fi"], "maakunta", entry["forms"])
    for entry in document["subregions"]:
        add("subregion", entry["code"], entry["name_fi"], "seutukunta", entry["forms"])
    for entry in document["municipalities"]:
        add("municipality", entry["code"], entry["name_fi"], "kunta", entry["forms"])
    for entry in document["localities"]:
        name, code, kind = entry["name"], entry["municipality"], entry["kind"]
        add("municipality", code, name, kind, entry.get("forms", []))
        add("municipality", code, name, kind, entry.get("place_only_forms", []), place_only=True)
    add("nationwide", "FI", "koko Suomi", "koko maa", document["nationwide"]["phrases"])
    return names


def _index(names: list[PlaceName]) -> dict[str, tuple[PlaceName, ...]]:
    """Forms by their first word, the longest first so "Hämeenlinnan seudulla" wins over "Hämeenlinnan"."""
    index: dict[str, list[PlaceName]] = defaultdict(list)
    seen: set[tuple[str, ...]] = set()
    for name in names:
        if name.words in seen:
            raise ValueError(f"config/regions.json: the form {' '.join(name.words)!r} is given twice")
        seen.add(name.words)
        index[name.words[0]].append(name)
    return {word: tuple(sorted(forms, key=lambda n: -len(n.words))) for word, forms in index.items()}


def _unambiguous_prefixes(postcodes: dict[str, str]) -> dict[str, str]:
    """Three-digit prefixes that belong to one municipality, for a postcode newer than the table."""
    owners: dict[str, set[str]] = defaultdict(set)
    for postcode, municipality in postcodes.items():
        owners[postcode[:3]].add(municipality)
    return {prefix: next(iter(found)) for prefix, found in owners.items() if len(found) == 1}


def _towns(municipalities: dict[str, Municipality], postcode_rows: list[dict[str, str]]) -> dict[str, str]:
    """Town names as a place or address field gives them: municipality names, then unique postal names."""
    towns: dict[str, str] = {}
    for municipality in municipalities.values():
        towns[municipality.name_fi.lower()] = municipality.code
        towns.setdefault(municipality.name_sv.lower(), municipality.code)
    postal: dict[str, set[str]] = defaultdict(set)
    for row in postcode_rows:
        if row["type"] in _TOWN_POSTCODE_TYPES:
            for name in (row["postal_name_fi"], row["postal_name_sv"]):
                postal[name.lower()].add(row["municipality"])
    for name, found in postal.items():
        if len(found) == 1:
            towns.setdefault(name, next(iter(found)))
    return towns


def _check(
    document: dict,
    maakunta: dict[str, Maakunta],
    subregions: dict[str, Subregion],
    municipalities: dict[str, Municipality],
    postcodes: dict[str, str],
) -> None:
    """Fail at load on a broken reference, not with a wrong classification later."""
    problems = [f"postcode {p} → unknown municipality {m}" for p, m in postcodes.items() if m not in municipalities]
    problems += [f"municipality {m.code} → unknown maakunta {m.maakunta}" for m in municipalities.values()
                 if m.maakunta not in maakunta]
    problems += [f"sub-region {s.code} → unknown maakunta {s.maakunta}" for s in subregions.values()
                 if s.maakunta not in maakunta]
    for entry in document["municipalities"]:
        known = municipalities.get(entry["code"])
        if known is None or known.maakunta != entry["maakunta"] or entry["subregion"] not in subregions:
            problems.append(f"municipality {entry['code']} disagrees with municipalities.csv or its sub-region")
    problems += [f"locality {e['name']} → unknown municipality {e['municipality']}" for e in document["localities"]
                 if e["municipality"] not in municipalities]
    if problems:
        raise ValueError("config region files: " + "; ".join(problems))
