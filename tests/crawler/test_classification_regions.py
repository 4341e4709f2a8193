"""Regions as a careful Häme reader gives them: place of performance, then place names, then the buyer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.classification.region_data import load_region_data
from crawler.classification.regions import RegionResult, classify_regions, find_place_names
from crawler.hilma_json import map_index_document
from crawler.items import Lot, NoticeItem, Organisation, Place

HANSEL = Organisation(name="Hansel Oy", postcode="00100", town="Helsinki", country="FIN", legal_type="pub-undert-cga")
LOPPI = Organisation(name="Lopen kunta", postcode="12700", town="Loppi", country="FIN", legal_type="la")


def notice(
    title: str = "Palvelut",
    description: str = "",
    places: list[Place] | None = None,
    buyer: Organisation | None = HANSEL,
    lots: list[Lot] | None = None,
) -> NoticeItem:
    return NoticeItem(
        source="hilma",
        source_id="EF-1",
        titles={"fi": title},
        descriptions={"fi": description} if description else {},
        places=places if places is not None else [Place(nuts="FI")],
        buyers=[buyer] if buyer else [],
        lots=lots or [],
    )


def municipalities_named(text: str, *, place_field: bool = False) -> list[str]:
    return [name.code for name, _ in find_place_names(text, place_field=place_field) if name.aspect == "municipality"]


def regions_of(item: NoticeItem) -> tuple[list[str], list[str], bool]:
    result = classify_regions(item)
    return result.regions, result.municipalities, result.nationwide


# ------------------------------------------------------------------ names in text


@pytest.mark.parametrize(
    ("text", "municipality"),
    [
        # outer local cases, as these towns use them
        ("Siivous Riihimäellä", "694"),
        ("Riihimäen uimahalli", "694"),
        ("kuljetukset Riihimäeltä Hyvinkäälle", "694"),
        ("muutto Riihimäelle", "694"),
        ("Työmaa Lopella", "433"),
        ("Lopen koulu", "433"),
        ("Loppella (kirjoitusvirhe)", "433"),
        ("Ypäjällä sijaitseva talli", "981"),
        ("Hausjärvellä ja", "086"),
        ("Padasjoella", "576"),
        # inner local cases
        ("Hämeenlinnassa", "109"),
        ("Hämeenlinnaan", "109"),
        ("Lahdessa", "398"),
        ("Lahteen", "398"),
        ("Lahden kaupungin", "398"),
        ("Iitissä", "142"),
        ("Sysmässä", "781"),
        ("Orimattilaan", "560"),
        ("Kärkölän koulu", "316"),
        # -inen: plural locatives and both genitives
        ("Jokioisissa", "169"),
        ("Jokioisten kunta", "169"),
        ("siirtää Jokioisen kunnan", "169"),
        ("Jokioisiin", "169"),
        # Swedish names and ASCII forms TED writes
        ("städning i Tavastehus", "109"),
        ("Jockis kommun", "169"),
        ("i Lahtis stad", "398"),
        ("Cleaning in Hameenlinna", "109"),
        ("Riihimaki garrison", "694"),
        # villages, localities, former municipalities and districts
        ("Turengin koulukeskus", "165"),
        ("Tervakoskella", "165"),
        ("Oitissa", "086"),
        ("Ryttylässä", "086"),
        ("Mommilan kartano", "086"),
        ("Lammilla", "109"),
        ("Hauholla", "109"),
        ("Kalvolassa", "109"),
        ("Rengossa", "109"),
        ("Tuuloksen koulu", "109"),
        ("Iittalan lasitehdas", "109"),
        ("Evon opetusmetsät", "109"),
        ("Aulangon ulkoilualue", "109"),
        ("Parolannummen varuskunta", "082"),
        ("Tyrvännöllä", "082"),
        ("Läyliäisissä", "433"),
        ("Nastolassa", "398"),
        ("Villähteellä", "398"),
        ("Kiveriön kadut", "398"),
        ("Hämeenkoskella", "098"),
        ("Artjärvellä", "560"),
        ("Vääksyssä", "016"),
        ("Kausalan koulu", "142"),
        ("Vierumäellä", "111"),
        ("Herajoen väylät", "694"),
    ],
)
def test_a_place_name_in_any_of_its_forms_gives_its_municipality(text: str, municipality: str) -> None:
    assert municipalities_named(text) == [municipality]


@pytest.mark.parametrize(
    "text",
    [
        "Hämeenkadun valaistus Tampereella",  # street in Tampere
        "Hämeentien peruskorjaus Helsingissä",  # street in Helsinki
        "Hämeenlinnantie 5, Vantaa",  # street address
        "Lahdentien ja Hämeenlinnanväylän liittymä",  # compounds that only contain a name
        "Lahden moottoritien melusuojaus",  # a road named after the town
        "Hämeenkyrön koulun siivous",  # Pirkanmaa, begins like Häme
        "Työ tehdään loppuun asti",  # loppu, not Loppi
        "Rautalammilla ja Toholammilla",  # lammilla inside a longer word
        "Espoonlahteen rakennettava koulu",  # lahteen inside a longer word
        "veneitä lahden rannalla",  # lower case: a bay
        "Yhteyshenkilö Matti Mäkelä, Pekka Renko ja Liisa Pietilä",  # surnames
        "Porras ja kaide, Letku ja liitin, Koitti-tuotteet",  # common words
        "Lahden Autokori Oy toimittaa",  # a company's name is not the work site
        "Hämeenlinnan Seudun Vesi Oy:n verkosto",
        "Lahti Energia Oy",
        "EVO-rahoitus",  # an abbreviation in capitals
        "Kouvolassa, Hyvinkäällä, Urjalassa, Valkeakoskella, Somerolla ja Pälkäneellä",  # neighbours
    ],
)
def test_words_that_only_look_like_a_hame_place_are_not_one(text: str) -> None:
    assert municipalities_named(text) == []


def test_iittala_is_hameenlinna_and_never_iitti() -> None:
    assert municipalities_named("Iittala-astiat ja Iittalan koulu") == ["109", "109"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lahti-Hollola-yhteistyö", ["398", "098"]),
        ("Hämeenlinna- ja Lahti-alueella", ["109", "398"]),
        ("Hämeenlinna–Riihimäki", ["109", "694"]),
    ],
)
def test_hyphenated_words_name_each_of_their_places(text: str, expected: list[str]) -> None:
    assert municipalities_named(text) == expected


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Kanta-Hämeen alueella", "05"),
        ("koko Kanta-Häme-alueella", "05"),
        ("Päijät-Hämeessä", "07"),
        ("i Egentliga Tavastland", "05"),
        ("Päijänne-Tavastlands välfärdsområde", "07"),
        ("Paijat-Hame region", "07"),
    ],
)
def test_a_region_name_gives_its_maakunta_and_no_municipality(text: str, region: str) -> None:
    regions, municipalities, _ = regions_of(notice(title=text))
    assert (regions, municipalities) == ([region], [])


def test_a_suspended_compound_names_both_regions() -> None:
    assert regions_of(notice(title="Noin 640 siltaa Kanta- ja Päijät-Hämeessä"))[0] == ["05", "07"]


def test_the_official_name_of_a_sub_region_gives_it_without_a_municipality() -> None:
    result = classify_regions(notice(title="Forssan seutukunnan kuntien koulukuljetukset"))
    assert (result.regions, result.subregions, result.municipalities) == (["05"], ["053"], [])


def test_common_words_and_surnames_count_in_place_fields() -> None:
    assert municipalities_named("Portaan kylä", place_field=True) == ["834"]
    assert municipalities_named("Portaan kylä") == []
    assert regions_of(notice(places=[Place(description="Mäkelän kaupunginosa")]))[1] == ["398"]
    assert regions_of(notice(places=[Place(town="Porras")]))[1] == ["834"]


# ------------------------------------------------------------------ place of performance


@pytest.mark.parametrize(
    ("nuts", "region"),
    [
        ("FI1C2", "05"),  # Kanta-Häme in 2021 and 2024
        ("FI184", "05"),  # before 2012
        ("FI1C3", "07"),  # Päijät-Häme, NUTS 2021
        ("FI1C6", "07"),  # Päijät-Häme, NUTS 2024
        ("FI185", "07"),
        ("FI197", "06"),  # Pirkanmaa 2021
        ("FI19B", "06"),  # Pirkanmaa 2024
        ("FI1C4", "08"),
        ("FI1C7", "08"),
        ("FI1B1", "01"),
        ("FI200", "21"),
        ("fi1c6 ", "07"),
    ],
)
def test_a_nuts3_code_of_any_vintage_gives_its_maakunta(nuts: str, region: str) -> None:
    assert regions_of(notice(places=[Place(nuts=nuts)]))[:2] == ([region], [])


@pytest.mark.parametrize("nuts", ["FI", "FI1", "FI1C", "FI19", "FIZZZ", "SE110", ""])
def test_a_nuts_code_above_maakunta_level_says_nothing_and_the_buyer_decides(nuts: str) -> None:
    assert regions_of(notice(places=[Place(nuts=nuts)], buyer=LOPPI)) == (["05"], ["433"], False)
    assert regions_of(notice(places=[Place(nuts=nuts)], buyer=HANSEL)) == ([], [], True)


@pytest.mark.parametrize(
    ("postcode", "region", "municipality"),
    [
        ("16900", "05", "109"),  # Lammi: Kanta-Häme inside the Päijät-Häme 16xxx block
        ("16300", "07", "560"),
        ("17740", "07", "576"),  # Padasjoki
        ("17800", "06", "291"),  # Kuhmoinen: Pirkanmaa inside the 17xxx block
        ("31140", "06", "887"),  # Urjala inside the Forssa 31xxx block
        ("31300", "05", "834"),
        ("15086", "01", "091"),  # a Helsinki agency's code in Lahti's range: the table wins
        ("15100", "07", "398"),
        ("47400", "07", "142"),  # Kausala, Iitti
        ("47650", "08", "286"),  # Kouvola in the same 47xxx block
        ("13035", "05", "109"),
        ("12 700", "05", "433"),
    ],
)
def test_a_place_postcode_gives_its_municipality_by_exact_table(postcode: str, region: str, municipality: str) -> None:
    assert regions_of(notice(places=[Place(postcode=postcode)])) == ([region], [municipality], False)


def test_a_postcode_newer_than_the_table_falls_back_to_a_prefix_with_one_municipality() -> None:
    assert "12899" not in load_region_data().postcodes
    assert regions_of(notice(places=[Place(postcode="12899")]))[:2] == (["05"], ["433"])


@pytest.mark.parametrize(
    ("town", "municipality"),
    [
        ("Hämeenlinna", "109"),
        ("LAMMI", "109"),
        ("Turenki", "165"),
        ("Tavastehus", "109"),
        ("Tampere", "837"),
        ("Hämeenlinna ja Hattula", "082 109"),
    ],
)
def test_a_place_town_gives_its_municipality(town: str, municipality: str) -> None:
    assert " ".join(regions_of(notice(places=[Place(town=town)]))[1]) == municipality


def test_a_place_outside_finland_says_nothing() -> None:
    assert regions_of(notice(places=[Place(postcode="13100", town="Hämeenlinna", country="SWE")])) == ([], [], True)


def test_names_in_text_outside_the_maakunta_of_the_place_are_ignored() -> None:
    item = notice(
        title="Lahden torin valaistus",
        description="Toimittaja voi olla Hämeenlinnassa; Kanta-Hämeen kokemus on eduksi.",
        places=[Place(nuts="FI1C6")],
    )
    assert regions_of(item) == (["07"], ["398"], False)


def test_names_in_text_inside_the_maakunta_of_the_place_give_municipalities() -> None:
    item = notice(title="Kiinteistönhoito Lopella", places=[Place(nuts="FI1C2")])
    assert regions_of(item) == (["05"], ["433"], False)


def test_lots_give_the_union_of_their_places() -> None:
    lots = [
        Lot(id="LOT-0001", titles={"fi": "Osa 1: Forssa"}, places=[Place(nuts="FI1C2")]),
        Lot(id="LOT-0002", descriptions={"fi": "Kohteet Heinolassa"}, places=[Place(nuts="FI1C6")]),
    ]
    result = classify_regions(notice(title="Siivous", places=[], lots=lots))
    assert (result.regions, result.subregions, result.municipalities) == (["05", "07"], ["053", "071"], ["061", "111"])


# ------------------------------------------------------------------ the buyer


@pytest.mark.parametrize(
    ("buyer", "expected"),
    [
        (LOPPI, (["05"], ["433"], False)),  # a municipal buyer and place FI: its municipality
        (Organisation(name="Forssan kaupunki", postcode="30100"), (["05"], ["061"], False)),  # known by name
        (Organisation(name="Koulutuskuntayhtymä Tavastia", postcode="13100"), (["05"], ["109"], False)),
        (Organisation(name="Janakkalan kunta", town="Turenki", legal_type="la"), (["05"], ["165"], False)),
        (Organisation(name="Kanta-Hämeen hyvinvointialue", postcode="13530", legal_type="ra"), (["05"], [], False)),
        (Organisation(name="Päijät-Hämeen hyvinvointialue", nuts="FI1C6"), (["07"], [], False)),
        (Organisation(name="Maahanmuuttovirasto", postcode="15086", legal_type="cga"), ([], [], True)),
        (Organisation(name="Traficom", postcode="13035", town="Hämeenlinna", legal_type="cga"), ([], [], True)),
        (Organisation(name="Hämeen ammattikorkeakoulu Oy", postcode="13100", legal_type="body-pl"), ([], [], True)),
        (Organisation(name="Tavastehus stad", postcode="13100", country="SWE", legal_type="la"), ([], [], True)),
        (None, ([], [], True)),
    ],
)
def test_the_buyer_decides_only_when_place_and_texts_say_nothing(
    buyer: Organisation | None, expected: tuple[list[str], list[str], bool]
) -> None:
    assert regions_of(notice(title="Toimistotarvikkeet", buyer=buyer)) == expected


def test_a_local_buyer_does_not_move_a_place_elsewhere() -> None:
    assert regions_of(notice(places=[Place(nuts="FI1C6")], buyer=LOPPI)) == (["07"], [], False)


def test_a_helsinki_agency_renovating_a_garrison_in_riihimaki_is_in_riihimaki() -> None:
    item = notice(title="Riihimäen varuskunnan kasarmin peruskorjaus", buyer=HANSEL)
    assert regions_of(item) == (["05"], ["694"], False)


# ------------------------------------------------------------------ the whole country


@pytest.mark.parametrize(
    "text",
    ["Palvelu koko Suomessa", "Valtakunnallinen puitejärjestely", "koko maan kattava verkosto", "för hela Finland"],
)
def test_texts_that_say_the_whole_country_make_it_nationwide_even_for_a_local_buyer(text: str) -> None:
    assert regions_of(notice(title=text, buyer=LOPPI)) == ([], [], True)


def test_a_named_municipality_outweighs_the_whole_country() -> None:
    assert regions_of(notice(title="Valtakunnallinen koulutus, toteutus Lopella", buyer=HANSEL)) == (
        ["05"],
        ["433"],
        False,
    )


def test_a_national_rule_is_not_a_national_scope() -> None:
    item = notice(title="Jätehuolto", description="valtakunnallisten ohjeiden mukaisesti", buyer=LOPPI)
    assert regions_of(item) == (["05"], ["433"], False)


def test_a_specific_place_is_never_nationwide() -> None:
    assert regions_of(notice(title="Valtakunnallinen palvelu", places=[Place(nuts="FI1C2")])) == (["05"], [], False)


# ------------------------------------------------------------------ evidence


def evidence_of(result: RegionResult) -> set[tuple[str, str, str, str]]:
    return {(e.aspect, e.code, e.source, e.text) for e in result.evidence}


def test_evidence_says_which_field_and_which_words_or_codes() -> None:
    item = notice(
        title="Ylläpitosiivous Lopella",
        places=[Place(nuts="FI1C2"), Place(postcode="16900")],
        lots=[Lot(id="LOT-1", descriptions={"fi": "Kohde Riihimäellä"})],
    )
    result = classify_regions(item)
    assert {
        ("region", "05", "place.nuts", "FI1C2"),
        ("municipality", "109", "place.postcode", "16900"),
        ("municipality", "433", "title", "Lopella"),
        ("municipality", "694", "lot.description", "Riihimäellä"),
    } <= evidence_of(result)
    notes = {e.code: e.note for e in result.evidence if e.aspect == "municipality"}
    assert notes["109"] == "suorituspaikan postinumero → Hämeenlinna"
    assert notes["433"] == "kunnan nimi otsikossa"


def test_evidence_for_a_village_names_the_village_and_its_municipality() -> None:
    (evidence,) = [e for e in classify_regions(notice(title="Turengin koulu")).evidence if e.aspect == "municipality"]
    assert (evidence.source, evidence.text) == ("title", "Turengin")
    assert evidence.note == "taajama Turenki (Janakkala) otsikossa"


def test_implied_sub_region_and_maakunta_point_back_to_the_municipality() -> None:
    result = classify_regions(notice(title="Turengin koulu"))
    assert {("region", "051", "title", "Turengin"), ("region", "05", "title", "Turengin")} <= evidence_of(result)


def test_buyer_evidence_names_the_address_or_the_buyer_type() -> None:
    assert ("municipality", "433", "buyer.address", "12700 Loppi") in evidence_of(classify_regions(notice(buyer=LOPPI)))
    assert ("nationwide", "FI", "buyer.type", "pub-undert-cga") in evidence_of(classify_regions(notice()))


# ------------------------------------------------------------------ a HILMA index document


def test_a_hilma_index_document_is_classified_from_its_nuts_texts_and_buyer_address() -> None:
    item = map_index_document(
        {
            "id": "EF-1",
            "titleFi": "Jokioisten koulun ilmanvaihto",
            "nutsCodes": "FI",
            "organisationNameFi": "Senaatti-kiinteistöt",
            "organisationAddress": "Lintulahdenkatu 5 00530 Helsinki FIN",
            "organisationType": "body-pl-cga",
            "lots": [{"id": "LOT-0001", "titleFi": "Osa 1", "nutsCodes": "FI"}],
        }
    )
    assert regions_of(item) == (["05"], ["169"], False)


# ------------------------------------------------------------------ properties

FORMS = ["Riihimäellä", "Lopella", "Kanta-Hämeen", "Lahden", "Turengin", "koko Suomi", "Hämeenkatu", "Oy", "loppuun"]
WORDS = st.one_of(st.sampled_from(FORMS), st.text(max_size=12))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.lists(WORDS, max_size=8).map(" ".join),
    description=st.text(max_size=200),
    separator=st.sampled_from([" ", "-", ", ", "- ja ", "\n"]),
)
def test_any_text_is_classified_and_every_code_has_evidence_from_the_input(
    title: str, description: str, separator: str
) -> None:
    title = separator.join(title.split(" "))
    result = classify_regions(notice(title=title, description=description, buyer=None))
    for code in result.municipalities:
        texts = [e.text for e in result.evidence if e.aspect == "municipality" and e.code == code]
        assert any(text and (text in title or text in description) for text in texts)
    for code in [*result.regions, *result.subregions]:
        assert any(e.aspect == "region" and e.code == code for e in result.evidence)
    assert result.nationwide == any(e.aspect == "nationwide" for e in result.evidence)
    assert result.regions == sorted(result.regions) and result.municipalities == sorted(result.municipalities)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(postcode=st.sampled_from(sorted(load_region_data().postcodes)))
def test_every_finnish_postcode_gives_a_municipality_and_its_maakunta(postcode: str) -> None:
    data = load_region_data()
    regions, municipalities, nationwide = regions_of(notice(places=[Place(postcode=postcode)]))
    assert municipalities == [data.postcodes[postcode]]
    assert regions == [data.municipalities[data.postcodes[postcode]].maakunta]
    assert not nationwide


# ------------------------------------------------------------------ the data files


def test_the_data_covers_every_maakunta_and_the_hame_municipalities() -> None:
    data = load_region_data()
    assert len(data.maakunta) == 19
    assert len(data.municipalities) == 308
    hame = [m for m in data.municipalities.values() if m.maakunta in ("05", "07")]
    assert len(hame) == 21 and all(m.subregion for m in hame)
    assert {m.subregion for m in hame} == {"051", "052", "053", "071"}
    assert len(data.postcodes) == 3779


def test_every_hame_municipality_is_found_by_its_name_and_its_posti_villages_by_theirs() -> None:
    data = load_region_data()
    for municipality in data.municipalities.values():
        if municipality.maakunta in ("05", "07"):
            assert municipalities_named(municipality.name_fi) == [municipality.code]
    assert data.towns["läyliäinen"] == "433" and data.towns["vääksy"] == "016" and data.towns["kausala"] == "142"
