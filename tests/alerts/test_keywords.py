"""Keyword matching for saved searches: Finnish inflections and compounds found, noise kept out."""

from __future__ import annotations

import csv
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from alerts.keywords import HIDDEN_IN, KeywordMatcher, keyword_found, normalise_keyword, word_stems

# (keyword as typed, text, found?)
CASES: list[tuple[str, str, bool]] = [
    # inflected forms and compounds
    ("siivous", "Päiväkotien ylläpitosiivouksesta vastaa palveluntuottaja", True),
    ("siivous", "Siivouspalvelut 2027–2029", True),
    ("siivous", "SIIVOUS", True),
    ("siivous", "siivousta ja kiinteistönhoitoa", True),
    ("siivous", "siivoukseen liittyvät tarvikkeet", True),
    ("kiinteistö", "kaupungin kiinteistöjen ylläpito", True),
    ("kiinteistö", "Kiinteistönhoito ja lumityöt", True),
    ("kuljetus", "Koulukuljetukset lukuvuosille 2026–2028", True),
    ("kuljetus", "kuljetuksen aikataulu", True),
    ("puhdistus", "ilmanvaihtokanavien puhdistuksen hankinta", True),
    ("hankinta", "hankinnan kohteena on", True),
    ("hankinta", "hankintojen yhteenveto", True),
    ("kauppa", "kaupan alan palvelut", True),
    ("kauppa", "kauppojen", True),
    ("urakka", "urakoitsija vastaa urakasta", True),
    ("asiakas", "asiakkaiden tyytyväisyys", True),
    ("sähköinen", "sähköisen kilpailutusjärjestelmän kautta", True),
    ("turvallisuus", "turvallisuuden varmistaminen", True),
    ("tuote", "tuotteiden toimitus", True),
    ("hanke", "hankkeen suunnittelu", True),
    ("palvelut", "palveluiden tuottaminen", True),
    ("ateria", "kouluaterioiden valmistus", True),
    # consonant gradation
    ("lumityö", "Lumitöiden urakka kaudelle 2026–2027", True),
    ("lumityö", "lumitöitä tehdään tarvittaessa", True),
    ("ruoka", "ruoan kuljetus", True),
    ("ruoka", "ruuan valmistus", True),
    ("ruoka", "kouluruoka ja ruokapalvelut", True),
    ("huolto", "kaluston huollon hankinta", True),
    ("hoito", "viheralueiden hoidon urakka", True),
    ("katu", "kadun kunnossapito", True),
    ("kaukolämpö", "kaukolämmön toimitus", True),
    ("tekniikka", "tekniikan asiantuntija", True),
    ("kaupunki", "kaupungin tilat", True),
    ("lehti", "lehden painatus", True),
    ("jätevesi", "jäteveden käsittely", True),
    # ä, ö and å are letters
    ("työmaa", "työmaan aitaus", True),
    ("pöytä", "pöydän kokoaminen", True),
    ("Åbo", "Åbo stad", True),
    ("öljy", "lämmitysöljyn toimitus", True),
    # words of several words: in order, adjacent, any white space or punctuation between
    ("lumen auraus", "Lumen aurauksen ja hiekoituksen urakka", True),
    ("lumen auraus", "lumen\n  auraus", True),
    ("lumen auraus", "kevytlumen auraus", True),
    ("lumen auraus", "lumen, auraus", True),
    ("lumen auraus", "lumen ja auraus", False),
    ("lumen auraus", "auraus ja lumen", False),
    ("lumen auraus", "lumenauraus", False),
    ("lumen auraus", "lumen tiealuraus", False),
    ("jätteiden kuljetus", "Jätteiden kuljetuksen kilpailutus", True),
    ("IT-palvelut", "IT-palveluiden hankinta", True),
    ("IT-palvelut", "it palvelut", True),
    ("IT-palvelut", "kitti-palvelut", False),
    ("LVI-urakka", "LVI-urakoiden kilpailutus", True),
    # short keywords: whole words and whole parts of hyphenated words only
    ("LVI", "LVI-urakka", True),
    ("LVI", "LVI:n suunnittelu", True),
    ("LVI", "Rakennuksen LVI ja sähkö", True),
    ("LVI", "ALVILLA", False),
    ("LVI", "arvonlisävero (alv) ilman", False),
    ("IT", "IT-palvelut", True),
    ("IT", "kitti", False),
    ("IT", "vaatimukset", False),
    ("ATK", "ATK-tarvikkeet", True),
    ("ATK", "atk:n", True),
    ("ATK", "matkat", False),
    ("kat", "katu", False),
    ("kat", "katto", False),
    ("5G", "5G-verkko", True),
    ("5G", "45G", False),
    ("2024", "vuonna 2024", True),
    ("2024", "120245", False),
    # noise kept out: no unrelated words sharing a short string
    ("siivous", "siivilä", False),
    ("kauppa", "Kaupunki hankkii", False),
    ("kunta", "kunnossapito", False),
    ("kunta", "kunnan alue", True),
    ("ateria", "materiaalit ja tarvikkeet", False),
    ("materiaali", "materiaalit ja tarvikkeet", True),
    ("jäte", "Tarjous on jätettävä määräaikaan mennessä", False),
    ("jäte", "tarjoukset on jätetty", False),
    ("jäte", "jätteen kuljetus", True),
    ("tila", "tilaaja ja tilauksen vahvistus", False),
    ("tila", "toimitilojen siivous", True),
    ("tilaus", "tilauksen vahvistus", True),
    ("maali", "maaliskuun loppuun mennessä", False),
    ("maali", "maalin toimitus", True),
    ("taksi", "syntaksin tarkistus", False),
    ("tieto", "lisätietoja antaa", False),
    ("tieto", "tiedonhallinnan järjestelmä", True),
    ("ohje", "ohjelmiston hankinta", False),
    ("kuljetus", "kuljettaja", False),
    ("ilma", "ennakkoilmoitus ja ilmoitukset", False),
    ("ilma", "ilmanvaihdon huolto", True),
    ("sähkö", "sähköisen kilpailutusjärjestelmän kautta", False),
    ("sähkö", "sähkötöiden urakka", True),
    ("kunta", "liikuntahallin ja henkilökunnan", False),
    ("kunta", "valtakunnallinen", False),
    ("tila", "Orimattilan kaupunki", False),
    ("tilat", "tilaajan edustaja", False),
    ("kala", "Asikkalan ja Janakkalan kunnat", False),
    ("kala", "kalan toimitus", True),
    ("halli", "asianhallintajärjestelmä", False),
    ("halli", "uimahallin peruskorjaus", True),
    ("talo", "taloudellisesti edullisin", False),
    ("talo", "kunnantalon remontti", True),
    # four-letter stems made by the rules (weak grades, plurals) only begin a word
    ("katu", "Hämeenkatu 2", True),
    ("katu", "kadun kunnossapito", True),
    ("tupa", "tuvan remontti", True),
    ("tupa", "katuvalaistus ja osallistuvat", False),
    ("aita", "aidan rakentaminen", True),
    ("aita", "maitotuotteet ja laitos", False),
    ("huolto", "huoltovarmuuskeskus", False),
    # a keyword with nothing to find
    ("!!!", "!!! ja ???", False),
    ("", "mitä tahansa", False),
]


@pytest.mark.parametrize(("keyword", "text", "expected"), CASES, ids=[f"{k}|{t}" for k, t, _ in CASES])
def test_a_keyword_is_found_in_its_finnish_forms_and_not_in_unrelated_words(
    keyword: str, text: str, expected: bool
) -> None:
    assert keyword_found(keyword, text) is expected


def test_the_matcher_reports_each_normalised_keyword_that_occurs() -> None:
    matcher = KeywordMatcher(["Siivous", "  LVI ", "lumen   auraus", "kuljetus", "ateria", "IT", "???", "siivous"])
    text = "Ylläpitosiivous ja LVI-urakka; lumen aurauksen urakka. Materiaalit toimitetaan."
    assert matcher.found(text) == {"siivous", "lvi", "lumen auraus"}
    assert matcher.found("") == set()
    assert KeywordMatcher([]).found(text) == set()


def test_a_stem_inside_a_longer_one_at_the_same_place_is_found_too() -> None:
    # "kiinteistönhoito" starts where "kiinteistö" does: both must be reported from one position.
    matcher = KeywordMatcher(["kiinteistö", "kiinteistönhoito", "kiinteistönhoitaja"])
    assert matcher.found("Kiinteistönhoitopalvelut") == {"kiinteistö", "kiinteistönhoito"}


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("  LVI-Urakka  ", "lvi-urakka"),
        ("Lumen\t\nAuraus", "lumen auraus"),
        ("ÄÖÅ", "äöå"),
        ("a\u0308ly", "äly"),  # a decomposed ä is one letter
        ("  ", ""),
        ("- / -", ""),
        ("5G", "5g"),
    ],
)
def test_normalising_lower_cases_collapses_white_space_and_empties_keywords_without_letters(
    keyword: str, expected: str
) -> None:
    assert normalise_keyword(keyword) == expected


@pytest.mark.parametrize(
    ("word", "stems"),
    [
        ("siivous", ("siivous", "siivouks")),  # -us → -uks-
        ("turvallisuus", ("turvallisuus", "turvallisuude", "turvallisuutt")),  # -uus → -uude-, -uutt-
        ("sähköinen", ("sähköis", "sähköinen")),  # -nen → -s-
        ("kiinteistö", ("kiinteistö",)),  # -ö stays in every form
        ("hankinta", ("hankinn", "hankint")),  # final vowel dropped, nt ↔ nn
        ("kauppa", ("kaupa", "kaupp", "kaupoj")),  # never "kaup", which is inside "kaupunki"
        ("ilma", ("ilma", "ilmoj")),  # ilmoja, but not "ilmo", which begins every "ilmoitus"
        ("lumityö", ("lumityö", "lumitöi")),  # työ → töi- in the plural
        ("hanke", ("hanke", "hankke")),  # -e: weak base form, strong inflected forms
        ("asiakas", ("asiakas", "asiakka")),  # -as → -aa-, k → kk
        ("palvelut", ("palvelu",)),  # a plural typed as a keyword
        ("lvi", ("lvi",)),  # short words are not stemmed
    ],
)
def test_stems_follow_the_rules_on_finnish_endings(word: str, stems: tuple[str, ...]) -> None:
    assert word_stems(word) == stems


# --- properties ------------------------------------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzäöå"
VOCABULARY = [
    "siivous", "siivouksen", "ylläpitosiivous", "kiinteistö", "kiinteistöjen", "kiinteistönhoito", "lumityöt",
    "lumitöiden", "kuljetus", "koulukuljetukset", "ruoan", "ruoka", "materiaali", "ateria", "lvi", "lvi-urakka",
    "alvilla", "it-palvelut", "kitti", "lumen", "auraus", "aurauksen", "jätettävä", "jätteen", "tilaaja", "tila",
    "kaupunki", "kaupan", "urakka", "urakoiden", "5g", "2024", "hankinta", "hankinnan", "ja", "tai", "sekä",
]  # fmt: skip
KEYWORDS = [
    "siivous", "kiinteistö", "lumityö", "kuljetus", "ruoka", "ateria", "LVI", "IT", "lumen auraus", "jäte",
    "tila", "kauppa", "urakka", "5G", "hankinta", "IT-palvelut", "ja", "kiinteistön hoito",
]  # fmt: skip
SEPARATORS = [" ", ", ", ". ", " – ", " (", ") ", "\n", " / ", ": "]

words = st.text(alphabet=LETTERS, min_size=1, max_size=12)
words_with_digits = st.text(alphabet=LETTERS + "0123456789", min_size=1, max_size=10)
separators = st.sampled_from(SEPARATORS)
casings = st.sampled_from([str.lower, str.upper, str.title, str.capitalize])
fillers = st.lists(st.one_of(words, st.sampled_from(VOCABULARY)), max_size=6)
keywords = st.lists(words_with_digits, min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" ", "-"]).map(lambda joint: joint.join(parts))
)


@given(keywords, fillers, fillers, separators, casings)
def test_a_keyword_is_always_found_where_it_is_written_as_a_word(
    keyword: str, before: list[str], after: list[str], separator: str, casing: Callable[[str], str]
) -> None:
    text = separator.join([*before, casing(keyword), *after])
    assert keyword_found(keyword, text)


@given(st.text(alphabet=LETTERS, min_size=5, max_size=14), words, fillers, separators, casings)
def test_a_keyword_of_five_letters_or_more_is_found_at_the_end_of_a_compound(
    keyword: str, prefix: str, around: list[str], separator: str, casing: Callable[[str], str]
) -> None:
    text = separator.join([*around, casing(prefix + keyword), *around])
    assume(not any(hiding in text.lower() for words in HIDDEN_IN.values() for hiding in words))  # on purpose
    assert keyword_found(keyword, text)


@given(
    st.lists(st.one_of(st.sampled_from(KEYWORDS), keywords), max_size=12),
    st.lists(st.one_of(st.sampled_from(VOCABULARY), words_with_digits), max_size=30),
    st.lists(separators, min_size=1, max_size=3),
)
def test_the_matcher_finds_what_each_keyword_finds_alone(
    keyword_list: list[str], text_words: list[str], separator_list: list[str]
) -> None:
    text = "".join(word + separator_list[index % len(separator_list)] for index, word in enumerate(text_words))
    expected = {normalise_keyword(keyword) for keyword in keyword_list if keyword_found(keyword, text)}
    assert KeywordMatcher(keyword_list).found(text) == expected


@given(st.text())
def test_normalising_twice_changes_nothing(keyword: str) -> None:
    once = normalise_keyword(keyword)
    assert normalise_keyword(once) == once


# --- scale (not timed: prints the timings for a human to read) ------------------------------------------------------


def time_matching(keywords: list[str], texts: list[str]) -> tuple[float, float, int]:
    """Seconds to build a matcher over ``keywords`` and to scan ``texts`` with it, and the keywords found."""
    started = time.perf_counter()
    matcher = KeywordMatcher(keywords)
    built = time.perf_counter()
    found = sum(len(matcher.found(text)) for text in texts)
    return built - started, time.perf_counter() - built, found


def _cpv_words() -> list[str]:
    """Finnish words from the CPV labels: a realistic vocabulary of what entrepreneurs type."""
    with Path("config/cpv_fi.csv").open(encoding="utf-8") as file:
        labels = [row["fi"] for row in csv.DictReader(file)]
    return sorted({word.lower() for label in labels for word in re.findall(r"[^\W\d_]+", label) if len(word) >= 3})


def _tender_words() -> list[str]:
    """The words of the labelled HILMA notices' Finnish titles and descriptions, in order."""
    notices = json.loads(Path("tests/fixtures/classification/notices.json").read_text(encoding="utf-8"))["value"]
    texts = [
        text
        for notice in notices
        for part in [notice, *(notice.get("lots") or [])]
        for text in (part.get("titleFi"), part.get("descriptionFi"))
        if text
    ]
    return " ".join(texts).split()


def test_three_thousand_keywords_scan_a_thousand_tender_texts() -> None:
    chance = random.Random(4)
    vocabulary, tender_words = _cpv_words(), _tender_words()
    keywords: set[str] = {"LVI", "IT", "ATK", "siivous", "lumen auraus"}
    while len(keywords) < 3000:
        first, second = chance.choice(vocabulary), chance.choice(vocabulary)
        keywords.add(first if chance.random() < 0.8 else f"{first} {second}")
    texts = []
    for _ in range(1000):
        text = "Ylläpitosiivous ja LVI-urakka; lumen aurauksen urakka."
        position = chance.randrange(len(tender_words))
        while len(text) < 1500:  # a run of real notice text, from the start again at the end
            text += " " + tender_words[position % len(tender_words)]
            position += 1
        texts.append(text)
    build, scan, found = time_matching(sorted(keywords), texts)
    print(f"\n3,000 keywords: build {build:.3f} s, 1,000 texts of ~1,500 characters: scan {scan:.3f} s, {found} found")
    assert found >= 3 * len(texts)  # at least siivous, lvi and lumen auraus in every text
