"""The part of TED's expert query language that a crawler of Finnish notices uses.

Supported: ``field = value``, ``!=``, ``IN (a b c)`` (spaces or commas), ``NOT IN``,
``>``/``>=``/``<``/``<=`` on dates written ``YYYYMMDD`` or ``today(-N)``, ``~`` full
text (``FT ~ "siivous"``), ``AND``/``OR``/``NOT``/parentheses, a trailing ``SORT BY
field [DESC]``, and TED's short aliases (``PD``, ``ND``, ``FT``, ``TI``, ``CY``, ``TD``).
``place-of-performance`` matches down the NUTS hierarchy (``FI1C`` finds ``FI1C2``)
and by country (``FIN``); ``72*`` is a prefix. Errors carry TED's error types
(``QUERY_SYNTAX_ERROR``, ``QUERY_UNKNOWN_FIELD``, ``QUERY_UNSUPPORTED_FIELD_VALUE``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crawler.standins.ted_fields import KNOWN_FIELDS

Fields = dict[str, Any]
Predicate = Callable[[Fields], bool]

ALIASES = {
    "PD": "publication-date",
    "ND": "publication-number",
    "TI": "notice-title",
    "CY": "buyer-country",
    "TD": "notice-type",
}
DATE_FIELDS = frozenset(
    {"publication-date", "dispatch-date", "deadline-receipt-tender-date-lot", "contract-conclusion-date"}
)
COUNTRY_FIELDS = frozenset(
    {
        "buyer-country",
        "organisation-country-buyer",
        "place-of-performance-country-proc",
        "place-of-performance-country-lot",
        "winner-country",
    }
)
TEXT_FIELDS = (
    "notice-title",
    "title-proc",
    "title-lot",
    "description-proc",
    "description-lot",
    "buyer-name",
    "winner-name",
)
SORTABLE = frozenset({"publication-date", "publication-number", "dispatch-date"})
_KEYWORDS = {"AND", "OR", "NOT", "IN", "SORT", "BY", "DESC", "ASC"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*")
      | (?P<op>>=|<=|!=|!~|<>|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s()=<>!~",]+)
    )""",
    re.VERBOSE,
)


class TedQueryError(ValueError):
    """A query TED would refuse; ``kind`` is TED's error type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TedQuery:
    predicate: Predicate
    sort_field: str
    descending: bool


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" and self.text.upper() in _KEYWORDS else ""


def parse_query(text: str, today: date) -> TedQuery:
    """Compile an expert query; ``today`` resolves ``today(-N)``."""
    return _Parser(text, today).parse()


def field_values(fields: Fields, name: str) -> list[str]:
    """A field's values flattened to strings (multilingual dicts and lists alike)."""
    value = fields.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        return [str(item) for items in value.values() for item in (items if isinstance(items, list) else [items])]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def field_dates(fields: Fields, name: str) -> list[date]:
    return [date.fromisoformat(value[:10]) for value in field_values(fields, name)]


class _Parser:
    def __init__(self, text: str, today: date) -> None:
        self.text = text
        self.today = today
        self.tokens = self._tokenize(text)
        self.index = 0

    def _tokenize(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while text[position:].strip():
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise self.syntax_error(_Token("char", text[position:].strip()[:1], position + 1), "a field or value")
            kind = match.lastgroup or "word"
            tokens.append(_Token(kind, match.group(kind), match.start(kind) + 1))
            position = match.end()
        tokens.append(_Token("end", "<EOF>", len(text) + 1))
        return tokens

    # -- helpers ------------------------------------------------------------------------------

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def syntax_error(self, token: _Token, expecting: str) -> TedQueryError:
        return TedQueryError(
            "QUERY_SYNTAX_ERROR",
            f"Syntax error in expert query at line 1, col {token.column}: "
            f"mismatched input '{token.text}' expecting {expecting}",
        )

    def expect(self, text: str) -> _Token:
        if self.current.text.upper() != text:
            raise self.syntax_error(self.current, f"'{text}'")
        return self.advance()

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> TedQuery:
        if self.current.kind == "end":
            raise self.syntax_error(self.current, "a field")
        predicate = self.parse_or()
        sort_field, descending = "publication-date", False
        if self.current.keyword == "SORT":
            self.advance()
            self.expect("BY")
            token = self.advance()
            sort_field = self.resolve_field(token)
            if sort_field not in SORTABLE:
                raise TedQueryError("QUERY_UNSUPPORTED_FIELD_VALUE", f"The field '{token.text}' cannot be sorted on")
            if self.current.keyword == "DESC":
                self.advance()
                descending = True
        if self.current.kind != "end":
            raise self.syntax_error(self.current, "{AND, OR, SORT, <EOF>}")
        return TedQuery(predicate, sort_field, descending)

    def parse_or(self) -> Predicate:
        terms = [self.parse_and()]
        while self.current.keyword == "OR":
            self.advance()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else (lambda fields: any(term(fields) for term in terms))

    def parse_and(self) -> Predicate:
        terms = [self.parse_not()]
        while self.current.keyword == "AND":
            self.advance()
            terms.append(self.parse_not())
        return terms[0] if len(terms) == 1 else (lambda fields: all(term(fields) for term in terms))

    def parse_not(self) -> Predicate:
        if self.current.keyword == "NOT":
            self.advance()
            inner = self.parse_not()
            return lambda fields: not inner(fields)
        return self.parse_primary()

    def parse_primary(self) -> Predicate:
        if self.current.text == "(":
            self.advance()
            inner = self.parse_or()
            self.expect(")")
            return inner
        token = self.advance()
        if token.kind != "word" or token.keyword:
            raise self.syntax_error(token, "a field")
        field = self.resolve_field(token)
        operator = self.current
        if operator.keyword == "NOT":
            self.advance()
            self.expect("IN")
            values = self.parse_values(field, many=True)
            return lambda fields: not self.matches_any(field, "=", values, fields)
        if operator.keyword == "IN":
            self.advance()
            values = self.parse_values(field, many=True)
            return lambda fields: self.matches_any(field, "=", values, fields)
        if operator.kind != "op" or operator.text == "<>":
            raise self.syntax_error(operator, "{NOT, IN, '!=', '=', '~', '!~', COMPARISON_OPERATOR}")
        self.advance()
        values = self.parse_values(field, many=self.current.text == "(")
        if operator.text in (">", ">=", "<", "<=") and field not in DATE_FIELDS:
            raise TedQueryError(
                "QUERY_UNSUPPORTED_FIELD_VALUE", f"The operator '{operator.text}' cannot be used with '{field}'"
            )
        if operator.text in ("~", "!~"):
            text_fields = TEXT_FIELDS if field == "FT" else (field,)

            def found(fields: Fields) -> bool:
                return any(_text_match(fields, text_fields, value) for value in values)

            return found if operator.text == "~" else (lambda fields: not found(fields))
        if operator.text == "!=":
            return lambda fields: not self.matches_any(field, "=", values, fields)
        op = operator.text
        return lambda fields: self.matches_any(field, op, values, fields)

    def resolve_field(self, token: _Token) -> str:
        name = ALIASES.get(token.text, token.text)
        if name == "FT" or (name in KNOWN_FIELDS and name != "links"):
            return name
        raise TedQueryError("QUERY_UNKNOWN_FIELD", f"Unknown field '{token.text}' in expert query")

    def parse_values(self, field: str, *, many: bool) -> list[Any]:
        if not many:
            return [self.parse_value(field)]
        self.expect("(")
        values = []
        while self.current.text != ")":
            if self.current.text == ",":
                self.advance()
                continue
            if self.current.kind == "end":
                raise self.syntax_error(self.current, "')'")
            values.append(self.parse_value(field))
        self.advance()
        if not values:
            raise self.syntax_error(self.current, "a value")
        return values

    def parse_value(self, field: str) -> Any:
        token = self.advance()
        if token.kind == "string":
            text = token.text[1:-1]
        elif token.kind == "word" and not token.keyword:
            text = token.text
        else:
            raise self.syntax_error(token, "a value")
        if field in DATE_FIELDS:
            return self.date_value(field, token, text)
        if field in COUNTRY_FIELDS and not re.fullmatch(r"[A-Za-z]{3}", text):
            raise TedQueryError(
                "QUERY_UNSUPPORTED_FIELD_VALUE",
                f"Unsupported value '{text}' for field '{field}': countries are ISO 3166-1 alpha-3 codes (FIN)",
            )
        return text

    def date_value(self, field: str, token: _Token, text: str) -> date:
        if text.lower() == "today":
            self.expect("(")
            offset = self.advance()
            if not re.fullmatch(r"[+-]?\d+", offset.text):
                raise self.syntax_error(offset, "a number of days")
            self.expect(")")
            return self.today + timedelta(days=int(offset.text))
        if re.fullmatch(r"\d{8}", text):
            try:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                pass
        raise TedQueryError(
            "QUERY_UNSUPPORTED_FIELD_VALUE",
            f"Unsupported value '{token.text}' for field '{field}': dates are written YYYYMMDD or today(-N)",
        )

    def matches_any(self, field: str, operator: str, values: list[Any], fields: Fields) -> bool:
        if field in DATE_FIELDS:
            compare = _DATE_COMPARISONS[operator]
            return any(compare(have, want) for have in field_dates(fields, field) for want in values)
        have = [value.upper() for value in field_values(fields, field)]
        for want in values:
            wanted = str(want).upper()
            if wanted.endswith("*"):
                if any(value.startswith(wanted[:-1]) for value in have):
                    return True
            elif field == "place-of-performance":
                if any(value.startswith(wanted) for value in have):
                    return True
            elif wanted in have:
                return True
        return False


_DATE_COMPARISONS: dict[str, Callable[[date, date], bool]] = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _text_match(fields: Fields, names: tuple[str, ...], text: str) -> bool:
    words = text.lower().split()
    haystack = " ".join(value for name in names for value in field_values(fields, name)).lower()
    return all(word.rstrip("*") in haystack for word in words)
