"""Finnish-aware tokens: words whose letters include ä, ö and å, with their positions.

Place names and sector keywords are matched as whole words from explicit lists, so a
word boundary must treat ä, ö and å (and é, ü …) as letters: Python's ``\\b`` over
``[a-z]`` would split "Riihimäellä" and find "Lahti" inside "Lahtiä". A word is a run
of Unicode letters; a run of digits is a token of its own (postcodes, street numbers).

A hyphenated word ("Kanta-Hämeen", "Lahti-Hollola", "Jokioisten-Forssan") is one
token and is followed at once by one token per part, each marked ``part=True``.
A reader first tries the whole word ("Kanta-Hämeen" is a region form) and falls back
to the parts ("Lahti-Hollola" names two towns). A hyphen that does not join two
letter runs ("Hämeenlinna- ja Lahti-alueella") ends the word; an en dash always
separates words ("Lahti–Heinola").
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: Characters that join the parts of a hyphenated word (an en dash separates words).
HYPHENS = "-\u2010\u2011"
_WORD = re.compile(rf"[^\W\d_]+(?:[{HYPHENS}][^\W\d_]+)*|\d+")
_SPLIT = re.compile(rf"[{HYPHENS}]")


class Token(NamedTuple):
    """One word or number as written, lower-cased, and where it sits in the text."""

    text: str
    lower: str
    start: int
    end: int
    part: bool = False  # a part of the hyphenated word just before it

    @property
    def hyphenated(self) -> bool:
        return not self.part and any(hyphen in self.text for hyphen in HYPHENS)

    @property
    def is_number(self) -> bool:
        return self.text.isdecimal()


def tokens(text: str) -> list[Token]:
    """Every word and number of ``text`` in order; hyphenated words also give their parts."""
    result: list[Token] = []
    for match in _WORD.finditer(text):
        word = match.group()
        start = match.start()
        result.append(Token(word, word.lower(), start, match.end()))
        if not word.isalnum() and _SPLIT.search(word):  # only a hyphenated word has a non-letter inside
            offset = start
            for piece in _SPLIT.split(word):
                result.append(Token(piece, piece.lower(), offset, offset + len(piece), True))
                offset += len(piece) + 1
    return result


def is_capitalised(token: Token) -> bool:
    """True when the word begins with a capital letter, as Finnish writes proper names.

    A word in capitals throughout ("LAHDEN KAUPUNKI") counts as capitalised.
    """
    return token.text[:1].isupper()
