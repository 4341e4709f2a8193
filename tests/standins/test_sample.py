"""The project's sample: enough realistic notices, consistent procedures, dates that never age."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from crawler.standins.eforms_builder import NAMESPACES
from crawler.standins.sample import FIXED_HOLIDAYS, HELSINKI, SampleData, load_sample

EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"
HAME_NUTS = ("FI1C2", "FI1C6")


def documents_of(sample: SampleData, **conditions: Any) -> list[dict[str, Any]]:
    return [d for d in sample.hilma_documents if all(d[key] == value for key, value in conditions.items())]


def test_the_sample_has_at_least_48_hilma_notices_with_unique_ids(sample: SampleData) -> None:
    documents = sample.hilma_documents
    assert len(documents) >= 48
    assert len({d["id"] for d in documents}) == len(documents)
    eforms = [d for d in documents if d["isEForms"]]
    assert len({d["noticeId"] for d in eforms}) == len(eforms)
    assert len({d["eFormsId"] for d in eforms}) == len(eforms)
    numbers = [notice.publication_number for notice in sample.ted_notices]
    assert len(set(numbers)) == len(numbers)


def test_most_buyers_are_from_hame_and_some_from_elsewhere(sample: SampleData) -> None:
    buyers = Counter(d["organisationNutsCode"] in HAME_NUTS for d in sample.hilma_documents)
    assert buyers[True] > 2 * buyers[False] > 0
    names = {d["organisationNameFi"] for d in sample.hilma_documents}
    assert {"Hämeenlinnan kaupunki", "Lahden kaupunki", "Kanta-Hämeen hyvinvointialue", "Senaatti-kiinteistöt"} <= names


def test_every_eforms_document_has_well_formed_xml_that_says_the_same(sample: SampleData) -> None:
    for document in documents_of(sample, isEForms=True):
        root = etree.fromstring(sample.hilma_eforms[document["noticeId"]])
        assert root.findtext("cbc:ID", namespaces=NAMESPACES) == document["eFormsId"]
        assert root.findtext(f"{EXT}/efac:NoticeSubType/cbc:SubTypeCode", namespaces=NAMESPACES) == document["type"]
        # HILMA keeps the notice as sent: TED's publication block is only in TED's copy.
        assert root.find(f"{EXT}/efac:Publication", NAMESPACES) is None
    plans = documents_of(sample, isPlan=True)
    assert all(plan["noticeId"] not in sample.hilma_eforms for plan in plans)


def test_dates_are_relative_to_the_day_the_sample_is_loaded(sample: SampleData) -> None:
    now = datetime.now(UTC)
    for document in sample.hilma_documents:
        published = datetime.fromisoformat(document["datePublished"])
        # the award history of Häme buyers (the vitality meter's data) goes back two years; the rest is recent
        history = document["mainType"] == "ContractAwardNotices" or document["isCorrigendum"]
        assert now - timedelta(days=730 if history else 30) < published < now, document["id"]
    assert sample.oldest < (now - timedelta(days=365)).date()
    superseded = {p for d in sample.hilma_documents for p in d["previousSearchIds"]}
    awarded = {d["procedureId"] for d in documents_of(sample, mainType="ContractAwardNotices")}
    open_notices = [
        d
        for d in documents_of(sample, mainType="ContractNotices", isCancelled=False)
        if d["id"] not in superseded and d["procedureId"] not in awarded
    ]
    assert len(open_notices) >= 20
    assert all(datetime.fromisoformat(d["deadline"]) > now for d in open_notices)


def test_loading_on_another_day_moves_the_dates_and_keeps_the_ids(fixed_day_sample: SampleData) -> None:
    later = load_sample(today=fixed_day_sample.today + timedelta(days=10))
    for before, after in zip(fixed_day_sample.hilma_documents, later.hilma_documents, strict=True):
        assert (before["id"], before["eFormsId"], before["tedPublicationId"]) == (
            after["id"],
            after["eFormsId"],
            after["tedPublicationId"],
        )
        # the same time of day ten days later in Helsinki (the award history spans changes of daylight saving)
        after_local = datetime.fromisoformat(after["datePublished"]).astimezone(HELSINKI)
        moved = after_local - datetime.fromisoformat(before["datePublished"]).astimezone(HELSINKI)
        assert moved == timedelta(days=10)


@pytest.mark.parametrize("today", [date(2026, 3, 16), date(2026, 11, 26), date(2026, 12, 10)])
def test_deadlines_fall_on_working_days_at_the_stated_time(today: date) -> None:
    for spec in load_sample(today=today).specs:
        for lot in spec.lots:
            if lot.deadline is not None:
                assert lot.deadline.weekday() < 5
                assert (lot.deadline.month, lot.deadline.day) not in FIXED_HOLIDAYS
                assert (lot.deadline.minute, lot.deadline.second) == (0, 0)


def test_each_correction_refers_to_an_earlier_notice_of_the_same_procedure(sample: SampleData) -> None:
    documents = {d["id"]: d for d in sample.hilma_documents}
    changes = documents_of(sample, isCorrigendum=True)
    assert len(changes) >= 5  # four corrections and a cancellation
    for change in changes:
        [previous_id] = change["previousSearchIds"]
        previous = documents[previous_id]
        assert previous["datePublished"] < change["datePublished"]
        assert previous["procedureId"] == change["procedureId"]
        root = etree.fromstring(sample.hilma_eforms[change["noticeId"]])
        changed = root.findtext(f"{EXT}/efac:Changes/efbc:ChangedNoticeIdentifier", namespaces=NAMESPACES)
        assert changed == previous["fullEFormsId"]


def test_the_corrections_move_a_deadline_change_a_value_and_change_the_documents_url(sample: SampleData) -> None:
    documents = {d["id"]: d for d in sample.hilma_documents}
    corrections = [d for d in documents_of(sample, isCorrigendum=True, isCancelled=False)]
    changed: set[str] = set()
    for correction in corrections:
        previous = documents[correction["previousSearchIds"][0]]
        for field in ("deadline", "estimatedValue", "procurementDocumentsUrl"):
            if correction[field] != previous[field]:
                changed.add(field)
    assert len(corrections) >= 4
    assert changed == {"deadline", "estimatedValue", "procurementDocumentsUrl"}


def test_one_procedure_is_cancelled_and_its_contract_notice_is_marked_so(sample: SampleData) -> None:
    [cancellation] = documents_of(sample, isCorrigendum=True, isCancelled=True)
    root = etree.fromstring(sample.hilma_eforms[cancellation["noticeId"]])
    assert root.findtext(f"{EXT}/efac:Changes/efac:ChangeReason/cbc:ReasonCode", namespaces=NAMESPACES) == "cancel"
    [original] = [d for d in sample.hilma_documents if d["id"] in cancellation["previousSearchIds"]]
    assert original["isCancelled"] and original["dateModified"] > cancellation["datePublished"]


def test_the_sample_covers_the_kinds_of_notices_the_service_must_handle(sample: SampleData) -> None:
    types = Counter(d["type"] for d in sample.hilma_documents)
    assert types["E3"] >= 10 and types["16"] >= 5 and types["E4"] >= 1 and types["29"] >= 1
    assert len(documents_of(sample, isPlan=True)) >= 3
    assert len(documents_of(sample, mainType="PriorInformationNotices")) >= 3
    awards = documents_of(sample, mainType="ContractAwardNotices")
    assert len(awards) >= 5
    assert sum(1 for d in sample.hilma_documents if len(d["lots"]) > 1) >= 8
    eu = [d for d in documents_of(sample, type="16") if d["tedPublicationId"]]
    assert len(eu) >= 5


def test_the_winners_range_from_micro_to_large_from_inside_and_outside_the_region(sample: SampleData) -> None:
    winners = [tender.winner for spec in sample.specs for award in spec.awards for tender in award.winners]
    assert {winner.size for winner in winners} == {"micro", "small", "medium", "large", None}  # None: not given
    assert any(winner.nuts in HAME_NUTS for winner in winners)
    assert any(winner.nuts not in HAME_NUTS for winner in winners)
    two_winner_lots = [
        lot
        for spec in sample.specs
        for award in spec.awards
        for lot in spec.lots
        if lot.id == award.lot_id and len(award.winners) == 2
    ]
    assert two_winner_lots
    assert all(lot.framework_agreement for lot in two_winner_lots)


def test_the_sample_has_the_hard_cases_for_place_and_language(sample: SampleData) -> None:
    swedish = [d for d in sample.hilma_documents if d["titleSv"] and not d["titleFi"]]
    assert len(swedish) == 2  # Raasepori's call for tenders and HAMK's award notice
    place_in_text_only = [d for d in sample.hilma_documents if d["nutsCodes"] == "FI"]
    texts = " ".join(d["descriptionFi"] + d["titleFi"] for d in place_in_text_only)
    for phrase in ("Lopella", "Turengin koulukeskus", "Jokioisissa"):
        assert phrase in texts
    town_without_nuts = [
        place
        for spec in sample.specs
        for place in spec.all_places()
        if place.town and place.postcode and not place.nuts
    ]
    assert {place.town for place in town_without_nuts} >= {"Riihimäki", "Tammela"}


def test_ted_has_the_eu_notices_of_hilma_and_a_few_of_its_own(sample: SampleData) -> None:
    on_ted = {d["tedPublicationId"]: d for d in sample.hilma_documents if d["tedPublicationId"]}
    ted = {notice.publication_number: notice for notice in sample.ted_notices}
    assert set(on_ted) <= set(ted)
    for number, document in on_ted.items():
        notice = ted[number]
        assert notice.fields["notice-identifier"] == document["eFormsId"]
        root = etree.fromstring(notice.xml)
        serial, year = number.split("-")
        publication = root.findtext(f"{EXT}/efac:Publication/efbc:NoticePublicationID", namespaces=NAMESPACES)
        assert publication == f"{int(serial):08d}-{year}"
        published_in_helsinki = datetime.fromisoformat(document["datePublished"]).astimezone(HELSINKI).date()
        assert notice.publication_date == published_in_helsinki  # HILMA publishes EU notices on TED's day
    ted_only = [notice for number, notice in ted.items() if number not in on_ted]
    assert 3 <= len(ted_only) <= 4
    for notice in ted_only:
        places = notice.fields.get("place-of-performance", [])
        assert notice.fields["buyer-country"] == ["FIN"] or "FIN" in places


def test_the_projects_parser_reads_the_same_title_deadline_and_buyer_as_the_index(sample: SampleData) -> None:
    eforms = pytest.importorskip("crawler.eforms")
    for document in documents_of(sample, isEForms=True):
        item = eforms.parse_eforms(sample.hilma_eforms[document["noticeId"]])
        title = document["titleFi"] or document["titleSv"] or document["titleEn"]
        assert item.title == title
        deadline = datetime.fromisoformat(document["deadline"]) if document["deadline"] else None
        assert item.deadline == deadline, document["id"]
        assert item.buyer is not None
        assert item.buyer.business_id == document["organisationNationalRegistrationNumber"]
        assert item.notice_id == document["eFormsId"]


def test_building_the_sample_is_quick(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    sample = load_sample(today=date(2026, 3, 16))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nsample: {len(sample.hilma_documents)} HILMA documents ({len(sample.hilma_eforms)} with XML), "
            f"{len(sample.ted_notices)} TED notices, built in {elapsed * 1000:.0f} ms"
        )
    assert elapsed < 2.0
