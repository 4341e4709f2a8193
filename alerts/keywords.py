"""Finnish-aware keyword matching for saved searches.

Entrepreneurs type keywords in their base form ("siivous", "kiinteistö", "lumen auraus"),
and tenders write them inflected and inside compounds ("ylläpitosiivouksesta",
"kiinteistönhoito", "lumen aurauksen"). Without a dictionary of Finnish we derive from each
word of a keyword a few *stems* by rules on its ending (the tables below) and look for the
stems in the lower-cased text:

* A word of four letters or more matches wherever one of its stems occurs, also inside
  another word, so compounds and inflected forms are found: ``siivous`` gives ``siivous``
  and ``siivouks``, and "ylläpitosiivouksesta" contains the second.
* A word of three letters or fewer ("LVI", "IT", "ATK") and a word with digits ("5G")
  match only as a whole word or a whole part of a hyphenated word ("LVI-urakka",
  "ATK:n"), never inside another word ("kitti", "ALVILLA").
* A keyword of several words ("lumen auraus", "IT-palvelut") matches when its words stand
  in order in adjacent words of the text, with white space or punctuation between. The
  first word may end a compound ("kevytlumen auraus"); the others must begin their word.

Precision matters more than recall: a subscriber who gets noise stops reading. So a stem
that cuts a word before its last vowel must keep five letters ("kaupp", never "kaup",
which is inside every "kaupunki"), no stem is shorter than four letters, a four-letter stem
made by the rules only begins a word ("kadun", "tuvan", but not "katuvalaistus"), and a short list
of common tender words (:data:`HIDDEN_IN`) hides the keyword stems inside them: "ateria"
is not found in "materiaali", nor "jäte" in "tarjous on jätettävä".

Matching many keywords costs one regular-expression scan per text: every stem of every
keyword goes into one trie-shaped expression inside a lookahead, which reports the longest
stem starting at each position; the shorter stems that are prefixes of it, and the keywords
they give, are worked out once per reported string. Only stems that must stand whole, begin
a word or escape a hiding word, and the words of multi-word keywords, are then looked up
where they stand. Three thousand keywords over a thousand texts of 1,500 characters take
about 0.3 s, build included (see the timing test).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

VOWELS = frozenset("aeiouyäöå")

#: Words of at most this many letters (and words with digits) match only as whole words.
SHORT_WORD = 3
#: No stem is shorter than this: shorter strings are inside too many unrelated words.
MIN_STEM = 4
#: A stem that drops the word's last vowel ("kiinteist", "hankint") keeps at least this many letters.
MIN_CUT_STEM = 5

#: Consonant gradation in the last syllable, strong grade → weak grade. Applied to the
#: consonants before the final vowel of a word ending in a/ä/i/o/ö/u/y, whose inflected
#: forms take the weak grade: hoito → hoidon, huolto → huollon, kauppa → kaupan,
#: ruoka → ruoan, kaukolämpö → kaukolämmön, kaupunki → kaupungin, lehti → lehden.
#: A whole consonant cluster is looked up, so "st" and "ks" (which do not alternate) are left alone.
STRONG_TO_WEAK: dict[str, str] = {
    "kk": "k", "pp": "p", "tt": "t",
    "k": "", "p": "v", "t": "d",
    "nk": "ng", "mp": "mm", "lt": "ll", "nt": "nn", "rt": "rr", "ht": "hd",
    "lp": "lv", "rp": "rv", "lk": "l", "rk": "r", "hk": "h",
}  # fmt: skip

#: Consonant gradation weak grade → strong grade, for words whose base form has the weak
#: grade and whose inflected forms the strong one: words ending in -e (hanke → hankkeen,
#: tuote → tuotteen, kohde → kohteen), -as/-äs/-es (asiakas → asiakkaan, rengas → renkaan,
#: allas → altaan), -in (keitin → keittimen) and plural forms ending in -t (urakat → urakka).
WEAK_TO_STRONG: dict[str, str] = {
    "k": "kk", "p": "pp", "t": "tt", "d": "t", "v": "p",
    "nk": "nkk", "ng": "nk", "mm": "mp", "ll": "lt", "nn": "nt", "rr": "rt", "hd": "ht",
    "lv": "lp", "rv": "rp", "lj": "lk",
}  # fmt: skip

#: The plural stem that replaces a final vowel when the stem without it would be too short:
#: kunta → kuntien (i after a first vowel o/u), kenkä → kengissä, lehti → lehteä. After a first
#: vowel a/e/i the a turns o (kala → kaloja); only "oj" is taken, as "oi" begins the verbs
#: of two-syllable words (ilmoittaa, kirjoittaa), except in words of three syllables or more
#: (urakka → urakoita).
PLURAL_ENDINGS: dict[str, tuple[str, ...]] = {
    "ä": ("i",),
    "i": ("e",),
    "a, first vowel o/u": ("i",),
    "a": ("oj",),
    "a, three syllables": ("oj", "oi"),
}

#: Final long vowels and diphthongs that shorten before the plural i: lumityö → lumitöiden,
#: maantie → maanteiden, ulkomaa → ulkomaiden, puu → puita.
FINAL_VOWEL_PAIRS: dict[str, str] = {
    "uo": "oi", "yö": "öi", "ie": "ei",
    "aa": "ai", "ää": "äi", "oo": "oi", "öö": "öi", "uu": "ui", "yy": "yi", "ee": "ei", "ii": "i",
}  # fmt: skip

#: Two final vowels that make one syllable (a long vowel or a diphthong): a word ending so
#: keeps them in every form (no gradation). Other pairs are two syllables, and the last vowel
#: behaves like any final vowel: ateria → aterioita, media → medioita, radio → radiota.
ONE_SYLLABLE_PAIRS = frozenset(FINAL_VOWEL_PAIRS) | {
    "ai", "ei", "oi", "ui", "yi", "äi", "öi", "au", "eu", "iu", "ou", "ey", "äy", "öy",
}  # fmt: skip

#: Forms no rule gives, added to words that end so (also compounds: kouluruoka → kouluruuan).
IRREGULAR: dict[str, tuple[str, ...]] = {
    "ruoka": ("ruua",),  # ruuan, the older spelling of ruoan
    "vesi": ("vede", "vett"),  # veden, vettä; jätevesi → jäteveden
}

#: Keyword words and the common words of tender texts that contain their stems by accident.
#: A stem of the keyword (or of a compound or plural ending in it) found inside one of these
#: words does not count: "ateria" is not found in "materiaalit", "tila" not in "tilaaja".
#: A hiding word hides only the stems it contains whole, so it must reach past their end:
#: "liikunna" hides "kunna" of kunta.
HIDDEN_IN: dict[str, tuple[str, ...]] = {
    "ateria": ("materia",),
    "jäte": ("jätettäv", "jätetty", "jätety", "jätetä", "jätettii"),  # the verb jättää: tarjous on jätettävä
    "tila": ("tilaaj", "tilaus", "tilauks", "tilatt", "tilaam", "mattila"),  # the buyer, the order; Orimattila
    "maali": ("maalisku",),  # March
    "taksi": ("syntaksi", "ataksi"),
    "auto": ("autonom", "automaat", "autentik"),
    "huolto": ("huoltovarmuu",),  # security of supply
    "ohje": ("ohjelm",),
    "esite": ("esitet", "esitel", "esittel"),  # presented, presentation
    "tieto": ("lisätieto", "lisätiedo", "yhteystieto", "yhteystiedo"),  # "lisätietoja" ends every notice
    "vartio": ("rajavartio",),
    "kala": ("kkala", "ruokala"),  # Asikkala, Janakkala
    "kunta": ("liikunta", "liikunna", "henkilökunta", "henkilökunna", "valtakunta", "valtakunna"),
    "talo": ("talou",),  # talous, taloudellisesti edullisin
    "ranta": ("paranta",),  # parantaminen
    "opas": ("opaste",),  # signs
    "lasi": ("laser",),
    "sähkö": ("sähköine", "sähköise"),  # electronic: sähköinen kilpailutusjärjestelmä
    "koulu": ("koulutu", "koulutt"),  # training
    "halli": ("hallint", "hallinn", "hallit"),  # administration, government
    "tori": ("torio", "ktori", "ttori", "storia"),  # laboratorio, traktori, moottori, historia
    "liha": ("lihas",),
    "koti": ("kotimai",),  # domestic
    "kone": ("koneelli",),  # mechanical
}

_ALNUM_RUN = re.compile(r"[^\W_]+")
_TO_NEXT_WORD = re.compile(r"[^\W_]*[\W_]+")  # the rest of a word and what separates it from the next
_VOWEL_RUN = re.compile(f"[{''.join(sorted(VOWELS))}]+")


def normalise_keyword(keyword: str) -> str:
    """Lower-case, whitespace collapsed, stripped; '' for a keyword with no letters/digits.

    The normalised keyword is what a subscription stores and what :class:`KeywordMatcher`
    reports, so "LVI-urakka" and " lvi-urakka " are one keyword.
    """
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", keyword).lower())
    if not _ALNUM_RUN.search(text):
        return ""
    return " ".join(text.split())


def keyword_words(keyword: str) -> tuple[str, ...]:
    """The words of a normalised keyword: its runs of letters and digits ("it-palvelut" → it, palvelut)."""
    return tuple(_ALNUM_RUN.findall(keyword))


def is_whole_word(word: str) -> bool:
    """True for a word that matches only as a whole word: a short one or one with digits."""
    return len(word) <= SHORT_WORD or not word.isalpha()


def word_stems(word: str) -> tuple[str, ...]:
    """The stems of one lower-case keyword word, shortest first; the word itself when it is whole-word only.

    Every stem begins as the word does, and one of them is a prefix of the word, so a word
    is always found where it is written as such. See :func:`begins_word_only` for where a
    stem may stand.
    """
    if is_whole_word(word):
        return (word,)
    candidates = {word, *_ending_stems(word)}
    for ending, forms in IRREGULAR.items():
        if word.endswith(ending):
            candidates.update(word[: -len(ending)] + form for form in forms)
    stems = {stem for stem in candidates if len(stem) >= MIN_STEM}
    # A stem with a shorter stem as its prefix finds nothing the shorter one does not,
    # unless the shorter one may only begin a word and the longer one may stand anywhere.
    minimal = [
        stem
        for stem in stems
        if not any(
            other != stem
            and stem.startswith(other)
            and (begins_word_only(word, stem) or not begins_word_only(word, other))
            for other in stems
        )
    ]
    return tuple(sorted(minimal, key=lambda stem: (len(stem), stem)))


def begins_word_only(word: str, stem: str) -> bool:
    """True for a stem of four letters made from a longer or different word: it must begin a word of the text.

    Such stems are weak grades and plural forms ("kadu" of katu, "tuva" of tupa, "ruoa" of
    ruoka); inside words they are mostly other words' endings ("katuvalaistus", "osallistuvat").
    The keyword itself ("auto", "katu") may stand anywhere: "pakettiauto", "Hämeenkatu".
    """
    return len(stem) <= MIN_STEM and stem != word


def _ending_stems(word: str) -> set[str]:
    """Stems by the word's ending: the first rule whose ending fits decides."""
    if word[-1] in VOWELS:
        return _vowel_final_stems(word)
    if word.endswith("nen") and len(word) > 4:
        return {word[:-3] + "s"}  # sähköinen → sähköisen, sähköistä
    if word.endswith(("uus", "yys", "eus", "eys")):
        return {word[:-1] + "de", word[:-1] + "tt"}  # turvallisuus → turvallisuuden, -tta; terveys → terveyden
    if word.endswith(("us", "ys", "os", "ös")):
        return {word[:-1] + "ks"}  # siivous → siivouksen, kuljetus → kuljetukset, tulos → tuloksen
    if word.endswith(("as", "äs", "es")):
        head, cluster = _split_cluster(word[:-2])
        return {head + WEAK_TO_STRONG.get(cluster, cluster) + word[-2]}  # asiakas → asiakkaan, rengas → renkaan
    if word.endswith("is"):
        return {word[:-1] + "i"}  # kaunis → kauniin
    if word.endswith("in") and len(word) > 4:
        head, cluster = _split_cluster(word[:-2])
        return {head + WEAK_TO_STRONG.get(cluster, cluster) + "im"}  # keitin → keittimen, puhelin → puhelimen
    if word.endswith("t") and len(word) > 4 and word[-2] in VOWELS:
        return _plural_stems(word[:-1])  # palvelut → palvelu, urakat → urakka
    return set()


def _plural_stems(stem: str) -> set[str]:
    """Stems of a plural typed as a keyword: its singular stem, which has the weak grade, and the strong one.

    "urakat" gives uraka, urakoi (urakan, urakoita) and from "urakka" urakk (urakkaa, urakkojen).
    """
    head, cluster, tail = _split_final(stem)
    if len(tail) > 1:  # koneet → konee, konei
        return {stem, *_vowel_final_stems(stem)}
    forms = {stem, *_final_vowel_forms(stem, head + cluster, tail)}
    if cluster in WEAK_TO_STRONG:
        strong = head + WEAK_TO_STRONG[cluster] + tail
        forms |= {strong, *_vowel_final_stems(strong)}
    return forms


def _vowel_final_stems(word: str) -> set[str]:
    """Stems of a word ending in a vowel, in the strong grade and, after a short final vowel, the weak one."""
    head, cluster, tail = _split_final(word)
    if tail == "e":  # hanke → hankkeen: the base form is the weak grade, the inflected ones strong
        return {head + WEAK_TO_STRONG[cluster] + tail} if cluster in WEAK_TO_STRONG else set()
    if len(tail) > 1:  # a long vowel or a diphthong ends the word: no gradation, a shorter plural stem
        pair = FINAL_VOWEL_PAIRS.get(tail[-2:])
        return {word[:-2] + pair} if pair else set()
    grades = [head + cluster]
    if cluster in STRONG_TO_WEAK:
        grades.append(head + STRONG_TO_WEAK[cluster])
    stems: set[str] = set()
    for grade in grades:
        stems |= _final_vowel_forms(word, grade, tail)
    return stems


def _final_vowel_forms(word: str, grade: str, vowel: str) -> set[str]:
    """The stem of one grade: without the final a/ä/i when five letters remain, else with it and its plural."""
    if vowel not in "aäi":
        return {grade + vowel}  # -o, -ö, -u, -y stay in every form: talo, taloja, talojen
    if len(grade) >= MIN_CUT_STEM:
        return {grade}
    return {grade + vowel, *(grade + ending for ending in _plural_endings(word, vowel))}


def _plural_endings(word: str, vowel: str) -> tuple[str, ...]:
    if vowel != "a":
        return PLURAL_ENDINGS[vowel]
    if len(_VOWEL_RUN.findall(word)) > 2:
        return PLURAL_ENDINGS["a, three syllables"]
    first_vowel = _VOWEL_RUN.search(word)
    return PLURAL_ENDINGS["a, first vowel o/u" if first_vowel and first_vowel.group()[0] in "ou" else "a"]


def _split_final(word: str) -> tuple[str, str, str]:
    """A vowel-final word as (head, consonants of its last syllable, the vowels of its last syllable).

    ruoka → (ruo, k, a); lumityö → (lumi, t, yö); ateria → (ateri, "", a).
    """
    tail_start = len(word)
    while tail_start > 0 and word[tail_start - 1] in VOWELS:
        tail_start -= 1
    if len(word) - tail_start > 1 and word[-2:] not in ONE_SYLLABLE_PAIRS:
        return word[:-1], "", word[-1]  # the last vowel is a syllable of its own
    head, cluster = _split_cluster(word[:tail_start])
    return head, cluster, word[tail_start:]


def _split_cluster(text: str) -> tuple[str, str]:
    """Text as (everything before its final consonants, the final consonants): urakk → ura, kk."""
    start = len(text)
    while start > 0 and text[start - 1] not in VOWELS:
        start -= 1
    return text[:start], text[start:]


@dataclass(frozen=True)
class _Word:
    """One distinct keyword word with its stems and the hiding words that apply to it."""

    text: str
    whole: bool
    stems: tuple[str, ...]
    begin_only: frozenset[str]  # stems that must begin a word of the text
    hidden_by: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Word:
        stems = word_stems(text)
        begin_only = frozenset(stem for stem in stems if begins_word_only(text, stem))
        return cls(text, is_whole_word(text), stems, begin_only, _hiding_words(text, stems))

    def depends_on_place(self, stem: str) -> bool:
        """True when the stem counts for this word only in some places: whole, beginning a word, not hidden."""
        return self.whole or stem in self.begin_only or bool(self.hidden_by)


def _hiding_words(word: str, stems: tuple[str, ...]) -> frozenset[str]:
    """The hiding words that apply to a keyword word: those listed for it, for its head or its singular."""
    hiding: set[str] = set()
    for target, words in HIDDEN_IN.items():
        if word.endswith(target) or target in stems:
            hiding.update(hider for hider in words if hider not in word and any(stem in hider for stem in stems))
    return frozenset(hiding)


@lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern[str]:
    """The word with no letter or digit right before or after it.

    The expression begins with the word itself (the check before it is a lookbehind placed
    after it), so that the regular-expression engine can search for the word quickly.
    """
    literal = re.escape(word)
    return re.compile(rf"{literal}(?<![^\W_]{literal})(?![^\W_])")


@dataclass(frozen=True)
class _FoundAt:
    """What a string of the expression, found as the longest at a place, means: all strings that are its
    prefixes start there too."""

    stems: tuple[str, ...]
    hiding: tuple[str, ...]
    words: frozenset[str]  # keyword words that count wherever their stem stands
    keywords: frozenset[str]  # the keywords of one of those words
    checks: tuple[tuple[str, _Word], ...]  # words whose stem counts only in some places


class _Scan:
    """One tender text, lower-cased, with the hiding words in it, for checking where a stem stands."""

    def __init__(self, lower: str, hiding: set[str]) -> None:
        self.lower = lower
        self.hiding = hiding
        self._hidden: dict[str, list[int]] = {}
        self._places: dict[str, list[int]] = {}

    def counts_somewhere(self, word: _Word, stem: str) -> bool:
        """True when the stem, which occurs in the text, counts for the word at least once."""
        if word.whole:
            return _whole_word(stem).search(self.lower) is not None
        if stem not in word.begin_only and word.hidden_by.isdisjoint(self.hiding):
            return True
        return any(self._stands(word, stem, start) for start in self._occurrences(stem))

    def in_sequence(self, words: list[_Word], stems: set[str]) -> bool:
        """True when the words stand in adjacent words of the text, each after the first beginning its word."""
        later = [{start for start in self._places_of(word, stems) if self._begins_word(start)} for word in words[1:]]
        for start in self._places_of(words[0], stems):
            position = start
            for begins in later:
                step = _TO_NEXT_WORD.match(self.lower, position)
                if step is None or step.end() not in begins:
                    break
                position = step.end()
            else:
                return True
        return False

    def _places_of(self, word: _Word, stems: set[str]) -> list[int]:
        """Every start where one of the word's stems counts for it."""
        if word.text not in self._places:
            if word.whole:
                places = [match.start() for match in _whole_word(word.text).finditer(self.lower)]
            else:
                places = [
                    start
                    for stem in word.stems
                    if stem in stems
                    for start in self._occurrences(stem)
                    if self._stands(word, stem, start)
                ]
            self._places[word.text] = places
        return self._places[word.text]

    def _stands(self, word: _Word, stem: str, start: int) -> bool:
        """True when the stem at ``start`` counts for the (not whole) word: beginning a word if it must, not hidden."""
        if stem in word.begin_only and not self._begins_word(start):
            return False
        end = start + len(stem)
        for hiding in word.hidden_by & self.hiding:
            if hiding not in self._hidden:
                self._hidden[hiding] = list(self._occurrences(hiding))
            if any(first <= start and end <= first + len(hiding) for first in self._hidden[hiding]):
                return False
        return True

    def _begins_word(self, start: int) -> bool:
        return start == 0 or not self.lower[start - 1].isalnum()

    def _occurrences(self, string: str) -> Iterator[int]:
        """Every start of ``string`` in the text, overlapping ones too."""
        position = self.lower.find(string)
        while position >= 0:
            yield position
            position = self.lower.find(string, position + 1)


class KeywordMatcher:
    """Finds which of many keywords occur in a text. Built once per matching run over all subscriptions'
    keywords (thousands), then asked for each tender's text (hundreds to thousands of tenders)."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self._keywords: dict[str, tuple[str, ...]] = {}
        for keyword in keywords:
            normalised = normalise_keyword(keyword)
            if normalised:
                self._keywords[normalised] = keyword_words(normalised)
        self._words = {text: _Word.of(text) for words in self._keywords.values() for text in words}
        self._by_stem: dict[str, list[_Word]] = defaultdict(list)
        for word in self._words.values():
            for stem in word.stems:
                self._by_stem[stem].append(word)
        self._single: dict[str, list[str]] = defaultdict(list)
        self._multi: dict[str, list[str]] = defaultdict(list)
        for keyword, words in self._keywords.items():
            (self._single if len(words) == 1 else self._multi)[words[0]].append(keyword)
        self._hiding = {hiding for word in self._words.values() for hiding in word.hidden_by}
        strings = set(self._by_stem) | self._hiding
        self._pattern = re.compile(f"(?=({_trie_pattern(strings)}))") if strings else None
        self._found_at: dict[str, _FoundAt] = {}

    def _at(self, longest: str) -> _FoundAt:
        """What it means that ``longest`` was the longest string of the expression at some place (worked out once)."""
        found_at = self._found_at.get(longest)
        if found_at is None:
            prefixes = [longest[:length] for length in range(1, len(longest) + 1)]
            stems = tuple(prefix for prefix in prefixes if prefix in self._by_stem)
            pairs = [(stem, word) for stem in stems for word in self._by_stem[stem]]
            anywhere = {word.text for stem, word in pairs if not word.depends_on_place(stem)}
            found_at = self._found_at[longest] = _FoundAt(
                stems=stems,
                hiding=tuple(prefix for prefix in prefixes if prefix in self._hiding),
                words=frozenset(anywhere),
                keywords=frozenset(keyword for word in anywhere for keyword in self._single.get(word, ())),
                checks=tuple((stem, word) for stem, word in pairs if word.depends_on_place(stem)),
            )
        return found_at

    def found(self, text: str) -> set[str]:
        """The NORMALISED keywords that occur in text.

        One scan collects the stems and hiding words in the text; only where a word must
        stand whole, begin a word, escape a hiding word or follow another keyword word are
        the places of its stems looked at.
        """
        if self._pattern is None:
            return set()
        lower = unicodedata.normalize("NFC", text).lower()
        found = [self._at(longest) for longest in set(self._pattern.findall(lower))]
        if not found:
            return set()
        words: set[str] = set().union(*(at.words for at in found))
        result: set[str] = set().union(*(at.keywords for at in found))
        scan = _Scan(lower, {hiding for at in found for hiding in at.hiding})
        for at in found:
            for stem, word in at.checks:
                if word.text not in words and scan.counts_somewhere(word, stem):
                    words.add(word.text)
                    result.update(self._single.get(word.text, ()))
        if not words.isdisjoint(self._multi.keys()):
            result |= self._in_sequence(words, {stem for at in found for stem in at.stems}, scan)
        return result

    def _in_sequence(self, words: set[str], stems: set[str], scan: _Scan) -> set[str]:
        """The keywords of several words whose words all occur and stand in sequence."""
        result: set[str] = set()
        for first in words & self._multi.keys():
            for keyword in self._multi[first]:
                parts = self._keywords[keyword]
                if all(part in words for part in parts) and scan.in_sequence([self._words[p] for p in parts], stems):
                    result.add(keyword)
        return result


@lru_cache(maxsize=256)
def _single_matcher(normalised: str) -> KeywordMatcher:
    return KeywordMatcher([normalised])


def keyword_found(keyword: str, text: str) -> bool:
    """True when the keyword occurs in the text (for tests and the web preview of a saved search)."""
    normalised = normalise_keyword(keyword)
    return bool(normalised) and normalised in _single_matcher(normalised).found(text)


def _trie_pattern(strings: Iterable[str]) -> str:
    """One regular expression for many strings that matches the longest of them at a position."""
    root: dict[str, dict] = {}
    for string in strings:
        node = root
        for char in string:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(root)


def _node_pattern(node: dict[str, dict]) -> str:
    branches = []
    for char, child in sorted(node.items()):
        if not char:
            continue
        literal = [char]
        while len(child) == 1 and "" not in child:  # a chain with no branch and no end: one literal
            ((next_char, child),) = child.items()
            literal.append(next_char)
        branches.append(re.escape("".join(literal)) + _node_pattern(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
