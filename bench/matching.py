"""Benchmark: matching new tenders against saved searches, indexed vs a naive loop over all pairs.

Run: ``.venv/bin/python bench/matching.py [--tenders 1000] [--searches 10000] [--seed 7]``

The workload is generated from the project's data: searches ask for one or two
sectors (the taxonomy's), one or two places (Finnish maakunta, Kanta- and
Päijät-Häme sub-regions and municipalities, weighted towards Häme) or anywhere,
a third of them also for keywords from a Finnish vocabulary, some exclude words,
some give CPV prefixes or a value range. Tenders get sectors, a municipality with
its sub-region and maakunta (or nationwide), CPV codes, a title and description
built from the same vocabulary, a value and a category.

Both sides run in this process, one after the other, on the same data: the index
(:class:`alerts.matching.SearchIndex`, built and queried) and the naive loop that asks
:func:`alerts.matching.search_matches` for every (tender, search) pair (keywords found
once per tender, as the index does). They must agree exactly. The issue's target: 1,000
tenders × 10,000 searches in under 2 seconds with the index.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.matching import SearchFacts, SearchIndex, TenderFacts, search_facts, search_matches
from crawler.classification.region_data import load_region_data
from crawler.classification.sectors import sector_names

WORDS = tuple(
    [
        "siivous",
        "ylläpitosiivous",
        "ikkunanpesu",
        "lumityö",
        "auraus",
        "hiekoitus",
        "kuljetus",
        "koulukuljetus",
        "taksi",
        "ruoka",
        "ateria",
        "elintarvike",
        "leipä",
        "maito",
        "liha",
        "peruna",
        "vihannes",
        "kiinteistö",
        "huolto",
        "kunnossapito",
        "korjaus",
        "saneeraus",
        "remontti",
        "katto",
        "julkisivu",
        "ikkuna",
        "ovi",
        "lattia",
        "maalaus",
        "sähkö",
        "valaistus",
        "lvi",
        "putki",
        "ilmanvaihto",
        "lämmitys",
        "kaukolämpö",
        "asfaltti",
        "katu",
        "tie",
        "silta",
        "viheralue",
        "puisto",
        "nurmikko",
        "metsä",
        "hakkuu",
        "puutavara",
        "polttopuu",
        "hake",
        "jäte",
        "kierrätys",
        "vesi",
        "viemäri",
        "jätevesi",
        "kaivo",
        "pumppu",
        "kone",
        "laite",
        "ajoneuvo",
        "traktori",
        "kuorma-auto",
        "pakettiauto",
        "henkilöauto",
        "tietokone",
        "ohjelmisto",
        "lisenssi",
        "palvelin",
        "verkko",
        "puhelin",
        "tulostin",
        "kalusto",
        "huonekalu",
        "tuoli",
        "pöytä",
        "hylly",
        "koulutus",
        "kurssi",
        "valmennus",
        "konsultointi",
        "suunnittelu",
        "arkkitehti",
        "rakennesuunnittelu",
        "valvonta",
        "tarkastus",
        "vartiointi",
        "turvallisuus",
        "kameravalvonta",
        "hälytys",
        "palo",
        "pelastus",
        "ensiapu",
        "terveys",
        "hoiva",
        "kotihoito",
        "asumispalvelu",
        "lastensuojelu",
        "päivähoito",
        "vanhustenhuolto",
        "kuntoutus",
        "fysioterapia",
        "hammashoito",
        "lääke",
        "hoitotarvike",
        "laboratorio",
        "painatus",
        "markkinointi",
        "mainos",
        "viestintä",
        "tapahtuma",
        "kulttuuri",
        "liikunta",
        "uimahalli",
        "kirjasto",
        "kirja",
        "lehti",
        "käännös",
        "tulkkaus",
        "kirjanpito",
        "tilintarkastus",
        "vakuutus",
        "pankki",
        "rahoitus",
        "laki",
        "energia",
        "sähkönmyynti",
        "polttoaine",
        "diesel",
        "bensiini",
        "pelletti",
        "aurinkopaneeli",
        "lämpöpumppu",
        "maalämpö",
    ]
)
DESCRIPTIONS = (
    "Hankinnan kohteena ovat {a} ja {b} {place} alueella.",
    "Tarjouspyyntö koskee {a}palveluja sekä {b}töitä kohteissa {place}.",
    "Kunta pyytää tarjouksia {a}sta. Lisäksi hankintaan sisältyy {b}. Sopimuskausi on kaksi vuotta.",
)
CPV = (
    "45210000",
    "45454000",
    "90911200",
    "90919200",
    "60130000",
    "55524000",
    "72000000",
    "71000000",
    "79341000",
    "85000000",
    "03000000",
    "09310000",
    "34100000",
    "50000000",
    "77310000",
    "80500000",
)


def searches(count: int, rng: random.Random) -> list[SearchFacts]:
    data = load_region_data()
    sectors = list(sector_names())
    hame_places = [f"subregion:{code}" for code, s in data.subregions.items() if s.maakunta in ("05", "07")] + [
        f"municipality:{code}" for code, m in data.municipalities.items() if m.maakunta in ("05", "07")
    ]
    other_places = [f"region:{code}" for code in data.maakunta]
    result = []
    for number in range(1, count + 1):
        roll = rng.random()
        places: list[str] = []
        if roll < 0.7:
            places = rng.sample(hame_places, rng.choice((1, 1, 2)))
        elif roll < 0.9:
            places = [rng.choice(other_places)]
        result.append(
            search_facts(
                id=number,
                subscriber_id=number * 7 // 10,
                frequency=rng.choice(("instant", "daily", "weekly")),
                sectors=rng.sample(sectors, rng.choice((1, 1, 2))) if rng.random() < 0.85 else [],
                regions=places,
                include_nationwide=rng.random() < 0.3,
                keywords=rng.sample(WORDS, rng.randint(1, 3)) if rng.random() < 0.33 else [],
                excluded=rng.sample(WORDS, 1) if rng.random() < 0.1 else [],
                cpv_prefixes=[rng.choice(CPV)[: rng.choice((2, 3, 4))]] if rng.random() < 0.05 else [],
                value_min=Decimal(rng.choice((10_000, 50_000))) if rng.random() < 0.1 else None,
                value_max=Decimal(rng.choice((200_000, 1_000_000))) if rng.random() < 0.1 else None,
                categories=rng.choice((("upcoming", "call"), ("call",), ("upcoming", "call", "award"))),
            )
        )
    return result


def tenders(count: int, rng: random.Random) -> list[TenderFacts]:
    data = load_region_data()
    sectors = list(sector_names())
    municipalities = list(data.municipalities.values())
    hame = [m for m in municipalities if m.maakunta in ("05", "07")]
    result = []
    for number in range(1, count + 1):
        nationwide = rng.random() < 0.1
        places: set[tuple[str, str]] = set()
        if not nationwide:
            town = rng.choice(hame) if rng.random() < 0.5 else rng.choice(municipalities)
            places = {("municipality", town.code), ("region", town.maakunta)}
            if town.subregion:
                places.add(("subregion", town.subregion))
        a, b = rng.sample(WORDS, 2)
        title = f"{a.capitalize()} ja {b}palvelut {rng.randint(2026, 2029)}"
        description = rng.choice(DESCRIPTIONS).format(a=rng.choice(WORDS), b=rng.choice(WORDS), place="kunnan")
        result.append(
            TenderFacts(
                id=number,
                sectors=frozenset(rng.sample(sectors, rng.choice((1, 1, 2)))),
                places=frozenset(places),
                nationwide=nationwide,
                cpv=tuple(rng.sample(CPV, rng.choice((1, 2)))),
                text=f"{title}\n{description}",
                value=Decimal(rng.choice((20_000, 80_000, 150_000, 600_000))) if rng.random() < 0.6 else None,
                category=rng.choice(("call", "call", "call", "upcoming", "award")),
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenders", type=int, default=1000)
    parser.add_argument("--searches", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    all_searches = searches(args.searches, rng)
    all_tenders = tenders(args.tenders, rng)

    started = time.perf_counter()
    index = SearchIndex.build(all_searches)
    build_seconds = time.perf_counter() - started
    indexed = {tender.id: [search.id for search in index.matches(tender)] for tender in all_tenders}
    indexed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    naive: dict[int, list[int]] = {}
    for tender in all_tenders:
        found = index.keywords_in(tender)
        naive[tender.id] = [search.id for search in all_searches if search_matches(search, tender, found)]
    naive_seconds = time.perf_counter() - started

    if indexed != naive:
        raise SystemExit("the index and the naive loop disagree: a bug")
    matches = sum(len(ids) for ids in indexed.values())
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.platform()}")
    print(
        f"{args.tenders:,} tenders × {args.searches:,} searches: {matches:,} matches "
        f"({matches / args.tenders:.1f} per tender)"
    )
    print("| method | seconds | throughput | × indexed |")
    print("|---|---:|---:|---:|")
    print(
        f"| indexed (of which building the index {build_seconds:.3f} s) "
        f"| {indexed_seconds:.3f} | {matches / indexed_seconds:,.0f} matches/s | 1.0 |"
    )
    print(
        f"| naive loop over all pairs | {naive_seconds:.3f} | "
        f"{args.tenders * args.searches / naive_seconds:,.0f} pairs/s | {naive_seconds / indexed_seconds:.1f} |"
    )
    verdict = "met" if indexed_seconds < 2.0 else "NOT met"
    print(f"target (indexed < 2 s): {verdict}; the index is {naive_seconds / indexed_seconds:.1f}× faster")


if __name__ == "__main__":
    main()
