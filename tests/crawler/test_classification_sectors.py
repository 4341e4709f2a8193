"""Sectors come from CPV codes by their longest prefix, or from Finnish and Swedish words."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import ConfigurationError
from crawler.classification.evidence import Evidence
from crawler.classification.sectors import (
    Taxonomy,
    classify_sectors,
    cpv_label,
    load_taxonomy,
    sector_for_cpv,
    sector_names,
    taxonomy,
)
from crawler.items import Lot, NoticeItem

# The issue's table, as written there: slug, Finnish name, CPV prefixes.
ISSUE_TABLE = [
    ("rakentaminen", "Rakennusurakat ja korjausrakentaminen", ["45"]),
    ("suunnittelu", "Arkkitehti-, suunnittelu- ja insinööripalvelut", ["71"]),
    (
        "kiinteistonhoito",
        "Kiinteistönhoito, kunnossapito ja viheralueet",
        ["5070", "5071", "5080", "7731", "7734", "9061", "9062", "9063", "79993"],
    ),
    ("siivous", "Siivous ja puhtaanapito", ["9091", "9092", "3983"]),
    ("elintarvikkeet", "Elintarvikkeet ja maataloustuotteet", ["15", "03"]),
    ("ateriapalvelut", "Majoitus-, ravitsemus- ja ateriapalvelut", ["55"]),
    ("kuljetus", "Kuljetus- ja logistiikkapalvelut", ["60", "63", "641"]),
    ("ajoneuvot", "Ajoneuvot, koneet ja laitteet", ["34", "16", "42", "43", "31", "38"]),
    ("ict", "ICT, ohjelmistot ja tietoliikenne", ["72", "48", "30", "32", "642"]),
    ("sote", "Sosiaali- ja terveyspalvelut, hoitotarvikkeet", ["85", "33"]),
    ("koulutus", "Koulutus-, kulttuuri- ja vapaa-ajan palvelut", ["80", "92"]),
    ("asiantuntija", "Asiantuntija-, talous- ja hallintopalvelut", ["79", "66", "75", "73", "70", "98"]),
    ("viestinta", "Markkinointi, viestintä ja painotuotteet", ["7934", "79416", "7980", "7981", "7982", "22"]),
    ("ymparisto", "Jäte-, vesi- ja ympäristöpalvelut", ["90", "41"]),
    ("energia", "Energia ja polttoaineet", ["09", "65"]),
    ("tarvikkeet", "Tarvikkeet, kalusteet ja materiaalit", ["39", "3019", "18", "19", "37", "44", "24", "14"]),
    ("turvallisuus", "Turvallisuus-, vartiointi- ja pelastuspalvelut", ["7971", "35", "7524", "7525"]),
    ("huolto", "Korjaus-, huolto- ja asennuspalvelut", ["50", "51"]),
    ("metsa_maatalous", "Maa-, metsä- ja kalatalouden palvelut ja tuotteet", ["77", "034"]),
]
PREFIX_ROWS = [(prefix, slug) for slug, _, prefixes in ISSUE_TABLE for prefix in prefixes]
DATA_FILE = Path(__file__).parents[2] / "config" / "sectors.json"
QUICK = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def notice(**fields) -> NoticeItem:
    return NoticeItem(source="hilma", source_id="EF-1", **fields)


def sectors_of_title(title: str, language: str = "fi") -> list[str]:
    return classify_sectors(notice(titles={language: title})).sectors


def the_data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


# --- the taxonomy is the issue's table ---------------------------------------------------------


def test_the_taxonomy_has_the_issues_sectors_names_and_prefixes_in_order():
    current = taxonomy()
    assert [(s.slug, s.name, list(s.cpv_prefixes)) for s in current.sectors.values()] == ISSUE_TABLE
    assert sector_names() == {slug: name for slug, name, _ in ISSUE_TABLE}
    assert all(sector.name_sv for sector in current.sectors.values())


@pytest.mark.parametrize(("prefix", "slug"), PREFIX_ROWS)
def test_a_code_under_each_prefix_belongs_to_its_sector(prefix, slug):
    assert sector_for_cpv(prefix.ljust(8, "0")) == slug


@pytest.mark.parametrize(
    ("code", "slug"),
    [
        ("03000000", "elintarvikkeet"),  # 03 …
        ("03221000", "elintarvikkeet"),
        ("03400000", "metsa_maatalous"),  # … but not 034
        ("03419000", "metsa_maatalous"),
        ("30000000", "ict"),  # 30 …
        ("30213100", "ict"),
        ("30190000", "tarvikkeet"),  # … but not 3019
        ("30192000", "tarvikkeet"),
        ("39000000", "tarvikkeet"),  # 39 …
        ("39800000", "tarvikkeet"),
        ("39830000", "siivous"),  # … but not 3983
        ("39831200", "siivous"),
        ("79000000", "asiantuntija"),  # 79 …
        ("79993000", "kiinteistonhoito"),
        ("79713000", "turvallisuus"),
        ("79341000", "viestinta"),
        ("75200000", "asiantuntija"),  # 75 …
        ("75240000", "turvallisuus"),  # … but not 7524
        ("90000000", "ymparisto"),  # 90 …
        ("90620000", "kiinteistonhoito"),
        ("90911200", "siivous"),
        ("50000000", "huolto"),  # 50 …
        ("50700000", "kiinteistonhoito"),
        ("64110000", "kuljetus"),
        ("64200000", "ict"),
    ],
)
def test_the_longest_prefix_wins(code, slug):
    assert sector_for_cpv(code) == slug


@pytest.mark.parametrize("code", ["64000000", "76000000", "01000000", "", "7", "x9110000", "９０９１１２００", "-"])
def test_a_code_under_no_prefix_or_not_a_code_has_no_sector(code):
    assert sector_for_cpv(code) is None


def test_a_check_digit_and_surrounding_space_do_not_hide_the_sector():
    assert sector_for_cpv("90911200-5") == sector_for_cpv(" 90911200 ") == "siivous"


@QUICK
@given(st.sampled_from(PREFIX_ROWS), st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_any_code_under_a_prefix_is_that_sector_unless_a_longer_prefix_of_another_sector_matches(row, digits):
    prefix, slug = row
    code = (prefix + digits)[:8]
    longer = [(p, s) for p, s in PREFIX_ROWS if len(p) > len(prefix) and code.startswith(p)]
    expected = max(longer, key=lambda ps: len(ps[0]))[1] if longer else slug
    assert sector_for_cpv(code) == expected


@QUICK
@given(st.text(max_size=20))
def test_any_string_as_a_cpv_code_never_raises(code):
    assert sector_for_cpv(code) in {None, *sector_names()}
    cpv_label(code)


def test_a_cpv_code_has_its_finnish_label_or_its_nearest_listed_parents():
    assert cpv_label("90911200") == "Siivouspalvelut"
    assert cpv_label("90911299") == "Siivouspalvelut"  # no such code: its parent
    assert cpv_label("03413000") == "Polttopuu"
    assert cpv_label("99999999") is None and cpv_label("sipuli") is None


# --- a notice's sectors from its CPV codes -----------------------------------------------------


def test_the_main_codes_sector_comes_first_then_the_others_in_cpv_order_without_repeats():
    item = notice(
        cpv_main="90911200",
        cpv_additional=["55523100", "90919200", "03221000"],
        lots=[Lot(id="LOT-0002", cpv_main="45000000", cpv_additional=["90911000"])],
    )
    assert classify_sectors(item).sectors == ["siivous", "ateriapalvelut", "elintarvikkeet", "rakentaminen"]


def test_each_sector_has_one_piece_of_evidence_naming_the_code_where_it_stands_and_its_label():
    item = notice(cpv_main="90911200", cpv_additional=["90919200"], lots=[Lot(id="LOT-0001", cpv_main="45000000")])
    result = classify_sectors(item)
    assert result.evidence == [
        Evidence("sector", "siivous", "cpv", "90911200", "pääkohteen CPV-koodi 90911200 Siivouspalvelut"),
        Evidence(
            "sector",
            "rakentaminen",
            "cpv",
            "45000000",
            "osan LOT-0001 pääkohteen CPV-koodi 45000000 Rakennustyöt",
        ),
    ]


def test_a_notice_whose_lots_alone_carry_codes_takes_its_sectors_from_them():
    item = notice(lots=[Lot(id="LOT-0001", cpv_main="60130000"), Lot(id="LOT-0002", cpv_additional=["60120000"])])
    assert classify_sectors(item).sectors == ["kuljetus"]


def test_cpv_codes_decide_even_when_the_title_says_otherwise():
    item = notice(cpv_main="90911200", titles={"fi": "Koulukuljetukset ja ateriapalvelut"})
    assert classify_sectors(item).sectors == ["siivous"]


def test_codes_that_give_no_sector_leave_the_words_to_decide():
    item = notice(cpv_main="76000000", titles={"fi": "Kiinteistöjen ylläpitosiivous"})
    result = classify_sectors(item)
    assert result.sectors == ["siivous"] and result.evidence[0].source == "keyword"


def test_a_notice_without_codes_or_words_has_no_sector():
    assert classify_sectors(notice()) == classify_sectors(notice(titles={"fi": "Hankinta 2026"}))
    assert classify_sectors(notice()).sectors == []


# --- a notice's sectors from its words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Kiinteistöjen ylläpitosiivouksesta", ["siivous"]),
        ("Siivouspalvelut 2027–2030", ["siivous"]),
        ("Lumenluonti ja hiekoitus", ["kiinteistonhoito"]),
        ("Lumityöt ja auraus Lopella", ["kiinteistonhoito"]),
        ("Nurmikonleikkuu ja viheralueiden hoito", ["kiinteistonhoito"]),
        ("Kiinteistönhoito 2027", ["kiinteistonhoito"]),
        ("Koulukuljetukset lukuvuodelle 2026–2027", ["kuljetus"]),
        ("Taksipalvelut", ["kuljetus"]),
        ("Ateriapalvelut ikäihmisille", ["ateriapalvelut"]),
        ("Kouluruokailu", ["ateriapalvelut"]),
        ("Elintarvikkeiden hankinta", ["elintarvikkeet"]),
        ("Koulun peruskorjaus", ["rakentaminen"]),
        ("Urakka: koulun saneeraus", ["rakentaminen"]),
        ("Tietojärjestelmän hankinta", ["ict"]),
        ("Ohjelmistokehitys ja IT-palvelut", ["ict"]),
        ("Kotihoidon palvelut", ["sote"]),
        ("Tilintarkastuspalvelut 2025–2028", ["asiantuntija"]),
        ("Johdon konsultointi", ["asiantuntija"]),
        ("Jätehuolto ja jätteenkuljetus", ["ymparisto"]),
        ("Polttoaineiden toimitus", ["energia"]),
        ("Toimistokalusteet", ["tarvikkeet"]),
        ("Vartiointipalvelut", ["turvallisuus"]),
        ("Ajoneuvojen huolto", ["huolto"]),
        ("Metsänhoitotyöt", ["metsa_maatalous"]),
        ("Työterveyshuollon palvelut", ["sote"]),
        ("Siivous- ja kiinteistönhoitopalvelut", ["siivous", "kiinteistonhoito"]),
        ("Ruoka- ja siivouspalvelut", ["ateriapalvelut", "siivous"]),
    ],
)
def test_finnish_stems_find_sectors_inside_compounds_and_inflections(title, expected):
    assert sectors_of_title(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Städtjänster för skolor", ["siivous"]),
        ("Snöröjning och sandning", ["kiinteistonhoito"]),
        ("Byggentreprenad, skolans tillbyggnad", ["rakentaminen"]),
        ("Skolskjutsar 2026–2028", ["kuljetus"]),
        ("Måltidstjänster för daghem", ["ateriapalvelut"]),
        ("Livsmedel till kommunens kök", ["elintarvikkeet"]),
        ("Hemvård och hemtjänst", ["sote"]),
    ],
)
def test_swedish_stems_find_sectors_in_swedish_texts(title, expected):
    assert sectors_of_title(title, "sv") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Kielioppi ja syntaksi", []),  # taksi inside syntaksi
        ("Huoltovarmuuskeskuksen selvitys", ["asiantuntija"]),  # no maintenance in security of supply
        ("Huoltajien tiedotteet", []),  # a guardian is no maintenance
        ("Jätehuollon kilpailutus", ["ymparisto"]),  # waste management, not maintenance
        ("Tarjous on jätettävä määräaikaan mennessä", []),  # submitted, not waste
        ("Rakennusmateriaalit", ["tarvikkeet"]),  # no meal (ateria) in materiaali
        ("Siivousurakka 2026", ["siivous"]),  # a cleaning contract is no construction
        ("Sähköinen kilpailutus ja sähköposti", []),  # electronic is not electricity
        ("Koneellinen lumenauraus", ["kiinteistonhoito"]),  # mechanical is no machine purchase
        ("Rajavartiolaitoksen siivouspalvelut", ["siivous"]),  # the Border Guard is no guarding
        ("Lihaskuntolaitteiden hankinta", []),  # muscle is no meat
        ("Maaliskuun toimitukset", []),  # March is no paint
        ("Opetushallituksen tilaama selvitys", ["asiantuntija"]),  # an agency's name is no teaching
        ("Järjestelmän ylläpitopalvelut", ["ict"]),  # ylläpitopalvelu is no catering (pitopalvelu)
        ("Taksat ja maksut", []),  # a tariff is no taxi
        ("Tiedonkeräys asiakkailta", []),  # data collection is no waste collection
        ("Esittelytilaisuus tarjoajille", []),  # a presentation is no brochure (esite)
        ("Saastuneen maan kunnostus", ["ymparisto"]),  # polluted is no SaaS
        ("Siivouksen ja ateriapalveluiden", ["siivous", "ateriapalvelut"]),  # ja between: both
    ],
)
def test_stems_keep_out_of_unrelated_words(title, expected):
    assert sectors_of_title(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Städer i Finland", []),  # towns, not cleaning
        ("Kostnader och avgifter", []),  # costs, not food service
        ("Reklamation av leveranser", []),  # a complaint, not advertising
        ("Livscykelkostnader", []),  # a life cycle is no bicycle
        ("Planering av gång- och cykelväg", ["suunnittelu"]),  # a cycle path is no bicycle purchase
    ],
)
def test_swedish_stems_keep_out_of_unrelated_words(title, expected):
    assert sectors_of_title(title, "sv") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Koulun peruskorjauksen suunnittelu", ["suunnittelu"]),
        ("Kotihoidon ajoneuvot", ["ajoneuvot"]),
        ("Terveydenhuollon tietojärjestelmä", ["ict"]),
        ("Jätevesilietteen kuljetus", ["ymparisto"]),  # listed as a phrase: sludge transport is waste work
        ("Siivous, kiinteistönhoito ja vartiointi", ["siivous", "kiinteistonhoito", "turvallisuus"]),
    ],
)
def test_a_genitive_right_before_another_sector_word_only_qualifies_it(title, expected):
    assert sectors_of_title(title) == expected


def test_within_a_compound_its_last_part_decides():
    assert sectors_of_title("Ajoneuvohuolto") == ["huolto"]
    assert sectors_of_title("Kuorma-autokuljetukset") == ["kuljetus"]
    assert sectors_of_title("Ateriakuljetukset") == ["ateriapalvelut"]  # listed whole: meals delivered


def test_titles_come_before_descriptions_and_descriptions_count_only_when_titles_give_nothing():
    both = notice(
        titles={"fi": "Koulukuljetukset 2027"},
        descriptions={"fi": "Ajoneuvojen tulee olla huollettuja; kuljettajalla ateriatauko."},
    )
    assert classify_sectors(both).sectors == ["kuljetus"]
    vague = notice(titles={"fi": "Tilaushankinta 2027"}, descriptions={"fi": "Ylläpitosiivous ja vartiointi."})
    assert classify_sectors(vague).sectors == ["siivous", "turvallisuus"]


def test_lot_titles_count_as_titles_and_the_notices_own_come_first():
    item = notice(
        titles={"fi": "Kunnan palvelut 2027, osa 1 siivous"},
        lots=[Lot(id="LOT-0001", titles={"fi": "Lumityöt"}), Lot(id="LOT-0002", titles={"sv": "Städning"})],
    )
    result = classify_sectors(item)
    assert result.sectors == ["siivous", "kiinteistonhoito"]
    assert result.evidence[1] == Evidence(
        "sector", "kiinteistonhoito", "keyword", "Lumityöt", "avainsana ”lumityö” osan LOT-0001 otsikossa"
    )


def test_keyword_evidence_quotes_the_word_as_written_and_the_stem_that_matched():
    result = classify_sectors(notice(titles={"fi": "Kiinteistöjen YLLÄPITOSIIVOUKSESTA"}))
    assert result.evidence == [
        Evidence("sector", "siivous", "keyword", "YLLÄPITOSIIVOUKSESTA", "avainsana ”siivou” otsikossa")
    ]


def test_finnish_keywords_read_finnish_texts_and_swedish_keywords_swedish_texts():
    assert sectors_of_title("Kostnader", "fi") == sectors_of_title("siivous", "sv") == []
    assert sectors_of_title("Siivous", "en") == []


def test_decomposed_letters_and_unusual_hyphens_match_like_ordinary_ones():
    assert sectors_of_title("Kiinteisto\u0308nhoito") == ["kiinteistonhoito"]
    assert sectors_of_title("IT\u2011palvelut") == ["ict"]


@QUICK
@given(
    st.dictionaries(st.sampled_from(["fi", "sv", "en"]), st.text(max_size=200), max_size=3),
    st.dictionaries(st.sampled_from(["fi", "sv"]), st.text(max_size=400), max_size=2),
    st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=3),
)
def test_any_texts_and_codes_give_known_sectors_once_each_with_one_piece_of_evidence(titles, descriptions, codes):
    item = notice(
        titles=titles,
        descriptions=descriptions,
        cpv_main=codes[0] if codes else None,
        cpv_additional=[code for code in codes[1:] if code is not None],
    )
    result = classify_sectors(item)
    assert set(result.sectors) <= set(sector_names()) and len(set(result.sectors)) == len(result.sectors)
    assert [evidence.code for evidence in result.evidence] == result.sectors
    assert all(evidence.text for evidence in result.evidence)


@QUICK
@given(st.text(alphabet="aäöåeiklmnorstuvy -\u2010", max_size=60))
def test_any_finnish_looking_words_are_classified_without_error(words):
    assert set(sectors_of_title(words)) <= set(sector_names())


# --- the data file is checked when read --------------------------------------------------------


def broken(change) -> dict:
    data = copy.deepcopy(the_data())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sectors"][0]["cpv"].append("4x"), "CPV prefix '4x' of 'rakentaminen' must be 2 to 8 digits"),
        (lambda d: d["sectors"][1]["cpv"].append("45"), "CPV prefix 45 is in both 'rakentaminen' and 'suunnittelu'"),
        (lambda d: d["sectors"][1].update(slug="rakentaminen"), "sector slug 'rakentaminen' appears twice"),
        (lambda d: d["sectors"][0].update(name={"fi": "Rakentaminen"}), "needs a name in Finnish and Swedish"),
        (lambda d: d["sectors"][0]["keywords"]["fi"].append("siivou"), "fi keyword 'siivou' is listed twice"),
        (lambda d: d["sectors"][0]["keywords"]["fi"].append("Talo"), "keyword 'Talo' of 'rakentaminen'"),
        (lambda d: d["not"]["fi"].append("a*b"), "keyword 'a*b' of 'not'"),
        (lambda d: d.pop("sectors"), "non-empty list 'sectors'"),
    ],
)
def test_a_broken_data_file_is_refused_with_what_is_wrong(change, message):
    with pytest.raises(ConfigurationError, match=r"^config/sectors\.json: ") as raised:
        Taxonomy.from_data(broken(change))
    assert message in str(raised.value)


def test_a_data_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "sectors.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot be read as JSON"):
        load_taxonomy(path)


def test_a_new_sector_is_added_by_data_alone(tmp_path):
    def add_hospitality(data):
        data["sectors"].append(
            {
                "slug": "matkailu",
                "name": {"fi": "Matkailu", "sv": "Turism"},
                "cpv": ["6351"],
                "keywords": {"fi": ["matkailu"], "sv": ["turism"]},
            }
        )

    path = tmp_path / "sectors.json"
    path.write_text(json.dumps(broken(add_hospitality)), encoding="utf-8")
    extended = load_taxonomy(path)
    assert extended.sector_for_cpv("63510000") == "matkailu"
    assert extended.sector_for_cpv("63520000") == "kuljetus"
    assert [m.keyword.sector for m in extended.matchers["fi"].find("Matkailupalvelut")] == ["matkailu"]
