"""Sectors: what a tender buys, from its CPV codes or, without them, from its words.

Subscribers follow sectors ("siivous", "rakentaminen"), not CPV numbers. The taxonomy
lives in ``config/sectors.json`` (its ``_about`` states every matching rule) and is read
once, validated, and compiled:

* every CPV code of a notice (main, additional, each lot's) maps to the sector of its
  longest matching prefix, so "03 but not 034" is two prefixes in two sectors; the main
  code's sector comes first, then the others' in CPV order;
* a notice whose CPV codes give no sector (small municipal notices often carry none)
  gets its sectors from Finnish and Swedish keyword stems in its titles, or when the
  titles give none, in its descriptions. Matching works on whole lower-cased texts with
  one regular expression per language, a trie of all stems, so a notice costs one scan
  per text however many keywords there are.

Evidence names the code and its Finnish label (``config/cpv_fi.csv``), or the word as
written and the stem that matched, so staff can check every sector.
"""

from __future__ import annotations

import bisect
import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from config.errors import ConfigurationError
from crawler.classification.evidence import Evidence
from crawler.classification.text import Token, tokens
from crawler.items import NoticeItem

__all__ = [
    "Keyword",
    "Sector",
    "SectorResult",
    "Taxonomy",
    "classify_sectors",
    "cpv_label",
    "load_taxonomy",
    "sector_for_cpv",
    "sector_names",
    "taxonomy",
]

_SLUG = re.compile(r"[a-z][a-z0-9_]*")
_STEM = re.compile(r"[^\W\d_]+(?:(?:-|- | )[^\W\d_]+)*-?")  # words joined by one space or hyphen
_WORD_START = r"(?<![^\W\d_])"  # not preceded by a letter (ä, ö and å are letters)
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-"})


@dataclass(frozen=True)
class SectorResult:
    """The sectors of one notice, main CPV code's first, with one piece of evidence per sector."""

    sectors: list[str]
    evidence: list[Evidence]


@dataclass(frozen=True)
class Sector:
    slug: str
    name: str  # Finnish, as users read it
    name_sv: str
    cpv_prefixes: tuple[str, ...]
    short: str = ""  # a word or two for email subjects: "siivous"


@dataclass(frozen=True)
class Keyword:
    """A stem as listed in the data file; ``sector`` None for the stems under ``not``."""

    stem: str  # lower-case, without the leading "^"
    sector: str | None
    word_start: bool

    @property
    def listed(self) -> str:
        return ("^" if self.word_start else "") + self.stem


@dataclass(frozen=True)
class KeywordMatch:
    keyword: Keyword
    words: str  # the word (or words) that hold the match, as written
    first_word: int
    last_word: int


class KeywordMatcher:
    """The keywords of one language compiled into one regular expression.

    The expression finds, scanning left to right, the longest stem at each position
    (a trie with the longer branch tried first), so overlapping stems resolve to the
    leftmost and then longest one: "tilintarkastuspalvelut" is auditing because
    "tilintarkast" starts first, "jätehuolto" waste because "jätehuol" outlasts "huolto".
    """

    def __init__(self, keywords: Iterable[Keyword], genitive_endings: Iterable[str] = ()) -> None:
        self.keywords = {keyword.stem: keyword for keyword in keywords}
        self.genitive_endings = tuple(genitive_endings)
        everywhere = _trie_pattern(k.stem for k in self.keywords.values() if not k.word_start)
        at_start = _trie_pattern(self.keywords)
        alternatives = [f"{_WORD_START}{at_start}"] if at_start else []
        if everywhere:
            alternatives.append(everywhere)
        self._pattern = re.compile("|".join(alternatives) or "(?!)")

    def find(self, text: str) -> list[KeywordMatch]:
        """The deciding keyword of each word of ``text``, in order of occurrence.

        Within a word the last match decides (the head of a compound); a word in the
        genitive right before another word with a match only qualifies it.
        """
        written, lower = _prepare(text)
        found = list(self._pattern.finditer(lower))
        if not found:
            return []
        words = [token for token in tokens(written) if not token.part]
        starts = [token.start for token in words]
        heads: dict[int, KeywordMatch] = {}
        for match in found:
            first = max(bisect.bisect_right(starts, match.start()) - 1, 0)
            last = max(bisect.bisect_right(starts, match.end() - 1) - 1, 0)
            keyword = self.keywords[" ".join(match.group().split())]
            as_written = written[words[first].start : max(words[last].end, match.end())]
            heads[last] = KeywordMatch(keyword, as_written, first, last)
        ordered = sorted(heads.values(), key=lambda match: match.last_word)
        return [
            match
            for match, after in zip(ordered, [*ordered[1:], None], strict=True)
            if after is None or not self._qualifies(match, after, words, written)
        ]

    def _qualifies(self, match: KeywordMatch, after: KeywordMatch, words: list[Token], written: str) -> bool:
        """True when ``match`` sits in a genitive right before ``after``'s word ("kotihoidon ajoneuvot")."""
        if after.first_word != match.last_word + 1 or not self.genitive_endings:
            return False
        word, following = words[match.last_word], words[after.first_word]
        return word.lower.endswith(self.genitive_endings) and written[word.end : following.start].isspace()


class Taxonomy:
    """The sectors, their CPV prefixes and keyword matchers, validated as one."""

    def __init__(self, sectors: list[Sector], matchers: dict[str, KeywordMatcher]) -> None:
        self.sectors = {sector.slug: sector for sector in sectors}
        self.matchers = matchers
        self._prefixes = {prefix: sector.slug for sector in sectors for prefix in sector.cpv_prefixes}
        self._lengths = sorted({len(prefix) for prefix in self._prefixes}, reverse=True)

    def sector_for_cpv(self, code: str) -> str | None:
        """The sector of the longest prefix that ``code`` begins with; None when none does."""
        digits = _cpv_digits(code)
        if digits is None:
            return None
        for length in self._lengths:
            slug = self._prefixes.get(digits[:length]) if len(digits) >= length else None
            if slug is not None:
                return slug
        return None

    @classmethod
    def from_data(cls, data: Any, origin: str = "config/sectors.json") -> Taxonomy:
        """Build from the parsed data file; raises :class:`ConfigurationError` naming what is wrong."""
        return _TaxonomyReader(origin).read(data)


class _TaxonomyReader:
    """Checks the data file entry by entry, so an error names the sector and the value."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.origin}: {message}")

    def read(self, data: Any) -> Taxonomy:
        if not isinstance(data, dict) or not isinstance(data.get("sectors"), list) or not data["sectors"]:
            raise self.fail("the file must be an object with a non-empty list 'sectors'")
        sectors: list[Sector] = []
        keywords: dict[str, list[Keyword]] = {}
        owner_of_prefix: dict[str, str] = {}
        for entry in data["sectors"]:
            sector = self.sector(entry, sectors)
            for prefix in sector.cpv_prefixes:
                if prefix in owner_of_prefix:
                    raise self.fail(f"CPV prefix {prefix} is in both '{owner_of_prefix[prefix]}' and '{sector.slug}'")
                owner_of_prefix[prefix] = sector.slug
            sectors.append(sector)
            for language, stems in self.language_lists(entry.get("keywords", {}), f"keywords of '{sector.slug}'"):
                keywords.setdefault(language, []).extend(self.keyword(stem, sector.slug) for stem in stems)
        for language, stems in self.language_lists(data.get("not", {}), "'not'"):
            keywords.setdefault(language, []).extend(self.keyword(stem, None) for stem in stems)
        genitives = dict(self.language_lists(data.get("genitive_endings", {}), "'genitive_endings'"))
        matchers = {}
        for language, listed in keywords.items():
            self.unique(language, listed)
            matchers[language] = KeywordMatcher(listed, genitives.get(language, ()))
        return Taxonomy(sectors, matchers)

    def sector(self, entry: Any, earlier: list[Sector]) -> Sector:
        if not isinstance(entry, dict):
            raise self.fail(f"a sector must be an object, not {entry!r}")
        slug = entry.get("slug")
        if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
            raise self.fail(f"sector slug {slug!r} must be lower-case letters, digits and '_'")
        if any(sector.slug == slug for sector in earlier):
            raise self.fail(f"sector slug '{slug}' appears twice")
        name = entry.get("name")
        if not isinstance(name, dict) or not all(
            isinstance(name.get(lang), str) and name[lang] for lang in ("fi", "sv")
        ):
            raise self.fail(f'sector \'{slug}\' needs a name in Finnish and Swedish: {{"fi": …, "sv": …}}')
        prefixes = entry.get("cpv")
        if not isinstance(prefixes, list) or not prefixes:
            raise self.fail(f"sector '{slug}' needs a non-empty list 'cpv' of CPV prefixes")
        for prefix in prefixes:
            if not isinstance(prefix, str) or not (2 <= len(prefix) <= 8 and prefix.isascii() and prefix.isdigit()):
                raise self.fail(f"CPV prefix {prefix!r} of '{slug}' must be 2 to 8 digits, as a string")
        if len(set(prefixes)) != len(prefixes):
            raise self.fail(f"sector '{slug}' lists a CPV prefix twice")
        short = entry.get("short", "")
        if not isinstance(short, str):
            raise self.fail(f"sector '{slug}': 'short' must be a string")
        return Sector(slug, name["fi"], name["sv"], tuple(prefixes), short or name["fi"])

    def language_lists(self, value: Any, what: str) -> Iterator[tuple[str, list[str]]]:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must map a language code to a list of strings")
        for language, items in value.items():
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise self.fail(f"{what} for '{language}' must be a list of strings")
            yield language, items

    def keyword(self, listed: str, sector: str | None) -> Keyword:
        stem = listed.removeprefix("^")
        if stem != stem.lower() or not _STEM.fullmatch(stem) or len(stem) < 3:
            where = f"'{sector}'" if sector else "'not'"
            raise self.fail(
                f"keyword {listed!r} of {where} must be a lower-case stem of at least three characters, "
                "words joined by one space or hyphen, optionally starting with '^'"
            )
        return Keyword(stem, sector, listed.startswith("^"))

    def unique(self, language: str, keywords: list[Keyword]) -> None:
        seen: dict[str, Keyword] = {}
        for keyword in keywords:
            if keyword.stem in seen:
                other = seen[keyword.stem]
                raise self.fail(
                    f"{language} keyword '{keyword.stem}' is listed twice "
                    f"('{other.sector or 'not'}' and '{keyword.sector or 'not'}')"
                )
            seen[keyword.stem] = keyword


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; the project's own unless ``path`` is given."""
    if path is None:
        source = resources.files("config").joinpath("sectors.json")
        origin = "config/sectors.json"
    else:
        source, origin = path, str(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"{origin} cannot be read as JSON: {error}") from error
    return Taxonomy.from_data(data, origin)


@cache
def taxonomy() -> Taxonomy:
    """The project's taxonomy, read once per process."""
    return load_taxonomy()


def sector_names() -> dict[str, str]:
    """Slug → Finnish name, in the taxonomy's order (for menus, filters and labels)."""
    return {slug: sector.name for slug, sector in taxonomy().sectors.items()}


def sector_short_names() -> dict[str, str]:
    """Slug → a word or two ("siivous", "ICT"), for email subjects and search labels."""
    return {slug: sector.short for slug, sector in taxonomy().sectors.items()}


def sector_for_cpv(code: str) -> str | None:
    """The sector of one CPV code ("90911200", also "90911200-5"); None when no prefix matches."""
    return taxonomy().sector_for_cpv(code)


@cache
def _cpv_labels() -> dict[str, str]:
    source = resources.files("config").joinpath("cpv_fi.csv")
    try:
        with source.open(encoding="utf-8", newline="") as handle:
            return {row["code"]: row["fi"] for row in csv.DictReader(handle)}
    except (OSError, KeyError, csv.Error) as error:
        raise ConfigurationError(f"config/cpv_fi.csv cannot be read: {error}") from error


def cpv_label(code: str) -> str | None:
    """The Finnish label of a CPV code, or of its nearest listed parent (90911299 → 90911200)."""
    digits = _cpv_digits(code)
    if digits is None or len(digits) != 8:
        return None
    labels = _cpv_labels()
    significant = digits.rstrip("0")
    while len(significant) >= 2:  # a parent keeps the division, the first two digits
        candidate = significant.ljust(8, "0")
        if candidate in labels:
            return labels[candidate]
        significant = significant[:-1].rstrip("0")
    return labels.get(digits[:2].ljust(8, "0"))  # a division ending in 0 ("90") strips to one digit


def classify_sectors(item: NoticeItem) -> SectorResult:
    """The sectors of one notice: from its CPV codes, or from its words when they give none."""
    current = taxonomy()
    result = _from_cpv(item, current)
    return result if result.sectors else _from_keywords(item, current)


def _from_cpv(item: NoticeItem, current: Taxonomy) -> SectorResult:
    sectors: list[str] = []
    evidence: list[Evidence] = []
    for code, where in _cpv_codes(item):
        slug = current.sector_for_cpv(code)
        if slug is None or slug in sectors:
            continue
        sectors.append(slug)
        label = cpv_label(code)
        note = f"{where} {code} {label}" if label else f"{where} {code}"
        evidence.append(Evidence("sector", slug, "cpv", code, note))
    return SectorResult(sectors, evidence)


def _cpv_codes(item: NoticeItem) -> Iterator[tuple[str, str]]:
    """Every CPV code once, main first, each with where it stands in Finnish."""
    listed: list[tuple[str | None, str]] = [(item.cpv_main, "pääkohteen CPV-koodi")]
    listed += [(code, "lisäkohteen CPV-koodi") for code in item.cpv_additional]
    for lot in item.lots:
        listed.append((lot.cpv_main, f"osan {lot.id} pääkohteen CPV-koodi"))
        listed += [(code, f"osan {lot.id} lisäkohteen CPV-koodi") for code in lot.cpv_additional]
    seen: set[str] = set()
    for code, where in listed:
        code = code.strip() if isinstance(code, str) else ""
        if code and code not in seen:
            seen.add(code)
            yield code, where


def _from_keywords(item: NoticeItem, current: Taxonomy) -> SectorResult:
    titles = [(item.titles, "otsikossa"), *((lot.titles, f"osan {lot.id} otsikossa") for lot in item.lots)]
    descriptions = [
        (item.descriptions, "kuvauksessa"),
        *((lot.descriptions, f"osan {lot.id} kuvauksessa") for lot in item.lots),
    ]
    for texts in (titles, descriptions):
        result = _keyword_sectors(texts, current)
        if result.sectors:
            return result
    return SectorResult([], [])


def _keyword_sectors(texts: list[tuple[dict[str, str], str]], current: Taxonomy) -> SectorResult:
    sectors: list[str] = []
    evidence: list[Evidence] = []
    for by_language, where in texts:
        for language, matcher in current.matchers.items():
            text = by_language.get(language)
            if not isinstance(text, str) or not text:
                continue
            for match in matcher.find(text):
                slug = match.keyword.sector
                if slug is None or slug in sectors:
                    continue
                sectors.append(slug)
                note = f"avainsana ”{match.keyword.listed}” {where}"
                evidence.append(Evidence("sector", slug, "keyword", match.words, note))
    return SectorResult(sectors, evidence)


def _cpv_digits(code: Any) -> str | None:
    """The digits of a CPV code without its check digit ("90911200-5" → "90911200")."""
    if not isinstance(code, str):
        return None
    digits = code.strip().split("-", 1)[0]
    return digits if len(digits) >= 2 and digits.isascii() and digits.isdigit() else None


def _prepare(text: str) -> tuple[str, str]:
    """The text as written (composed, one hyphen) and lower-cased, position for position."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_HYPHENS)
    lower = text.lower()
    return (text if len(lower) == len(text) else lower), lower


def _trie_pattern(stems: Iterable[str]) -> str:
    """One regular expression for many stems that prefers the longest at each position."""
    root: dict[str, dict] = {}
    for stem in stems:
        node = root
        for char in stem:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(root)


def _node_pattern(node: dict[str, dict]) -> str:
    branches = [
        (r"\s+" if char == " " else re.escape(char)) + _node_pattern(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" not in node:
        return body
    return f"(?:{body})?"
