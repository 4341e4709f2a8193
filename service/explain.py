"""How the command line shows a classification and reads region choices, in Finnish.

Staff check a classification against the notice: :func:`explanation` prints each
code with the field and the words that gave it. :func:`region_choice` reads what a
person writes for a region (a code at any level, or a name).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.errors import InputError
from crawler.classification.region_data import load_region_data
from models.classification import Regions

SOURCE_NAMES = {
    "place.nuts": "suorituspaikan NUTS-koodi",
    "place.town": "suorituspaikan kunta",
    "place.postcode": "suorituspaikan postinumero",
    "place.description": "suorituspaikan kuvaus",
    "title": "otsikko",
    "description": "kuvaus",
    "lot.title": "osan otsikko",
    "lot.description": "osan kuvaus",
    "buyer.address": "hankkijan osoite",
    "buyer.nuts": "hankkijan NUTS-koodi",
    "buyer.type": "hankkijan tyyppi",
    "cpv": "CPV-koodi",
    "keyword": "avainsana",
}
LEVEL_WORDS = {"maakunta": "region", "seutukunta": "subregion", "kunta": "municipality"}


def region_choice(text: str) -> tuple[str, str]:
    """``--region`` as (level, code): 05 maakunta, 053 seutukunta, 061 kunta, or a name (Forssa, Kanta-Häme).

    Statistics Finland's three-digit sub-region and municipality codes overlap (051 is
    both the Hämeenlinna sub-region and Eurajoki): a bare three-digit code is a
    sub-region when there is one, and ``kunta:051`` says the municipality.
    """
    data = load_region_data()
    value = text.strip()
    if not value:
        raise InputError("--region: anna maakunnan, seutukunnan tai kunnan koodi tai nimi (esim. 05, 053, Forssa)")
    level_word, _, code = value.rpartition(":")
    if level_word:
        level = LEVEL_WORDS.get(level_word.lower())
        known = {"region": data.maakunta, "subregion": data.subregions, "municipality": data.municipalities}
        if level is not None and code in known[level]:
            return level, code
    elif value.isdigit() and len(value) == 2 and value in data.maakunta:
        return "region", value
    elif value.isdigit() and len(value) == 3 and value in data.subregions:
        return "subregion", value
    elif value.isdigit() and len(value) == 3 and value in data.municipalities:
        return "municipality", value
    else:
        lowered = value.lower()
        for level, entries in (
            ("region", data.maakunta),
            ("subregion", data.subregions),
            ("municipality", data.municipalities),
        ):
            for entry in entries.values():
                if lowered in (entry.name_fi.lower(), (getattr(entry, "name_sv", "") or entry.name_fi).lower()):
                    return level, entry.code
    raise InputError(
        f"--region {text!r}: ei maakunnan, seutukunnan eikä kunnan koodi tai nimi "
        "(esim. 05, 053, 061, Forssa tai kunta:051)"
    )


def override_regions(choices: list[tuple[str, str]], *, nationwide: bool) -> Regions:
    """Staff's chosen places as a regions override: a municipality brings its sub-region and
    maakunta along and a sub-region its maakunta, so that searches at every level find the tender."""
    data = load_region_data()
    regions: set[str] = set()
    subregions: set[str] = set()
    municipalities: set[str] = set()
    for level, code in choices:
        if level == "municipality":
            found = data.municipalities[code]
            municipalities.add(code)
            subregions.update([found.subregion] if found.subregion else [])
            regions.add(found.maakunta)
        elif level == "subregion":
            subregions.add(code)
            regions.add(data.subregions[code].maakunta)
        else:
            regions.add(code)
    return Regions(sorted(regions), sorted(subregions), sorted(municipalities), nationwide=nationwide)


def region_name(level: str, code: str) -> str:
    data = load_region_data()
    levels = {"region": data.maakunta, "subregion": data.subregions, "municipality": data.municipalities}
    entry = levels[level].get(code)
    return f"{code} {entry.name_fi}" if entry is not None else code


def explanation(tender: Any, sectors: dict[str, str], tz: Any) -> str:
    """The classification of a tender with its evidence, as staff can check it against the notice."""
    stored = tender.classification or {}
    levels: dict[str, list[str]] = {"region": [], "subregion": [], "municipality": []}
    for row in tender.regions:
        levels[row.level].append(row.code)
    lines = [f"Hankinta {tender.id}: {tender.title or '(nimetön)'}"]
    if tender.buyer is not None:
        lines.append(f"Hankkija: {tender.buyer.name}")
    if tender.url:
        lines.append(f"Ilmoitus: {tender.url}")
    lines += ["", "Alue"]
    for level, heading in (("region", "Maakunnat"), ("subregion", "Seutukunnat"), ("municipality", "Kunnat")):
        names = ", ".join(region_name(level, code) for code in sorted(levels[level])) or "–"
        lines.append(f"  {heading + ':':14}{names}")
    lines.append(f"  {'Koko maa:':14}{'kyllä' if tender.nationwide else 'ei'}")
    evidence = stored.get("evidence", [])
    lines.append("  Perusteet:")
    region_evidence = [e for e in evidence if e["aspect"] != "sector"]
    lines += [f"    {evidence_line(e)}" for e in region_evidence] or ["    – (suorituspaikkaa ei ole kerrottu)"]
    lines += ["", "Toimialat"]
    lines += [f"  {row.slug}: {sectors.get(row.slug, row.slug)}" for row in tender.sectors] or ["  –"]
    lines.append("  Perusteet:")
    sector_evidence = [e for e in evidence if e["aspect"] == "sector"]
    lines += [f"    {evidence_line(e)}" for e in sector_evidence] or ["    – (ei CPV-koodeja eikä tuttuja sanoja)"]
    overrides = stored.get("overrides", {})
    if overrides:
        computed = stored.get("computed", {})
        lines += ["", "Henkilökunnan korjaukset (ovat voimassa luokittelijan tuloksen sijaan)"]
        for aspect, row in overrides.items():
            when = datetime.fromisoformat(row["at"]).astimezone(tz)
            note = f" – {row['note']}" if row.get("note") else ""
            word = "alue" if aspect == "regions" else "toimialat"
            lines.append(f"  {word}: {row['author']} {when.day}.{when.month}.{when.year} klo {when:%H.%M}{note}")
            given = (
                computed.get("municipalities") or computed.get("regions")
                if aspect == "regions"
                else computed.get("sectors")
            )
            lines.append(f"    luokittelija antoi: {', '.join(given or ['–'])}")
    return "\n".join(lines)


def evidence_line(evidence: dict[str, Any]) -> str:
    aspect, code = evidence["aspect"], evidence["code"]
    if aspect == "municipality":
        what = region_name("municipality", code)
    elif aspect == "region":
        what = region_name("subregion" if len(code) == 3 else "region", code)
    elif aspect == "nationwide":
        what = "koko maa"
    else:
        what = code
    where = SOURCE_NAMES.get(evidence["source"], evidence["source"])
    note = f" ({evidence['note']})" if evidence.get("note") else ""
    return f"{what} ← {where}: \"{evidence['text']}\"{note}"
