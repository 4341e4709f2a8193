"""Where a tender's work is: maakunta, sub-regions, municipalities, or the whole country.

A careful Häme reader weighs the evidence in this order, and so does
:func:`classify_regions`:

1. the place of performance: a NUTS3 code gives its maakunta (2021, 2024 and legacy
   codes alike); a town or postcode gives its municipality. NUTS levels 0–2 (FI, FI1C)
   span several maakunta and say nothing;
2. place names in the texts (titles, descriptions, lots, place descriptions) in every
   inflected form, Swedish names, villages and former municipalities. When the place
   of performance names maakunta, only names inside them count: a Lahti notice that
   mentions a Hämeenlinna supplier stays in Päijät-Häme;
3. only when neither says anything below the country: the buyer. A local buyer gives
   its municipality, a regional one its maakunta, any other buyer buys for the whole
   country. The buyer's address is the weakest evidence because a Hämeenlinna-based
   agency can buy for the whole country and a Helsinki agency can renovate a garrison
   in Riihimäki.

Text matching is by explicit forms from ``config/regions.json``, never by stems, and
with these rules for precision (each one a trap seen in real notices):

* a name must be capitalised ("lahden rannalla" is a bay), not a short abbreviation
  in capitals ("EVO-rahoitus"), and a whole word, where
  ä, ö and å are letters ("Rautalammilla" is not Lammi, "Hämeenkyrö" not Häme,
  "Hämeenkatu" and "Lahdentie" are streets);
* names that are also common words or surnames (Porras, Mäkelä, Renko …) count only
  in place-of-performance fields;
* a name followed by a road word ("Lahden moottoritie") is the road;
* a name that starts a company's name ("Lahden Autokori Oy", "Hämeenlinnan Seudun
  Vesi Oy") is the company, not the place of the work: up to a few capitalised words
  and then a company form (Oy, Ab, Ky …).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from crawler.classification.evidence import Evidence
from crawler.classification.region_data import PlaceName, RegionData, load_region_data
from crawler.classification.text import HYPHENS, Token, is_capitalised, tokens
from crawler.items import NoticeItem, Organisation, Place

__all__ = ["RegionResult", "classify_regions", "find_place_names"]

_FINLAND = frozenset({"", "fi", "fin", "finland", "suomi"})
_HYPHENS = frozenset(HYPHENS)  # a set, so that the empty string at the end of a text is not in it
_ACRONYM_LENGTH = 3  # a word this short in capitals is an abbreviation in free text
_PLACE_FIELDS = frozenset({"place.town", "place.description"})
_SOURCE_NOTES = {
    "title": "otsikossa",
    "description": "kuvauksessa",
    "lot.title": "osan otsikossa",
    "lot.description": "osan kuvauksessa",
    "place.description": "suorituspaikan kuvauksessa",
    "place.town": "suorituspaikan paikkakuntana",
}


@dataclass(frozen=True)
class RegionResult:
    """Codes sorted; every code has at least one piece of evidence."""

    regions: list[str]  # maakunta: "05"
    subregions: list[str]  # seutukunta: "051"
    municipalities: list[str]  # kuntanumero: "109"
    nationwide: bool
    evidence: list[Evidence]


@dataclass(frozen=True)
class _Mention:
    """A place name found in a text: which form, where, and the words as written."""

    name: PlaceName
    source: str
    text: str


def classify_regions(item: NoticeItem) -> RegionResult:
    """Regions of one item (a notice, or a tender's notices joined), by the policy in the module docstring.

    Pure: reads nothing but the item and the cached region data, so the crawl pipeline,
    ``reclassify`` and the evaluation all give the same answer for the same item.
    """
    data = load_region_data()
    found = _Found(data)
    places = _places(item)
    place_regions = _place_of_performance(places, data, found)
    mentions = list(_text_mentions(item, places, data))
    for mention in mentions:
        if mention.name.aspect == "nationwide":
            continue
        region = _maakunta_of_mention(mention.name, data)
        if not place_regions or region in place_regions:
            found.add_mention(mention)
    if not found.municipalities:
        phrase = next((m for m in mentions if m.name.aspect == "nationwide"), None)
        if phrase is not None and not place_regions:
            found.nationwide = True
            found.add(
                Evidence("nationwide", "FI", phrase.source, phrase.text, f"koko maa {_SOURCE_NOTES[phrase.source]}")
            )
    if not found.anything():
        _buyer(item.buyer, data, found)
    return found.result()


def find_place_names(text: str, *, place_field: bool = False) -> list[tuple[PlaceName, str]]:
    """Every place name form in ``text`` with the words as written; for staff tools and tests."""
    return list(_scan(text, load_region_data(), place_field=place_field))


# ------------------------------------------------------------------ place of performance


def _places(item: NoticeItem) -> list[Place]:
    """The notice's and its lots' places, each once (the eForms parser lists lot places on the notice too)."""
    unique: dict[tuple, Place] = {}
    for place in [*item.places, *(place for lot in item.lots for place in lot.places)]:
        unique.setdefault(dataclasses.astuple(place), place)
    return list(unique.values())


def _place_of_performance(places: list[Place], data: RegionData, found: _Found) -> set[str]:
    """Record what the place fields say; return the maakunta they name (empty when only the country)."""
    regions: set[str] = set()
    for place in places:
        if (place.country or "").strip().lower() not in _FINLAND:
            continue
        nuts = (place.nuts or "").strip().upper()
        if nuts in data.nuts:
            region = data.nuts[nuts]
            regions.add(region)
            note = f"suorituspaikan NUTS-koodi → maakunta {data.maakunta[region].name_fi}"
            found.add(Evidence("region", region, "place.nuts", place.nuts or nuts, note))
        postcode = _postcode(place.postcode)
        municipality = _municipality_of_postcode(postcode, data)
        if municipality:
            regions.add(data.municipalities[municipality].maakunta)
            found.add_municipality(
                municipality, "place.postcode", place.postcode or postcode, "suorituspaikan postinumero"
            )
        town = (place.town or "").strip()
        if town:
            regions |= _place_town(town, data, found)
    return regions


def _place_town(town: str, data: RegionData, found: _Found) -> set[str]:
    municipality = data.towns.get(town.lower())
    if municipality:
        found.add_municipality(municipality, "place.town", town, "suorituspaikan paikkakunta")
        return {data.municipalities[municipality].maakunta}
    regions: set[str] = set()
    for name, written in _scan(town, data, place_field=True):
        if name.aspect != "nationwide":
            regions.add(_maakunta_of_mention(name, data))
            found.add_mention(_Mention(name, "place.town", written))
    return regions


def _postcode(value: str | None) -> str:
    digits = "".join(character for character in value or "" if character.isdigit())
    return digits if len(digits) == 5 else ""


def _municipality_of_postcode(postcode: str, data: RegionData) -> str | None:
    """Exact postcode first; a code newer than the table by a prefix that only one municipality has."""
    if not postcode:
        return None
    return data.postcodes.get(postcode) or data.postcode_prefixes.get(postcode[:3])


# ------------------------------------------------------------------ texts


def _texts(item: NoticeItem, places: list[Place]) -> Iterator[tuple[str, str]]:
    for source, texts in (("title", item.titles), ("description", item.descriptions)):
        for text in texts.values():
            yield source, text
    for lot in item.lots:
        for source, texts in (("lot.title", lot.titles), ("lot.description", lot.descriptions)):
            for text in texts.values():
                yield source, text
    for place in places:
        if place.description:
            yield "place.description", place.description


def _text_mentions(item: NoticeItem, places: list[Place], data: RegionData) -> Iterator[_Mention]:
    for source, text in _texts(item, places):
        if text:
            for name, written in _scan(text, data, place_field=source in _PLACE_FIELDS):
                yield _Mention(name, source, written)


def _scan(text: str, data: RegionData, *, place_field: bool) -> Iterator[tuple[PlaceName, str]]:
    """Place name forms in ``text``: whole words first, then the parts of a hyphenated word."""
    words: list[Token] = []
    parts: dict[int, list[Token]] = {}
    for token in tokens(text):
        if token.part:
            parts.setdefault(len(words) - 1, []).append(token)
        else:
            words.append(token)
    index = 0
    while index < len(words):
        width = 0
        for name in data.names.get(words[index].lower, ()):
            width = _matches(name, words, index, text)
            if width:
                if _acceptable(name, words[index], words, index + width, text, data, place_field):
                    yield name, text[words[index].start : words[index + width - 1].end]
                break
        if not width and index in parts:
            yield from _scan_parts(parts[index], words, index + 1, text, data, place_field)
        elif not width and text[words[index].end : words[index].end + 1] in _HYPHENS:
            yield from _scan_suspended(words, parts, index, text, data, place_field)
        index += max(width, 1)


def _scan_parts(
    parts: list[Token], words: list[Token], after: int, text: str, data: RegionData, place_field: bool
) -> Iterator[tuple[PlaceName, str]]:
    """Names inside a hyphenated word: "Lahti-Hollola", "Kanta-Häme-alueella", "Lahti-alueella"."""
    start = 0
    while start < len(parts):
        step = 1
        for end in range(len(parts), start, -1):
            key = "-".join(part.lower for part in parts[start:end])
            name = next((n for n in data.names.get(key, ()) if len(n.words) == 1), None)
            if name is not None:
                if _acceptable(name, parts[start], words, after, text, data, place_field):
                    yield name, text[parts[start].start : parts[end - 1].end]
                step = end - start
                break
        start += step


def _scan_suspended(
    words: list[Token], parts: dict[int, list[Token]], index: int, text: str, data: RegionData, place_field: bool
) -> Iterator[tuple[PlaceName, str]]:
    """A first part whose ending is shared with a later word: "Kanta- ja Päijät-Hämeessä" names Kanta-Häme too."""
    word = words[index]
    if not text[word.end + 1 : word.end + 2].isspace():
        return
    for later in range(index + 1, min(index + 4, len(words))):
        if later in parts:
            key = "-".join([word.lower, *(part.lower for part in parts[later][1:])])
            name = next((n for n in data.names.get(key, ()) if len(n.words) == 1), None)
            if name is not None and _acceptable(name, word, words, later + 1, text, data, place_field):
                yield name, text[word.start : words[later].end]
            return


def _matches(name: PlaceName, words: list[Token], index: int, text: str) -> int:
    """How many words the form covers at ``index`` (0 when it does not match there)."""
    width = len(name.words)
    if index + width > len(words):
        return 0
    for offset in range(1, width):
        word = words[index + offset]
        if word.lower != name.words[offset] or not _adjacent(words[index + offset - 1], word, text):
            return 0
    return width


def _adjacent(left: Token, right: Token, text: str) -> bool:
    """Only whitespace between two words: a comma or full stop ends a name."""
    return text[left.end : right.start].isspace()


def _acceptable(
    name: PlaceName, first: Token, words: list[Token], after: int, text: str, data: RegionData, place_field: bool
) -> bool:
    following = words[after] if after < len(words) and _adjacent(words[after - 1], words[after], text) else None
    if name.aspect == "nationwide":
        return following is None or not following.lower.startswith(data.nationwide_not_before)
    if not is_capitalised(first) or (name.place_only and not place_field):
        return False
    if not place_field and len(first.text) <= _ACRONYM_LENGTH and first.text.isupper():
        return False  # "EVO-rahoitus" is a state grant, not the village of Evo
    if following is not None and following.lower in data.street_words:
        return False
    return not _starts_company_name(words, after, text, data)


def _starts_company_name(words: list[Token], after: int, text: str, data: RegionData) -> bool:
    """True when a few capitalised words and then a company form follow: "Lahden Autokori Oy"."""
    for position in range(after, min(after + data.company_name_words + 1, len(words))):
        word = words[position]
        if not _adjacent(words[position - 1], word, text):
            return False
        if word.lower in data.company_suffixes:
            return True
        if not is_capitalised(word):
            return False
    return False


def _maakunta_of_mention(name: PlaceName, data: RegionData) -> str:
    if name.aspect == "region":
        return name.code
    if name.aspect == "subregion":
        return data.subregions[name.code].maakunta
    return data.municipalities[name.code].maakunta


# ------------------------------------------------------------------ buyer


def _buyer(buyer: Organisation | None, data: RegionData, found: _Found) -> None:
    """Only when place and texts say nothing below the country (policy 5)."""
    level = _buyer_level(buyer, data)
    if buyer is None or level == "national":
        found.nationwide = True
        text = (buyer.legal_type or buyer.name or "") if buyer is not None else ""
        note = "valtakunnallinen tai muu hankintayksikkö, ei paikkaa"
        found.add(Evidence("nationwide", "FI", "buyer.type", text, note))
        return
    who = "paikallisen" if level == "local" else "alueellisen"
    municipality = _buyer_municipality(buyer, data)
    if municipality and level == "local":
        found.add_municipality(municipality, "buyer.address", _address(buyer), f"{who} hankintayksikön osoite")
    elif municipality:
        region = data.municipalities[municipality].maakunta
        note = f"{who} hankintayksikön osoite → maakunta {data.maakunta[region].name_fi}"
        found.add(Evidence("region", region, "buyer.address", _address(buyer), note))
    elif (buyer.nuts or "").strip().upper() in data.nuts:
        region = data.nuts[(buyer.nuts or "").strip().upper()]
        note = f"{who} hankintayksikön NUTS-koodi → maakunta {data.maakunta[region].name_fi}"
        found.add(Evidence("region", region, "buyer.nuts", buyer.nuts or "", note))


def _address(buyer: Organisation) -> str:
    """The part of the buyer's address that gave its municipality, as written."""
    return " ".join(part for part in (buyer.postcode, buyer.town) if part)


def _buyer_level(buyer: Organisation | None, data: RegionData) -> str:
    """"local", "regional" or "national": the legal type when it says, else the name ("Lopen kunta")."""
    if buyer is None or (buyer.country or "").strip().lower() not in _FINLAND:
        return "national"
    rules = data.buyers
    legal = (buyer.legal_type or "").strip().lower()
    if legal in rules.local_types:
        return "local"
    if legal in rules.regional_types:
        return "regional"
    if legal in rules.national_types:
        return "national"
    names = [buyer.name or "", *buyer.names.values()]
    words = {token.lower for name in names for token in tokens(name)}
    if any(word in rules.local_name_words or word.endswith(rules.local_name_endings) for word in words):
        return "local"
    if any(word in rules.regional_name_words or word.endswith(rules.regional_name_endings) for word in words):
        return "regional"
    return "national"


def _buyer_municipality(buyer: Organisation, data: RegionData) -> str | None:
    return _municipality_of_postcode(_postcode(buyer.postcode), data) or data.towns.get(
        (buyer.town or "").strip().lower()
    )


# ------------------------------------------------------------------ result


class _Found:
    """Codes found so far, each with its evidence; implied codes get evidence at the end."""

    def __init__(self, data: RegionData) -> None:
        self.data = data
        self.municipalities: set[str] = set()
        self.subregions: set[str] = set()
        self.regions: set[str] = set()
        self.nationwide = False
        self.evidence: dict[tuple[str, str, str, str], Evidence] = {}

    def anything(self) -> bool:
        return bool(self.municipalities or self.subregions or self.regions or self.nationwide)

    def add(self, evidence: Evidence) -> None:
        key = (evidence.aspect, evidence.code, evidence.source, evidence.text)
        self.evidence.setdefault(key, evidence)
        if evidence.aspect == "municipality":
            self.municipalities.add(evidence.code)
        elif evidence.aspect == "region" and len(evidence.code) == 3:
            self.subregions.add(evidence.code)
        elif evidence.aspect == "region":
            self.regions.add(evidence.code)

    def add_municipality(self, code: str, source: str, text: str, note: str) -> None:
        self.add(Evidence("municipality", code, source, text, f"{note} → {self.data.municipalities[code].name_fi}"))

    def add_mention(self, mention: _Mention) -> None:
        name, where = mention.name, _SOURCE_NOTES[mention.source]
        if name.aspect == "municipality":
            municipality = self.data.municipalities[name.code].name_fi
            what = "kunnan nimi" if name.kind == "kunta" else f"{name.kind} {name.name} ({municipality})"
            self.add(Evidence("municipality", name.code, mention.source, mention.text, f"{what} {where}"))
        else:
            self.add(Evidence("region", name.code, mention.source, mention.text, f"{name.kind} {name.name} {where}"))

    def result(self) -> RegionResult:
        data = self.data
        for code in sorted(self.municipalities):
            municipality = data.municipalities[code]
            origin = self._first("municipality", code)
            if municipality.subregion:
                self._imply(municipality.subregion, origin, f"kunta {municipality.name_fi} →")
            self._imply(municipality.maakunta, origin, f"kunta {municipality.name_fi} → maakunta")
        for code in sorted(self.subregions):
            subregion = data.subregions[code]
            self._imply(subregion.maakunta, self._first("region", code), f"{subregion.name_fi} → maakunta")
        return RegionResult(
            regions=sorted(self.regions),
            subregions=sorted(self.subregions),
            municipalities=sorted(self.municipalities),
            nationwide=self.nationwide,
            evidence=list(self.evidence.values()),
        )

    def _first(self, aspect: str, code: str) -> Evidence:
        return next(e for e in self.evidence.values() if e.aspect == aspect and e.code == code)

    def _imply(self, code: str, origin: Evidence, note: str) -> None:
        if any(e.aspect == "region" and e.code == code for e in self.evidence.values()):
            return
        name = self.data.subregions[code].name_fi if len(code) == 3 else self.data.maakunta[code].name_fi
        self.add(Evidence("region", code, origin.source, origin.text, f"{note} {name}"))
