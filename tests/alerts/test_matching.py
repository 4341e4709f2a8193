"""Matching: the rule on examples, and the index always giving the rule's answer."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.keywords import keyword_found
from alerts.matching import SearchFacts, SearchIndex, TenderFacts, effective_category, search_facts, search_matches

SECTORS = ["siivous", "rakentaminen", "kuljetus", "ict"]
PLACES = [("region", "05"), ("region", "07"), ("subregion", "053"), ("municipality", "061"), ("municipality", "109")]
WORDS = ["siivous", "ikkunanpesu", "lumityö", "LVI", "kuljetus", "koulu"]
TEXTS = [
    "Koulujen ylläpitosiivous",
    "Ikkunanpesupalvelut",
    "Lumitöiden hankinta",
    "LVI-urakka koululle",
    "Koulukuljetukset 2027",
    "Toimistotarvikkeet",
]


def tender(**values: object) -> TenderFacts:
    base: dict[str, object] = {
        "id": 1,
        "sectors": frozenset({"siivous"}),
        "places": frozenset({("region", "05"), ("subregion", "053"), ("municipality", "061")}),
        "nationwide": False,
        "cpv": ("90911200",),
        "text": "Forssan koulujen ylläpitosiivous",
        "value": Decimal("240000"),
        "category": "call",
    }
    base.update(values)
    return TenderFacts(**base)  # type: ignore[arg-type]


def search(**values: object) -> SearchFacts:
    base: dict[str, object] = {"id": 1, "subscriber_id": 1, "frequency": "instant"}
    base.update(values)
    return search_facts(**base)  # type: ignore[arg-type]


def matches(one: SearchFacts, facts: TenderFacts) -> bool:
    return [found.id for found in SearchIndex.build([one]).matches(facts)] == [one.id]


def test_topic_filters_are_alternatives_and_place_must_also_hold() -> None:
    assert matches(search(sectors=["siivous"], regions=["subregion:053"]), tender())
    assert matches(search(cpv_prefixes=["909"], regions=["region:05"]), tender())
    assert matches(search(keywords=["siivous"], sectors=["ict"]), tender())
    assert not matches(search(sectors=["ict"], cpv_prefixes=["45"]), tender())
    assert not matches(search(sectors=["siivous"], regions=["region:07"]), tender())
    assert matches(search(), tender())  # no filters: everything announced


def test_nationwide_tenders_reach_place_searches_only_when_asked() -> None:
    everywhere = tender(places=frozenset(), nationwide=True)
    assert not matches(search(regions=["region:05"]), everywhere)
    assert matches(search(regions=["region:05"], include_nationwide=True), everywhere)
    assert matches(search(), everywhere)


def test_value_range_category_and_excluded_words_narrow() -> None:
    assert not matches(search(value_min=Decimal("500000")), tender())
    assert matches(search(value_max=Decimal("500000")), tender())
    assert matches(search(value_min=Decimal("500000")), tender(value=None))  # unknown value is not hidden
    assert not matches(search(categories=["award"]), tender())
    assert matches(search(categories=["award"]), tender(category="award"))
    assert not matches(search(excluded=["ylläpitosiivous"]), tender())
    assert not matches(search(), tender(category=None))


def test_an_open_call_past_its_deadline_announces_nothing() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 26, tzinfo=UTC)
    assert effective_category("open", datetime(2026, 11, 25, tzinfo=UTC), now) is None
    assert effective_category("open", datetime(2026, 12, 25, tzinfo=UTC), now) == "call"
    assert effective_category("planned", None, now) == "upcoming"
    assert effective_category("cancelled", None, now) is None


searches = st.builds(
    lambda i, sectors, places, nationwide, keywords, excluded, cpv, low, categories, freq: search(
        id=i,
        subscriber_id=i % 7,
        frequency=freq,
        sectors=sectors,
        regions=[f"{level}:{code}" for level, code in places],
        include_nationwide=nationwide,
        keywords=keywords,
        excluded=excluded,
        cpv_prefixes=cpv,
        value_min=low,
        categories=categories,
    ),
    st.integers(1, 10_000),
    st.lists(st.sampled_from(SECTORS), max_size=2),
    st.lists(st.sampled_from(PLACES), max_size=2),
    st.booleans(),
    st.lists(st.sampled_from(WORDS), max_size=2),
    st.lists(st.sampled_from(WORDS), max_size=1),
    st.lists(st.sampled_from(["45", "909", "9091", "60"]), max_size=2),
    st.one_of(st.none(), st.sampled_from([Decimal(0), Decimal(100_000), Decimal(1_000_000)])),
    st.lists(st.sampled_from(["upcoming", "call", "award"]), min_size=1, max_size=3),
    st.sampled_from(["instant", "daily", "weekly"]),
)
tenders = st.builds(
    lambda sectors, places, nationwide, cpv, text, value, category: tender(
        sectors=frozenset(sectors),
        places=frozenset(places),
        nationwide=nationwide,
        cpv=tuple(cpv),
        text=text,
        value=value,
        category=category,
    ),
    st.lists(st.sampled_from(SECTORS), max_size=2),
    st.lists(st.sampled_from(PLACES), max_size=3),
    st.booleans(),
    st.lists(st.sampled_from(["45210000", "90911200", "60130000", "72000000"]), max_size=2),
    st.lists(st.sampled_from(TEXTS), max_size=3).map(" ".join),
    st.one_of(st.none(), st.sampled_from([Decimal(50_000), Decimal(500_000)])),
    st.sampled_from([None, "upcoming", "call", "award"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(searches, max_size=25, unique_by=lambda s: s.id), st.lists(tenders, min_size=1, max_size=5))
def test_the_index_finds_exactly_the_searches_the_rule_accepts(
    all_searches: list[SearchFacts], all_tenders: list[TenderFacts]
) -> None:
    index = SearchIndex.build(all_searches)
    every_keyword = {word for s in all_searches for word in s.keywords | s.excluded}
    for facts in all_tenders:
        found = {word for word in every_keyword if keyword_found(word, facts.text)}
        expected = sorted(s.id for s in all_searches if search_matches(s, facts, found))
        assert [s.id for s in index.matches(facts)] == expected
