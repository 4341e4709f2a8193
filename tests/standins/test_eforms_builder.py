"""The eForms builder writes notices with the structure, order and links of real SDK 1.13 notices."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crawler.standins.eforms_builder import HILMA_ESENDER, MARKKINAOIKEUS, NAMESPACES, build_eforms_xml
from crawler.standins.specs import (
    ChangeSpec,
    HilmaRecord,
    LotAwardSpec,
    LotSpec,
    NoticeSpec,
    OrganisationSpec,
    PlaceSpec,
    TedPublication,
    TenderSpec,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
NS = {**NAMESPACES, "cn": "urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2"}
EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"
BUYER = OrganisationSpec(
    name="Hattulan kunta",
    business_id="2830217-4",
    street="Hattulantie 2",
    postcode="13880",
    town="Hattula",
    nuts="FI1C2",
    legal_type="la",
    activity="gen-pub",
    email="kirjaamo@hattula.fi",
)
SMALL = OrganisationSpec(name="Parolan Taksi Oy", business_id="2471684-7", town="Parola", nuts="FI1C2", size="micro")
LARGE = OrganisationSpec(
    name="Kuljetus Suomi Oyj", business_id="0347927-2", town="Helsinki", nuts="FI1B1", size="large"
)
DEADLINE = datetime(2026, 6, 15, 12, 0, tzinfo=HELSINKI)


def lot(number: int, **changes: object) -> LotSpec:
    values: dict[str, object] = {
        "id": f"LOT-{number:04d}",
        "titles": {"fi": f"Reitistö {number}"},
        "descriptions": {"fi": f"Reitistön {number} kuljetukset."},
        "cpv_main": "60130000",
        "places": (PlaceSpec(nuts="FI1C2", town="Parola", postcode="13720"),),
        "deadline": DEADLINE,
        "documents_url": "https://example.fi/tarjouspyynto/1",
    }
    values.update(changes)
    return LotSpec(**values)  # type: ignore[arg-type]


def notice(subtype: str = "E3", **changes: object) -> NoticeSpec:
    values: dict[str, object] = {
        "notice_id": "0a0b0c0d-0000-4000-8000-000000000001",
        "procedure_id": "0a0b0c0d-0000-4000-8000-0000000000ff",
        "subtype": subtype,
        "issued_at": datetime(2026, 5, 4, 9, 30, tzinfo=HELSINKI),
        "titles": {"fi": "Koulukuljetukset"},
        "descriptions": {"fi": "Koulukuljetukset neljällä reitistöllä."},
        "buyer": BUYER,
        "contract_nature": "services",
        "cpv_main": "60130000",
        "cpv_additional": ("60120000",),
        "places": (PlaceSpec(nuts="FI1C2", town="Hattula"),),
        "lots": (lot(1), lot(2)),
        "estimated_value": Decimal("190000"),
        "esender": HILMA_ESENDER,
        "review_body": MARKKINAOIKEUS,
    }
    values.update(changes)
    return NoticeSpec(**values)  # type: ignore[arg-type]


def parse(spec: NoticeSpec) -> etree._Element:
    return etree.fromstring(build_eforms_xml(spec))


def children(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element if isinstance(child.tag, str)]


@pytest.mark.parametrize(
    ("subtype", "root", "notice_type", "form_type", "legal_basis"),
    [
        ("E3", "ContractNotice", "cn-standard", "competition", "other"),
        ("16", "ContractNotice", "cn-standard", "competition", "32014L0024"),
        ("20", "ContractNotice", "cn-social", "competition", "32014L0024"),
        ("17", "ContractNotice", "cn-standard", "competition", "32014L0025"),
        ("4", "PriorInformationNotice", "pin-only", "planning", "32014L0024"),
        ("E2", "PriorInformationNotice", "pin-only", "planning", "other"),
        ("29", "ContractAwardNotice", "can-standard", "result", "32014L0024"),
        ("E4", "ContractAwardNotice", "can-standard", "result", "other"),
    ],
)
def test_the_subtype_decides_root_notice_type_form_type_and_legal_basis(
    subtype: str, root: str, notice_type: str, form_type: str, legal_basis: str
) -> None:
    lots = (lot(1, id="PAR-0001"),) if subtype in ("4", "E2") else (lot(1),)
    document = parse(notice(subtype, lots=lots))
    assert etree.QName(document).localname == root
    assert etree.QName(document).namespace == f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    code = document.find("cbc:NoticeTypeCode", NS)
    assert (code.text, code.get("listName")) == (notice_type, form_type)
    assert document.findtext("cbc:RegulatoryDomain", namespaces=NS) == legal_basis
    assert document.findtext(f"{EXT}/efac:NoticeSubType/cbc:SubTypeCode", namespaces=NS) == subtype
    assert (document.find("hilma:NationalExtension", NS) is not None) == subtype.startswith("E")


def test_a_contract_notice_keeps_the_schemas_element_order() -> None:
    document = parse(notice("E3"))
    assert children(document) == [
        "UBLExtensions",
        "UBLVersionID",
        "CustomizationID",
        "ID",
        "ContractFolderID",
        "IssueDate",
        "IssueTime",
        "VersionID",
        "RegulatoryDomain",
        "NoticeTypeCode",
        "NoticeLanguageCode",
        "ContractingParty",
        "TenderingProcess",
        "ProcurementProject",
        "ProcurementProjectLot",
        "ProcurementProjectLot",
        "NationalExtension",
    ]
    first_lot = document.find("cac:ProcurementProjectLot", NS)
    assert children(first_lot) == ["ID", "TenderingTerms", "TenderingProcess", "ProcurementProject"]
    assert children(first_lot.find("cac:TenderingProcess", NS)) == [
        "SubmissionMethodCode",
        "TenderSubmissionDeadlinePeriod",
        "ContractingSystem",
        "ContractingSystem",
    ]
    assert children(document.find("cac:ProcurementProject", NS)) == [
        "Name",
        "Description",
        "ProcurementTypeCode",
        "RequestedTenderTotal",
        "MainCommodityClassification",
        "AdditionalCommodityClassification",
        "RealizedLocation",
    ]
    assert document.findtext("cbc:CustomizationID", namespaces=NS) == "eforms-sdk-1.13"


def test_the_deadline_is_a_date_and_a_time_with_the_helsinki_offset() -> None:
    for moment, day, clock in (
        (datetime(2026, 6, 15, 12, 0, tzinfo=HELSINKI), "2026-06-15+03:00", "12:00:00+03:00"),
        (datetime(2026, 1, 15, 9, 0, tzinfo=UTC), "2026-01-15+02:00", "11:00:00+02:00"),
    ):
        document = parse(notice(lots=(lot(1, deadline=moment),)))
        period = document.find("cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod", NS)
        assert (period.findtext("cbc:EndDate", namespaces=NS), period.findtext("cbc:EndTime", namespaces=NS)) == (
            day,
            clock,
        )


def test_the_buyer_is_reached_through_its_organisation_id() -> None:
    document = parse(notice())
    reference = document.findtext("cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID", namespaces=NS)
    [company] = document.xpath(
        f"{EXT}/efac:Organizations/efac:Organization/efac:Company[cac:PartyIdentification/cbc:ID='{reference}']",
        namespaces=NS,
    )
    assert company.findtext("cac:PartyName/cbc:Name", namespaces=NS) == "Hattulan kunta"
    assert company.findtext("cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS) == "2830217-4"
    assert company.findtext("cac:PostalAddress/cbc:CountrySubentityCode", namespaces=NS) == "FI1C2"
    esender = document.findtext(
        "cac:ContractingParty/cac:Party/cac:ServiceProviderParty/cac:Party/cac:PartyIdentification/cbc:ID",
        namespaces=NS,
    )
    assert esender != reference


def test_a_change_notice_names_the_changed_notice_and_the_reason() -> None:
    change = ChangeSpec(
        "11111111-2222-4333-8444-555555555555-01",
        "update-add",
        {"fi": "Määräaikaa jatkettu."},
        ("LOT-0001", "LOT-0002"),
    )
    document = parse(notice(change=change))
    changes = document.find(f"{EXT}/efac:Changes", NS)
    assert changes.findtext("efbc:ChangedNoticeIdentifier", namespaces=NS) == change.changed_notice
    assert changes.findtext("efac:ChangeReason/cbc:ReasonCode", namespaces=NS) == "update-add"
    assert changes.xpath("efac:Change/efac:ChangedSection/efbc:ChangedSectionIdentifier/text()", namespaces=NS) == [
        "LOT-0001",
        "LOT-0002",
    ]
    assert children(document.find(EXT, NS))[0] == "Changes"


def test_a_framework_lot_with_two_winners_links_each_winner_through_tender_and_party() -> None:
    awards = (
        LotAwardSpec(
            "LOT-0001",
            tenders_received=6,
            winners=(TenderSpec(SMALL, Decimal("600000"), date(2026, 4, 28)), TenderSpec(LARGE, Decimal("400000"))),
        ),
        LotAwardSpec("LOT-0002", result="clos-nw", tenders_received=0),
    )
    lots = (lot(1, framework_agreement=True, deadline=None), lot(2, deadline=None))
    document = parse(notice("29", lots=lots, awards=awards))
    result = document.find(f"{EXT}/efac:NoticeResult", NS)
    assert result.findtext("cbc:TotalAmount", namespaces=NS) == "1000000"
    first = result.find("efac:LotResult", NS)
    assert first.findtext("efac:ReceivedSubmissionsStatistics/efbc:StatisticsNumeric", namespaces=NS) == "6"
    winners = []
    for tender_id in first.xpath("efac:LotTender/cbc:ID/text()", namespaces=NS):
        [tender] = result.xpath(f"efac:LotTender[cbc:ID='{tender_id}']", namespaces=NS)
        party_id = tender.findtext("efac:TenderingParty/cbc:ID", namespaces=NS)
        org_id = result.xpath(f"efac:TenderingParty[cbc:ID='{party_id}']/efac:Tenderer/cbc:ID/text()", namespaces=NS)[0]
        [company] = document.xpath(
            f"{EXT}/efac:Organizations/efac:Organization/efac:Company[cac:PartyIdentification/cbc:ID='{org_id}']",
            namespaces=NS,
        )
        winners.append(
            (
                company.findtext("cac:PartyName/cbc:Name", namespaces=NS),
                company.findtext("efbc:CompanySizeCode", namespaces=NS),
                tender.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS),
            )
        )
    assert winners == [("Parolan Taksi Oy", "micro", "600000"), ("Kuljetus Suomi Oyj", "large", "400000")]
    assert result.xpath("efac:LotResult[2]/cbc:TenderResultCode/text()", namespaces=NS) == ["clos-nw"]
    assert document.xpath(
        "cac:ProcurementProjectLot[1]//cbc:ContractingSystemTypeCode[@listName='framework-agreement']/text()",
        namespaces=NS,
    ) == ["fa-wo-rc"]
    assert children(result)[:3] == ["TotalAmount", "LotResult", "LotResult"]


def test_the_ted_publication_is_written_only_for_a_notice_published_on_ted() -> None:
    published = notice("16", ted_publication=TedPublication("612345-2026", date(2026, 5, 6), "87/2026"))
    document = parse(published)
    assert document.findtext(f"{EXT}/efac:Publication/efbc:NoticePublicationID", namespaces=NS) == "00612345-2026"
    assert document.findtext(f"{EXT}/efac:Publication/efbc:GazetteID", namespaces=NS) == "87/2026"
    assert document.find(f"{EXT}/efac:Publication", NS) is not None
    assert parse(replace(published, ted_publication=None)).find(f"{EXT}/efac:Publication", NS) is None


def test_a_prior_information_notice_has_parts_no_deadline_and_a_planned_date() -> None:
    document = parse(notice("4", lots=(lot(0, id="PAR-0000", deadline=None),), planned_date=date(2026, 7, 1)))
    assert document.xpath("cac:ProcurementProjectLot/cbc:ID/@schemeName", namespaces=NS) == ["Part"]
    assert document.find("cac:TenderingProcess", NS) is None
    assert document.findtext("cbc:PlannedDate", namespaces=NS) == "2026-07-01+03:00"


def test_a_place_known_only_by_its_town_has_no_nuts_code() -> None:
    place = PlaceSpec(town="Tammela", postcode="31300", street="Hämeenlinnantie 1")
    document = parse(notice(places=(place,), lots=(lot(0, places=(place,)),)))
    address = document.find("cac:ProcurementProject/cac:RealizedLocation/cac:Address", NS)
    assert children(address) == ["StreetName", "CityName", "PostalZone", "Country"]


def test_a_plan_has_no_eforms_xml() -> None:
    plan = NoticeSpec(
        notice_id=None,
        procedure_id=None,
        subtype=None,
        issued_at=datetime(2026, 5, 1, tzinfo=UTC),
        titles={"fi": "Suunnitelma"},
        descriptions={"fi": "…"},
        buyer=BUYER,
        contract_nature="works",
        cpv_main="45000000",
        hilma=HilmaRecord(notice_id=0, procedure_id=1, plan_id=7, published_at=datetime(2026, 5, 1, tzinfo=UTC)),
    )
    with pytest.raises(ValueError, match="plan"):
        build_eforms_xml(plan)


texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(str.strip)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(HELSINKI), allow_imaginary=False
)


@settings(max_examples=60, deadline=None)
@given(
    title=texts,
    lot_titles=st.lists(texts, min_size=1, max_size=6),
    deadlines=st.lists(moments, min_size=6, max_size=6),
    value=st.decimals(min_value=1, max_value=10**9, places=2),
    subtype=st.sampled_from(["E3", "16", "20"]),
    language=st.sampled_from(["fi", "sv", "en"]),
)
def test_any_notice_renders_well_formed_and_gives_its_values_back(
    title: str, lot_titles: list[str], deadlines: list[datetime], value: Decimal, subtype: str, language: str
) -> None:
    lots = tuple(
        lot(n + 1, titles={language: text}, deadline=deadlines[n].replace(second=0, microsecond=0, fold=0))
        for n, text in enumerate(lot_titles)
    )
    spec = notice(subtype, titles={language: title}, lots=lots, estimated_value=value, language=language)
    document = parse(spec)
    code = {"fi": "FIN", "sv": "SWE", "en": "ENG"}[language]
    assert document.findtext(f"cac:ProcurementProject/cbc:Name[@languageID='{code}']", namespaces=NS) == title
    assert (
        document.xpath("cac:ProcurementProjectLot/cac:ProcurementProject/cbc:Name/text()", namespaces=NS) == lot_titles
    )
    amount = document.findtext(
        "cac:ProcurementProject/cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", namespaces=NS
    )
    assert Decimal(amount) == value
    for element, spec_lot in zip(document.findall("cac:ProcurementProjectLot", NS), lots, strict=True):
        day = element.findtext("cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod/cbc:EndDate", namespaces=NS)
        clock = element.findtext("cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod/cbc:EndTime", namespaces=NS)
        # Compare instants: Python never calls a wall time in the autumn's repeated hour equal across zones.
        assert datetime.fromisoformat(f"{day[:10]}T{clock}").timestamp() == spec_lot.deadline.timestamp()


def test_rendering_is_fast_enough_for_benchmark_volumes() -> None:
    spec = notice(
        "16",
        lots=tuple(lot(n) for n in range(1, 4)),
        ted_publication=TedPublication("612345-2026", date(2026, 5, 6), "87/2026"),
    )
    started = time.perf_counter()
    for _ in range(300):
        build_eforms_xml(spec)
    per_notice = (time.perf_counter() - started) / 300
    print(f"\neForms builder: {per_notice * 1000:.2f} ms per three-lot notice")
    assert per_notice < 0.02, "20 000 notices should render in minutes, not hours"


def test_every_time_written_is_timezone_aware() -> None:
    document = parse(notice(issued_at=datetime(2026, 5, 4, 6, 30, tzinfo=UTC) + timedelta(hours=1)))
    assert document.findtext("cbc:IssueDate", namespaces=NS) == "2026-05-04+03:00"
    assert document.findtext("cbc:IssueTime", namespaces=NS) == "10:30:00+03:00"
