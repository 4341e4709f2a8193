"""The part of Azure AI Search's query language that HILMA's clients use: ``filter``, ``orderby``, simple search.

Supported, because real clients send it (see the HILMA format notes):
comparisons ``eq ne gt ge lt le`` against quoted strings, numbers, ``true``/``false``,
``null`` and unquoted DateTimeOffset literals (``2026-05-01T00:00:00Z``); ``and``,
``or``, ``not`` and parentheses; a boolean field on its own (``isPlan``);
``search.in(field, 'a|b', '|')``; ``search.ismatch('text', 'field,field')``.
Anything else is refused with :class:`QueryError`, whose message the stand-in
returns in a 400 answer the way Azure does, so a spider that builds a bad filter
finds out in the tests rather than in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

Document = dict[str, Any]
Predicate = Callable[[Document], bool]


class QueryError(ValueError):
    """The filter, order or search text is not one the stand-in (or Azure) accepts."""


@dataclass(frozen=True)
class FieldTypes:
    """Which document fields exist and what they hold, to check filters as Azure does."""

    strings: frozenset[str]
    numbers: frozenset[str]
    booleans: frozenset[str]
    dates: frozenset[str]
    sortable: frozenset[str]
    searchable: tuple[str, ...]

    def kind(self, name: str) -> str:
        for kind, names in (
            ("string", self.strings),
            ("number", self.numbers),
            ("boolean", self.booleans),
            ("date", self.dates),
        ):
            if name in names:
                return kind
        raise QueryError(f"Invalid expression: Could not find a property named '{name}' on type 'search.document'.")


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<date>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, date, number, name, punct, end
    text: str
    position: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"Invalid expression: Syntax error at position {position + 1} in '{text}'.")
        kind = match.lastgroup or "end"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def compile_filter(text: str | None, types: FieldTypes) -> Predicate:
    """A predicate for the OData filter ``text`` (everything passes when there is none)."""
    if text is None or not text.strip():
        return lambda document: True
    parser = _FilterParser(text, types)
    predicate = parser.parse_or()
    parser.expect_end()
    return predicate


class _FilterParser:
    def __init__(self, text: str, types: FieldTypes) -> None:
        self.text = text
        self.types = types
        self.tokens = _tokenize(text)
        self.index = 0

    # -- token helpers -----------------------------------------------------------------------

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, token: _Token | None = None) -> QueryError:
        token = token or self.current
        found = f"'{token.text}'" if token.kind != "end" else "the end of the expression"
        return QueryError(
            f"Invalid expression: Syntax error at position {token.position + 1} in '{self.text}' (unexpected {found})."
        )

    def expect(self, text: str) -> None:
        if self.current.text != text:
            raise self.error()
        self.advance()

    def expect_end(self) -> None:
        if self.current.kind != "end":
            raise self.error()

    # -- grammar ----------------------------------------------------------------------------

    def parse_or(self) -> Predicate:
        terms = [self.parse_and()]
        while self.current.word == "or":
            self.advance()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else (lambda document: any(term(document) for term in terms))

    def parse_and(self) -> Predicate:
        terms = [self.parse_not()]
        while self.current.word == "and":
            self.advance()
            terms.append(self.parse_not())
        return terms[0] if len(terms) == 1 else (lambda document: all(term(document) for term in terms))

    def parse_not(self) -> Predicate:
        if self.current.word == "not":
            self.advance()
            inner = self.parse_not()
            return lambda document: not inner(document)
        return self.parse_primary()

    def parse_primary(self) -> Predicate:
        token = self.current
        if token.text == "(":
            self.advance()
            inner = self.parse_or()
            self.expect(")")
            return inner
        if token.kind != "name" or token.word in ("and", "or", "not", "true", "false", "null"):
            raise self.error()
        self.advance()
        if token.word == "search.in":
            return self.parse_search_in()
        if token.word == "search.ismatch":
            return self.parse_ismatch()
        field = token.text
        kind = self.types.kind(field)
        if self.current.word in _OPERATORS:
            operator = self.advance().word
            return self.comparison(field, kind, operator, self.parse_literal(field, kind))
        if kind == "boolean":
            return lambda document: document.get(field) is True
        raise self.error()

    def parse_literal(self, field: str, kind: str) -> Any:
        token = self.advance()
        if token.word == "null":
            return None
        if kind == "string" and token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if kind == "number" and token.kind == "number":
            return float(token.text)
        if kind == "boolean" and token.word in ("true", "false"):
            return token.word == "true"
        if kind == "date" and token.kind == "date":
            return _parse_datetime(token.text)
        raise QueryError(
            f"Invalid expression: the literal '{token.text}' at position {token.position + 1} "
            f"cannot be compared with the {kind} field '{field}'."
        )

    def comparison(self, field: str, kind: str, operator: str, literal: Any) -> Predicate:
        compare = _COMPARISONS[operator]
        if literal is None or operator in ("eq", "ne"):

            def equality(document: Document) -> bool:
                value = _document_value(document, field, kind)
                if value is None or literal is None:
                    return compare(value is None, literal is None) if operator in ("eq", "ne") else False
                return compare(value, literal)

            return equality
        if kind == "boolean":
            raise QueryError(f"Invalid expression: the operator '{operator}' cannot be applied to '{field}'.")

        def ordering(document: Document) -> bool:
            value = _document_value(document, field, kind)
            return value is not None and compare(value, literal)

        return ordering

    def parse_search_in(self) -> Predicate:
        self.expect("(")
        field_token = self.advance()
        if field_token.kind != "name" or self.types.kind(field_token.text) != "string":
            raise QueryError(f"Invalid expression: search.in needs a string field, got '{field_token.text}'.")
        self.expect(",")
        values_token = self.advance()
        if values_token.kind != "string":
            raise self.error(values_token)
        delimiters = " ,"
        if self.current.text == ",":
            self.advance()
            delimiter_token = self.advance()
            if delimiter_token.kind != "string":
                raise self.error(delimiter_token)
            delimiters = delimiter_token.text[1:-1]
        self.expect(")")
        values = {value for value in re.split("|".join(map(re.escape, delimiters)), values_token.text[1:-1]) if value}
        field = field_token.text
        return lambda document: document.get(field) in values

    def parse_ismatch(self) -> Predicate:
        self.expect("(")
        text_token = self.advance()
        if text_token.kind != "string":
            raise self.error(text_token)
        fields: tuple[str, ...] = self.types.searchable
        if self.current.text == ",":
            self.advance()
            fields_token = self.advance()
            if fields_token.kind != "string":
                raise self.error(fields_token)
            fields = tuple(name.strip() for name in fields_token.text[1:-1].split(",") if name.strip())
            for name in fields:
                self.types.kind(name)
        self.expect(")")
        matcher = compile_search(text_token.text[1:-1].replace("''", "'"), fields, mode="any")
        return matcher


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


@lru_cache(maxsize=200_000)  # every search re-reads the same dates: a benchmark index has 20 000 documents
def _parse_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"Invalid expression: '{text}' is not a valid DateTimeOffset literal.") from None


def _document_value(document: Document, field: str, kind: str) -> Any:
    value = document.get(field)
    if value is None:
        return None
    if kind == "date":
        return _parse_datetime(value)
    if kind == "number":
        return float(value)
    return value


# -- $orderby -------------------------------------------------------------------------------


def sort_documents(documents: list[Document], orderby: str | None, types: FieldTypes) -> list[Document]:
    """Sort by ``"field [asc|desc], …"``; ties keep index order, nulls come first ascending (as in Azure)."""
    if orderby is None or not orderby.strip():
        return list(documents)
    keys: list[tuple[str, bool]] = []
    for clause in orderby.split(","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"Invalid expression: Syntax error in $orderby '{orderby}'.")
        field = words[0]
        kind = types.kind(field)
        if field not in types.sortable:
            raise QueryError(f"Invalid expression: The field '{field}' is not sortable.")
        keys.append((field, len(words) == 2 and words[1].lower() == "desc"))
    ordered = list(documents)
    for field, descending in reversed(keys):
        kind = types.kind(field)

        def key(document: Document, field: str = field, kind: str = kind) -> tuple[bool, Any]:
            value = _document_value(document, field, kind)
            return (value is not None, value if value is not None else 0)

        ordered.sort(key=key, reverse=descending)
    return ordered


# -- search ----------------------------------------------------------------------------------


def compile_search(text: str | None, fields: Iterable[str], *, mode: str = "any") -> Predicate:
    """Simple-syntax full text: words (``word*`` for a prefix) matched case-insensitively in ``fields``."""
    if text is None or text.strip() in ("", "*"):
        return lambda document: True
    if re.search(r"[:()\"\\]|\b(AND|OR|NOT)\b", text):
        raise QueryError(
            "The stand-in implements the simple search syntax only (words and word*); "
            f"use 'filter' for field conditions: {text!r}"
        )
    terms = [term.lower() for term in text.split() if term.strip("+-")]
    names = tuple(fields)
    combine = all if mode == "all" else any

    def matches(document: Document) -> bool:
        words = set(re.findall(r"\w+", " ".join(str(document.get(name) or "") for name in names).lower()))
        return combine(
            any(word.startswith(term[:-1]) for word in words) if term.endswith("*") else term in words for term in terms
        )

    return matches
