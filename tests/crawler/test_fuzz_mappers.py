"""Fuzzing the HILMA and TED JSON mappers and the classifier with whatever a source could send.

The existing property tests vary one field's value at a time over a few keys; these
start from the real fixture documents and replace any value anywhere in them (at any
depth) with any JSON: missing keys, wrong types, nulls, huge strings, control
characters. The contract: an item or a :class:`PayloadError`, never another exception;
an item's texts carry none of the characters the store and the pages refuse; and the
classifier takes any item the mappers can make.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import PayloadError
from crawler.classification.tenders import classify_notice
from crawler.hilma_json import map_index_document
from crawler.items import UNSAFE_CHARACTERS, NoticeItem
from crawler.ted_json import map_search_notice

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HILMA_DOCUMENTS = json.loads(
    (FIXTURES / "hilma" / "search_response_forssa_cleaning_plan_award_correction.json").read_text(encoding="utf-8")
)["value"]
TED_NOTICES = json.loads((FIXTURES / "ted" / "search_response_two_finnish_notices.json").read_text(encoding="utf-8"))[
    "notices"
]

#: Any text, including NUL, other controls, lone surrogates' neighbours, bidi overrides and markup.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\x00\x07\x1b\x7f\x85\u202e\u2066<>&\"' aäZ9-:.T"), max_size=40),
    st.sampled_from(["", " ", "null", "NaN", "1e999999", "-1", "2026-02-30T25:61:00Z", "9999-12-31T23:59:59Z"]),
    st.builds(lambda n: "x" * n, st.integers(10_000, 200_000)),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.floats(allow_infinity=True), hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value where another value could stand."""
    found = [prefix]
    if isinstance(value, dict):
        for key, element in value.items():
            found += paths(element, (*prefix, key))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            found += paths(element, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: list[dict]) -> Any:
    """A fixture document with values replaced or keys removed, anywhere, a few times over."""
    document: Any = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(paths(document)))
        if not where:
            document = draw(json_values)
            continue
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(json_values)
        if not isinstance(document, dict | list):
            break
    return document


def texts_of(item: NoticeItem) -> list[str]:
    """Every string the item holds outside its raw payloads."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for element in value:
                walk(element)
        elif isinstance(value, dict):
            for key, element in value.items():
                walk(key)
                walk(element)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                if name != "payloads":
                    walk(getattr(value, name))

    walk(item)
    return found


def check_item(item: NoticeItem) -> None:
    """What the store and the pages rely on in any mapped item."""
    assert isinstance(item.source_id, str) and item.source_id
    for text in texts_of(item):
        assert not UNSAFE_CHARACTERS.search(text), repr(text[:80])
    item.content_hash()
    classify_notice(item)


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(mutated(HILMA_DOCUMENTS))
def test_any_mutated_hilma_index_document_maps_or_is_refused_by_name(document: Any) -> None:
    try:
        item = map_index_document(document)
    except PayloadError as error:
        assert str(error)
        return
    check_item(item)


@FUZZ
@given(mutated(TED_NOTICES))
def test_any_mutated_ted_listing_maps_or_is_refused_by_name(notice: Any) -> None:
    try:
        item = map_search_notice(notice)
    except PayloadError as error:
        assert str(error)
        return
    check_item(item)


@FUZZ
@given(json_values)
def test_any_json_at_all_is_refused_by_name_or_mapped(value: Any) -> None:
    for mapper in (map_index_document, map_search_notice):
        with contextlib.suppress(PayloadError):
            check_item(mapper(value))


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            ["titleFi", "descriptionFi", "organisationNameFi", "organisationAddress", "nutsCodes", "cpvCodes", "lots"]
        ),
        st.one_of(
            hostile_text,
            st.lists(
                st.dictionaries(st.sampled_from(["titleFi", "cpvCodes", "nutsCodes", "id"]), hostile_text, max_size=4),
                max_size=5,
            ),
        ),
        min_size=1,
    )
)
def test_the_classifier_takes_any_text_and_any_codes_in_any_field(fields: dict[str, Any]) -> None:
    item = map_index_document({**HILMA_DOCUMENTS[0], **fields})
    result = classify_notice(item)
    assert result is not None
