"""Region and sector classification is measured on hand-labelled notices and meets the issue's targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import InputError
from crawler.classification import evaluation
from crawler.classification.evaluation import (
    NAIVE_SUBSTRING,
    NUTS_ONLY,
    Accuracy,
    Classifier,
    Figures,
    Membership,
    Prediction,
    accuracy,
    evaluate,
    membership,
    predict_naive_substring,
    predict_nuts_only,
    read_labels,
    render,
    render_errors,
)
from crawler.items import Lot, NoticeItem, Organisation, Place

FIXTURES = Path(__file__).parents[1] / "fixtures" / "classification"
EXAMPLE = FIXTURES.parent / "hilma" / "search_response_forssa_cleaning_plan_award_correction.json"
SECTORS = {
    "rakentaminen", "suunnittelu", "kiinteistonhoito", "siivous", "elintarvikkeet", "ateriapalvelut", "kuljetus",
    "ajoneuvot", "ict", "sote", "koulutus", "asiantuntija", "viestinta", "ymparisto", "energia", "tarvikkeet",
    "turvallisuus", "huolto", "metsa_maatalous",
}
MAAKUNTA = {f"{code:02d}" for code in (1, 2, *range(4, 20), 21)}


@pytest.fixture(scope="module")
def labelled_set() -> tuple[list[dict], dict]:
    return evaluation.load(FIXTURES)


def item(
    title: str = "",
    description: str = "",
    nuts: tuple[str, ...] = (),
    lot_nuts: tuple[str, ...] = (),
    cpv: str | None = None,
    buyer: Organisation | None = None,
    titles: dict[str, str] | None = None,
) -> NoticeItem:
    return NoticeItem(
        source="hilma",
        source_id="EF-1",
        titles=titles if titles is not None else ({"fi": title} if title else {}),
        descriptions={"fi": description} if description else {},
        places=[Place(nuts=code) for code in nuts],
        lots=[Lot(id="LOT-0001", places=[Place(nuts=code) for code in lot_nuts])] if lot_nuts else [],
        cpv_main=cpv,
        buyers=[buyer] if buyer else [],
    )


# -- the metrics -------------------------------------------------------------------------------


def test_precision_and_recall_count_hits_false_alarms_and_misses():
    counts = membership([(True, True), (True, False), (False, True), (False, False), (True, True)])
    assert (counts.true_positives, counts.false_positives, counts.false_negatives) == (2, 1, 1)
    assert counts.precision == pytest.approx(2 / 3) and counts.recall == pytest.approx(2 / 3)


def test_a_classifier_that_claims_nothing_has_no_precision_rather_than_a_perfect_one():
    counts = membership([(True, False), (False, False)])
    assert counts.precision is None and counts.recall == 0.0


def test_a_set_without_positives_has_no_recall_and_every_claim_is_a_false_alarm():
    counts = membership([(False, False), (False, True)])
    assert counts.recall is None and counts.precision == 0.0


def test_accuracy_is_the_share_of_exactly_right_notices_and_none_for_no_notices():
    assert accuracy([True, False, True, True]).value == 0.75
    assert accuracy([]).value is None


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60))
def test_membership_counts_every_pair_once_and_stays_between_zero_and_one(pairs):
    counts = membership(pairs)
    true_negatives = sum(1 for expected, predicted in pairs if not expected and not predicted)
    assert counts.true_positives + counts.false_positives + counts.false_negatives + true_negatives == len(pairs)
    assert (counts.precision is None) == (not any(predicted for _, predicted in pairs))
    assert (counts.recall is None) == (not any(expected for expected, _ in pairs))
    for value in (counts.precision, counts.recall):
        assert value is None or 0.0 <= value <= 1.0


def test_shortfalls_name_every_missed_target_and_count_a_missing_figure_as_missed():
    figures = Figures(
        classifier=NUTS_ONLY,
        kanta_hame=Membership(true_positives=99, false_positives=1, false_negatives=0),
        paijat_hame=Membership(true_positives=0, false_positives=0, false_negatives=3),
        municipalities=Accuracy(89, 100),
        sectors=Accuracy(90, 100),
        nationwide=Accuracy(0, 100),
        count=100,
    )
    assert figures.shortfalls() == [
        "Päijät-Häme precision – < 0.98",
        "Päijät-Häme recall 0.000 < 0.95",
        "municipality exact-set accuracy 0.890 < 0.9",
    ]


# -- the baselines -----------------------------------------------------------------------------


def test_nuts_only_reads_2021_2024_and_legacy_codes_of_the_notice_and_its_lots():
    prediction = predict_nuts_only(item(nuts=("FI1C3",), lot_nuts=("FI184", "FI19B")))
    assert prediction.regions == {"07", "05", "06"} and not prediction.municipalities
    assert not prediction.nationwide


def test_nuts_only_finds_nothing_in_a_country_or_a_level_two_code_and_calls_it_nationwide():
    for codes in [("FI",), ("FI1C",), ()]:
        prediction = predict_nuts_only(item(title="Lopen koulun katto", nuts=codes))
        assert prediction.regions == frozenset() and prediction.nationwide


def test_nuts_only_takes_the_sector_of_the_main_cpv_division_only():
    assert predict_nuts_only(item(cpv="90911200")).sectors == {"ymparisto"}  # cleaning is 9091, a longer prefix
    assert predict_nuts_only(item(cpv="03400000")).sectors == {"elintarvikkeet"}  # forestry is 034
    assert predict_nuts_only(item(cpv="64000000")).sectors == frozenset()
    assert predict_nuts_only(item()).sectors == frozenset()


def test_naive_substring_finds_base_and_swedish_names_anywhere_including_the_buyer_address():
    swedish = predict_naive_substring(item(titles={"sv": "Städning i Tavastehus"}))
    assert swedish.municipalities == {"109"} and swedish.regions == {"05"}
    national = Organisation(name="Vankiterveydenhuollon yksikkö", postcode="13101", town="Hämeenlinna")
    assert predict_naive_substring(item(title="Hoitotarvikkeet", nuts=("FI",), buyer=national)).municipalities == {
        "109"
    }


def test_naive_substring_is_fooled_by_compounds_and_misses_inflected_names():
    assert predict_naive_substring(item(title="Hämeenlinnanväylän meluesteet")).municipalities == {"109"}
    assert predict_naive_substring(item(title="Espoonlahti-keskuksen uimahalli")).regions == {"07"}
    assert predict_naive_substring(item(title="Varuskunnan ruokala Riihimäellä")).municipalities == frozenset()


def test_naive_substring_keeps_the_nuts_regions():
    prediction = predict_naive_substring(item(title="Katujen kunnossapito", nuts=("FI1D9",), cpv="90610000"))
    assert prediction.regions == {"17"} and prediction.sectors == {"ymparisto"}


# -- the evaluation, with stand-ins for the project's classifiers -------------------------------


def oracle(labels: dict) -> Classifier:
    """A stand-in that answers every notice with its label."""
    expected = read_labels(labels).expected
    return Classifier("oracle", "oraakkeli / oracle", lambda notice: expected[notice.source_id])


def test_a_classifier_that_gives_the_labels_scores_one_everywhere_and_makes_no_errors(labelled_set):
    documents, labels = labelled_set
    report = evaluate(documents, labels, [oracle(labels)])
    figures = report.of("oracle")
    assert figures.count == len(documents) and figures.shortfalls() == [] and report.errors == ()
    assert figures.kanta_hame.precision == figures.paijat_hame.recall == figures.nationwide.value == 1.0


def test_municipalities_outside_the_labelled_scope_are_not_compared(labelled_set):
    documents, labels = labelled_set
    expected = read_labels(labels).expected

    def with_tampere(notice: NoticeItem) -> Prediction:
        label = expected[notice.source_id]
        return Prediction(label.regions, label.municipalities | {"837"}, label.sectors, label.nationwide)

    report = evaluate(documents, labels, [Classifier("tampere", "Tampere", with_tampere)])
    assert report.of("tampere").municipalities.value == 1.0


def test_errors_list_the_last_classifiers_wrong_fields_with_what_was_expected(labelled_set):
    documents, labels = labelled_set
    expected = read_labels(labels).expected

    def misses_lopella(notice: NoticeItem) -> Prediction:
        label = expected[notice.source_id]
        if "Lopella" in (notice.title or ""):
            return Prediction(sectors=label.sectors, nationwide=True)
        return label

    report = evaluate(documents, labels, [NUTS_ONLY, Classifier("standin", "stand-in", misses_lopella)])
    (mismatch,) = report.errors
    assert mismatch.fields == ("regions", "municipalities", "nationwide")
    assert mismatch.expected.municipalities == {"433"} and mismatch.got.municipalities == frozenset()
    assert report.of("standin").kanta_hame.false_negatives == 1
    listing = render_errors(report)
    assert mismatch.notice_id in listing and "odotettu / expected [433]  saatu / got []" in listing


def test_the_table_has_a_column_per_classifier_and_the_targets(labelled_set):
    documents, labels = labelled_set
    table = render(evaluate(documents, labels, [NUTS_ONLY, NAIVE_SUBSTRING, oracle(labels)]))
    header, *rows = table.splitlines()
    assert header.split("  ")[-1].strip() == "oraakkeli / oracle" and "vain NUTS / NUTS only" in header
    assert rows[0].startswith("Kanta-Häme: tarkkuus / precision") and "≥ 0.98" in rows[0]
    assert rows[-1].split()[-3:] == [str(len(documents))] * 3
    assert len({len(line) for line in [header, *rows[:-1]]}) == 1  # aligned columns


def test_a_document_without_a_label_or_a_label_without_a_document_is_refused(labelled_set):
    documents, labels = labelled_set
    with pytest.raises(InputError, match="ilman merkintää"):
        evaluate(documents, {key: value for key, value in labels.items() if key != documents[0]["id"]}, [NUTS_ONLY])
    with pytest.raises(InputError, match="ilman ilmoitusta"):
        evaluate(documents[1:], labels, [NUTS_ONLY])


def test_a_label_naming_a_municipality_outside_the_labelled_ones_is_refused():
    labels = {"_about": {"municipality_scope": ["109"]}, "EF-1": {"regions": ["06"], "municipalities": ["837"],
                                                                  "sectors": []}}
    with pytest.raises(InputError, match="837"):
        read_labels(labels)


def test_the_command_line_names_a_missing_folder_in_finnish(tmp_path, capsys):
    assert evaluation.main([str(tmp_path / "puuttuu")]) == 1
    assert "arviointiaineistoa ei löydy" in capsys.readouterr().err


# -- the labelled set itself -------------------------------------------------------------------


def test_the_labelled_set_has_160_full_hilma_index_documents_each_labelled_once(labelled_set):
    documents, labels = labelled_set
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))["value"][0]
    assert len(documents) >= 160 and len({document["id"] for document in documents}) == len(documents)
    assert {key for key in labels if not key.startswith("_")} == {document["id"] for document in documents}
    for document in documents:
        assert list(document) == list(example), document["id"]
        assert all(list(lot) == list(example["lots"][0]) for lot in document["lots"]), document["id"]


def test_the_labels_use_known_codes_and_slugs(labelled_set):
    _, labels = labelled_set
    labelled = read_labels(labels)
    assert len(labelled.municipality_scope) == 21
    for notice_id, label in labelled.expected.items():
        assert label.regions <= MAAKUNTA and label.sectors <= SECTORS, notice_id
        assert not (label.nationwide and label.regions), notice_id


def test_the_labelled_set_covers_both_regions_elsewhere_nationwide_and_notices_without_cpv(labelled_set):
    documents, labels = labelled_set
    expected = read_labels(labels).expected.values()
    assert sum("05" in label.regions for label in expected) >= 60
    assert sum("07" in label.regions for label in expected) >= 35
    assert sum(bool(label.regions - {"05", "07"}) for label in expected) >= 25
    assert sum(label.nationwide for label in expected) >= 20
    assert sum(not document["cpvCodes"] for document in documents) >= 15


# -- the project's classifiers against the targets ---------------------------------------------


@pytest.fixture(scope="module")
def report(labelled_set) -> evaluation.Report:
    documents, labels = labelled_set
    return evaluate(documents, labels)


def test_hankintavahti_meets_the_issues_targets_on_the_labelled_set(report):
    assert report.of("hankintavahti").shortfalls() == [], render(report)


def test_hankintavahti_finds_what_the_nuts_filter_misses(report):
    ours, nuts = report.of("hankintavahti"), report.of("nuts")
    assert ours.kanta_hame.recall > nuts.kanta_hame.recall
    assert ours.paijat_hame.recall > nuts.paijat_hame.recall
    assert ours.municipalities.value > nuts.municipalities.value
    assert ours.sectors.value > nuts.sectors.value


def test_hankintavahti_is_right_where_naive_substring_matching_is_wrong(report):
    ours, naive = report.of("hankintavahti"), report.of("naive")
    assert ours.kanta_hame.precision > naive.kanta_hame.precision
    assert ours.paijat_hame.precision > naive.paijat_hame.precision
    assert ours.municipalities.value > naive.municipalities.value
    assert ours.sectors.value > naive.sectors.value


HOLDOUT = FIXTURES.parent / "classification_holdout"


def test_hankintavahti_meets_the_targets_on_the_held_out_set_labelled_blind():
    """The held-out set was written and labelled without seeing the classifiers or their data."""
    documents, labels = evaluation.load(HOLDOUT)
    held_out = evaluate(documents, labels)
    ours = held_out.of("hankintavahti")
    assert len(documents) >= 120
    assert ours.shortfalls() == [], render(held_out)
    for baseline in ("nuts", "naive"):
        assert ours.municipalities.value > held_out.of(baseline).municipalities.value
        assert ours.sectors.value > held_out.of(baseline).sectors.value
