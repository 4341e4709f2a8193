"""Finnish-aware tokens: ä, ö and å are letters, hyphenated words give their parts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.classification.text import Token, is_capitalised, tokens


def words(text: str) -> list[str]:
    return [token.text for token in tokens(text) if not token.part]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Urakka Riihimäellä ja Lopella.", ["Urakka", "Riihimäellä", "ja", "Lopella"]),
        ("Jokioisissa, Ypäjällä; Sysmässä!", ["Jokioisissa", "Ypäjällä", "Sysmässä"]),
        ("Åbo och Jakobstad", ["Åbo", "och", "Jakobstad"]),
        ("Café Sjöbergs", ["Café", "Sjöbergs"]),
        ("Lahti–Heinola", ["Lahti", "Heinola"]),
        ("Hämeenlinna- ja Lahti-alueella", ["Hämeenlinna", "ja", "Lahti-alueella"]),
        ("Kauppakatu 1, 11100 Riihimäki", ["Kauppakatu", "1", "11100", "Riihimäki"]),
        ("FI1C2", ["FI", "1", "C", "2"]),
        ("", []),
    ],
)
def test_words_are_runs_of_letters_where_scandinavian_letters_are_letters(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_a_hyphenated_word_is_one_token_followed_by_its_parts() -> None:
    found = tokens("Kanta-Hämeen ja Lahti-Hollola")
    assert [(t.text, t.part) for t in found] == [
        ("Kanta-Hämeen", False),
        ("Kanta", True),
        ("Hämeen", True),
        ("ja", False),
        ("Lahti-Hollola", False),
        ("Lahti", True),
        ("Hollola", True),
    ]
    assert found[0].hyphenated and not found[1].hyphenated and not found[3].hyphenated


def test_tokens_know_their_position_and_lower_case() -> None:
    text = "Siivous Päijät-Hämeessä"
    for token in tokens(text):
        assert text[token.start : token.end] == token.text
        assert token.lower == token.text.lower()
    assert tokens(text)[1].lower == "päijät-hämeessä"


def test_a_name_is_not_split_at_a_scandinavian_letter() -> None:
    assert words("Hämeenkyrö Rautalammilla") == ["Hämeenkyrö", "Rautalammilla"]


def test_numbers_are_tokens_of_their_own() -> None:
    numbers = [token.text for token in tokens("Postinumero 16900 Lammi, talo 5") if token.is_number]
    assert numbers == ["16900", "5"]


@pytest.mark.parametrize(
    ("word", "capitalised"),
    [("Lahden", True), ("lahden", False), ("LAHDEN", True), ("Ähtäri", True), ("äänestys", False)],
)
def test_a_capitalised_word_begins_with_a_capital_letter(word: str, capitalised: bool) -> None:
    assert is_capitalised(tokens(word)[0]) is capitalised


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_every_token_is_the_text_at_its_position(text: str) -> None:
    for token in tokens(text):
        assert isinstance(token, Token)
        assert text[token.start : token.end] == token.text
        # letters here are word characters other than digits and "_" (so "m²" is one word)
        assert token.text and (token.text.isdecimal() or all(c.isalnum() or c in "-\u2010\u2011" for c in token.text))
