"""The store's one-pass content of an item equals ``NoticeItem.content()``: the content hash must not move.

Stored notices are compared by that hash (an unchanged notice is recognised by it), so
:func:`models.ingest.item_content` must give the very data ``content()`` gives, value
and type, for every item: the sample's notices from both sources, and arbitrary ones.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.notices import parse, payloads
from crawler.items import Award, Lot, NoticeItem, Organisation, Place, hash_content
from models.ingest import item_content


def same(item: NoticeItem) -> None:
    expected = item.content()
    got = item_content(item)
    # json.dumps tells 1 from True and "1" from 1, which == does not
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert got == expected
    assert hash_content(got) == item.content_hash()


def test_every_sample_notice_from_hilma_and_ted() -> None:
    items = [parse(payload) for payload in payloads(108)]
    assert {item.source for item in items} == {"hilma", "ted"}
    for item in items:
        same(item)


texts = st.text(max_size=12)
maybe_texts = st.none() | texts
languages = st.dictionaries(st.sampled_from(["fi", "sv", "en", "de"]), texts, max_size=3)
moments = st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]))
money = st.none() | st.decimals(places=2, min_value=-(10**9), max_value=10**9)
places = st.lists(st.builds(Place, nuts=maybe_texts, town=maybe_texts, description=maybe_texts), max_size=2)
organisations = st.builds(Organisation, name=maybe_texts, names=languages, business_id=maybe_texts)
lots = st.builds(
    Lot,
    id=texts,
    titles=languages,
    cpv_additional=st.lists(texts, max_size=2),
    places=places,
    estimated_value=money,
    deadline=moments,
    framework_agreement=st.none() | st.booleans(),
)
awards = st.builds(
    Award,
    lot_id=maybe_texts,
    winner=st.none() | organisations,
    value=money,
    tenders_received=st.none() | st.integers(0, 500),
)
items = st.builds(
    NoticeItem,
    source=st.sampled_from(["hilma", "ted", "eforms"]),
    source_id=texts,
    published_at=moments,
    hilma_procedure_id=st.none() | st.integers(0, 10**9),
    previous_notices=st.lists(texts, max_size=2),
    cancelled=st.booleans(),
    national=st.none() | st.booleans(),
    titles=languages,
    descriptions=languages,
    estimated_value=money,
    deadline=moments,
    buyers=st.lists(organisations, max_size=2),
    places=places,
    lots=st.lists(lots, max_size=2),
    awards=st.lists(awards, max_size=2),
    payloads=st.dictionaries(st.sampled_from(["eforms", "hilma-index"]), st.binary(max_size=20), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(items)
def test_any_item(item: NoticeItem) -> None:
    same(item)


def test_what_json_would_change_falls_back_to_content_itself() -> None:
    """A non-string key, a tuple, a float: the result is still what the JSON round trip makes of them."""
    odd: dict[Any, Any] = {1: "one", "ratio": 0.1, "codes": ("a", "b")}
    item = NoticeItem(source="hilma", source_id="EF-1", titles=odd, estimated_value=Decimal("1.50"))
    same(item)
    assert item_content(item)["titles"] == {"1": "one", "ratio": 0.1, "codes": ["a", "b"]}
