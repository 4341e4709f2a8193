"""Which saved searches a tender matches: the rule, and an index that finds them fast.

:func:`search_matches` is the definition, one search against one tender.
:class:`SearchIndex` gives the same answer for all searches at once without looking
at each: searches are filed under the sectors, CPV prefixes, keywords and places
they ask for, so a tender only meets the searches that share something with it and
the work grows with the matches, not with searches × tenders (``bench/matching.py``
measures the two side by side; a property test holds them equal).

Everything here is pure: facts in, ids out. :mod:`alerts.record` reads tenders and
subscriptions from the database into these facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from alerts.keywords import KeywordMatcher, normalise_keyword

#: A place as (level, code): ("region", "05"), ("subregion", "053"), ("municipality", "061").
Place = tuple[str, str]
LEVELS = ("region", "subregion", "municipality")


@dataclass(frozen=True)
class TenderFacts:
    """What matching needs to know of a tender."""

    id: int
    sectors: frozenset[str]
    places: frozenset[Place]
    nationwide: bool
    cpv: tuple[str, ...]
    text: str
    value: Decimal | None
    #: "upcoming", "call" or "award"; None when the tender is nothing to announce (cancelled, closed).
    category: str | None


@dataclass(frozen=True)
class SearchFacts:
    """A saved search, ready for matching (keywords normalised, places as (level, code))."""

    id: int
    subscriber_id: int
    frequency: str
    sectors: frozenset[str] = frozenset()
    places: frozenset[Place] = frozenset()
    include_nationwide: bool = False
    keywords: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    cpv_prefixes: frozenset[str] = frozenset()
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    categories: frozenset[str] = frozenset({"upcoming", "call"})

    @property
    def has_topic(self) -> bool:
        return bool(self.sectors or self.cpv_prefixes or self.keywords)


def tender_category(status: str) -> str | None:
    """The notice category a tender in this (effective) status announces."""
    return {"planned": "upcoming", "open": "call", "awarded": "award", "not_awarded": "award"}.get(status)


def parse_place(text: str) -> Place:
    """A stored place "subregion:053" as ("subregion", "053")."""
    level, _, code = text.partition(":")
    if level not in LEVELS or not code:
        raise ValueError(f"not a place: {text!r}")
    return level, code


def search_matches(search: SearchFacts, tender: TenderFacts, found: set[str]) -> bool:
    """Whether ``tender`` matches ``search``; ``found`` is the set of normalised keywords the tender's text contains.

    Topic (any of sectors, CPV prefixes, keywords; none given means any topic), then
    place (one of the places, or nationwide when included; none given means
    anywhere), then the narrowing filters: category, value range, excluded keywords.
    A tender without an estimated value passes a value range: most notices state none,
    and hiding them would hide most of the market.
    """
    if tender.category is None or tender.category not in search.categories:
        return False
    if search.has_topic and not (
        search.sectors & tender.sectors
        or any(code.startswith(prefix) for prefix in search.cpv_prefixes for code in tender.cpv)
        or search.keywords & found
    ):
        return False
    if search.places and not (search.places & tender.places or (search.include_nationwide and tender.nationwide)):
        return False
    if tender.value is not None:
        if search.value_min is not None and tender.value < search.value_min:
            return False
        if search.value_max is not None and tender.value > search.value_max:
            return False
    return not (search.excluded & found)


@dataclass
class SearchIndex:
    """All active searches filed by what they ask for; :meth:`matches` finds a tender's searches."""

    searches: dict[int, SearchFacts] = field(default_factory=dict)
    by_sector: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_cpv: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_keyword: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    any_topic: set[int] = field(default_factory=set)
    by_place: dict[Place, set[int]] = field(default_factory=lambda: defaultdict(set))
    nationwide: set[int] = field(default_factory=set)
    anywhere: set[int] = field(default_factory=set)
    keywords: KeywordMatcher = field(default_factory=lambda: KeywordMatcher(()))

    @classmethod
    def build(cls, searches: Iterable[SearchFacts]) -> SearchIndex:
        index = cls()
        every_keyword: set[str] = set()
        for search in searches:
            index.searches[search.id] = search
            for slug in search.sectors:
                index.by_sector[slug].add(search.id)
            for prefix in search.cpv_prefixes:
                index.by_cpv[prefix].add(search.id)
            for keyword in search.keywords:
                index.by_keyword[keyword].add(search.id)
            if not search.has_topic:
                index.any_topic.add(search.id)
            for place in search.places:
                index.by_place[place].add(search.id)
            if not search.places:
                index.anywhere.add(search.id)
            elif search.include_nationwide:
                index.nationwide.add(search.id)
            every_keyword |= search.keywords | search.excluded
        index.keywords = KeywordMatcher(every_keyword)
        return index

    def keywords_in(self, tender: TenderFacts) -> set[str]:
        return self.keywords.found(tender.text) if tender.text else set()

    def matches(self, tender: TenderFacts) -> list[SearchFacts]:
        """The searches ``tender`` matches, by search id."""
        if tender.category is None:
            return []
        found = self.keywords_in(tender)
        topic = set(self.any_topic)
        for slug in tender.sectors:
            topic |= self.by_sector.get(slug, set())
        for code in tender.cpv:
            for length in range(2, len(code) + 1):
                topic |= self.by_cpv.get(code[:length], set())
        for keyword in found:
            topic |= self.by_keyword.get(keyword, set())
        if not topic:
            return []
        place = set(self.anywhere)
        for key in tender.places:
            place |= self.by_place.get(key, set())
        if tender.nationwide:
            place |= self.nationwide
        return [
            self.searches[search_id]
            for search_id in sorted(topic & place)
            if search_matches(self.searches[search_id], tender, found)
        ]


def search_facts(
    *,
    id: int,
    subscriber_id: int,
    frequency: str,
    sectors: Iterable[str] = (),
    regions: Iterable[str] = (),
    include_nationwide: bool = False,
    keywords: Iterable[str] = (),
    excluded: Iterable[str] = (),
    cpv_prefixes: Iterable[str] = (),
    value_min: Decimal | None = None,
    value_max: Decimal | None = None,
    categories: Iterable[str] = ("upcoming", "call"),
) -> SearchFacts:
    """Facts of a search from stored values (keywords normalised, empty ones dropped)."""
    return SearchFacts(
        id=id,
        subscriber_id=subscriber_id,
        frequency=frequency,
        sectors=frozenset(sectors),
        places=frozenset(parse_place(text) for text in regions),
        include_nationwide=include_nationwide,
        keywords=frozenset(filter(None, map(normalise_keyword, keywords))),
        excluded=frozenset(filter(None, map(normalise_keyword, excluded))),
        cpv_prefixes=frozenset(cpv_prefixes),
        value_min=value_min,
        value_max=value_max,
        categories=frozenset(categories),
    )


def effective_category(status: str, deadline: datetime | None, now: datetime) -> str | None:
    """The category of a tender now: an open call whose deadline has passed announces nothing."""
    if status == "open" and deadline is not None and deadline <= now:
        return None
    return tender_category(status)
