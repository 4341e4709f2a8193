"""HILMA index documents carry every key of the real ones, in HILMA's conventions, agreeing with the XML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from crawler.standins.eforms_builder import NAMESPACES
from crawler.standins.sample import SampleData

#: The keys of a real ``eformnotices-v2`` document (HILMA format notes §2.3), in HILMA's order.
_DOCUMENT_KEYS = """
id noticeId refOldNoticeTedPublicationId parentNoticeId oldProcurementProjectId procedureId planId contractFolderId
eFormsId fullEFormsId sendingSystem procedureType noticeResultTotalAmount noticeResultTotalAmountCurrency
noticeOjsNumber datePublished dateModified procurementTypeCode previousTedPublicationId previousNoticeNumber
previousEFormsId previousFullEFormsId previousContractFolderId previousSearchIds type mainType titleFi titleSv titleEn
titleOther cpvCodes organisationNameFi organisationNameSv organisationNameEn organisationNameOther
organisationNationalRegistrationNumber organisationAddress organisationNutsCode organisationType nutsCodes
organisationDepartment descriptionFi descriptionSv descriptionEn descriptionOther expirationDate deadline
isCorrigendum isCancelled includesDynamicPurcharingSystem includesFrameworkAgreement
overallMaximumFrameworkContractsAmount overallMaximumFrameworkContractsCurrency
overallApproximateFrameworkContractsAmount overallApproximateFrameworkContractsCurrency isNationalProcurement
isEuProcurement isNationalSmallValueProcurement noticeNumber estimatedValue currency isEForms winnerOrganisations
tedPublicationId isPlan procurementDocumentsUrl tenderingInHilma linkedNotices energyEfficiencyConsidered lowCarbon
circularEconomy biodiversity sustainableFoodProduction listedGreenCriteriaUsed justWorkingConditions
employmentCondition howManyOpportunitiesIsEstimated codeOfConduct innovationConsidered solutionNewToBuyer
solutionNewToMarketOrIndustry smeParticipationConsidered endUserInvolved isPrivateSmallValueProcurement lots
"""
DOCUMENT_KEYS = _DOCUMENT_KEYS.split()
_LOT_KEYS = """
id procurementTypeCode procedureType titleFi titleSv titleEn titleOther cpvCodes nutsCodes descriptionFi
descriptionSv descriptionEn descriptionOther estimatedValue currency lotResultTotalAmount lotResultTotalAmountCurrency
expirationDate deadline includesDynamicPurcharingSystem includesFrameworkAgreement winnerOrganisations
receivedTenderCount electronicallySubmittedTendersCount tendersFromOtherEEACount tendersFromOutsideEEACount
tendersVerifiedAndInadmissibleCount tendersVerifiedAndInadmissibleLowValueCount tendersNotVerifiedForAdmissibilityCount
tendersFromMicroTenderersCount tendersFromSmallTenderersCount tendersFromMediumTenderersCount
tendersFromMicroSmallMediumTenderersCount receivedApplicationCount energyEfficiencyConsidered lowCarbon
circularEconomy biodiversity sustainableFoodProduction listedGreenCriteriaUsed justWorkingConditions
employmentCondition howManyOpportunitiesIsEstimated codeOfConduct innovationConsidered solutionNewToBuyer
solutionNewToMarketOrIndustry smeParticipationConsidered endUserInvolved
"""
LOT_KEYS = _LOT_KEYS.split()
EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"


def by_id(sample: SampleData) -> dict[str, dict[str, Any]]:
    return {document["id"]: document for document in sample.hilma_documents}


def test_every_document_has_exactly_the_keys_of_real_index_documents_in_their_order(sample: SampleData) -> None:
    for document in sample.hilma_documents:
        assert list(document) == DOCUMENT_KEYS, document["id"]
        for lot in document["lots"]:
            assert list(lot) == LOT_KEYS


def test_codes_are_space_separated_and_times_are_utc_with_milliseconds(sample: SampleData) -> None:
    for document in sample.hilma_documents:
        assert all(len(code) == 8 and code.isdigit() for code in document["cpvCodes"].split(" "))
        assert document["nutsCodes"] and " ," not in document["nutsCodes"]
        assert document["datePublished"].endswith("Z") and len(document["datePublished"]) == len(
            "2026-05-08T14:51:10.782Z"
        )
        assert document["datePublished"] < document["dateModified"]
        if document["deadline"] is not None:
            assert document["deadline"].endswith(":00Z")


def test_descriptions_are_the_procedure_text_then_each_lots_text_with_a_comma(sample: SampleData) -> None:
    document = next(d for d in sample.hilma_documents if len(d["lots"]) == 3 and d["type"] == "16")
    assert document["descriptionFi"].endswith(",")
    assert document["descriptionFi"].count(",") >= 3
    for lot in document["lots"]:
        assert f"{lot['descriptionFi']}," in document["descriptionFi"]
        assert not lot["descriptionFi"].endswith(",")


def test_a_place_known_only_as_finland_is_fi_in_the_nuts_codes(sample: SampleData) -> None:
    loppi = next(d for d in sample.hilma_documents if d["organisationNameFi"] == "Lopen kunta")
    assert loppi["nutsCodes"] == "FI"
    assert "Lopella" in loppi["descriptionFi"]


def test_winners_are_name_and_business_id_joined_with_double_slashes(sample: SampleData) -> None:
    framework = next(d for d in sample.hilma_documents if any("//" in lot["winnerOrganisations"] for lot in d["lots"]))
    first_lot = framework["lots"][0]
    assert first_lot["winnerOrganisations"] == (
        "Rakennuttajatoimisto Linnan Valvonta Oy (0359468-4)//Insinööritoimisto Pirkan Projektit Oy (2520545-9)"
    )
    assert framework["winnerOrganisations"].count("//") == 2
    assert first_lot["lotResultTotalAmount"] == 1_000_000.0
    assert framework["noticeResultTotalAmount"] == sum(lot["lotResultTotalAmount"] for lot in framework["lots"])
    assert framework["includesFrameworkAgreement"] is True


def test_an_award_has_no_deadline_and_stays_active_six_months(sample: SampleData) -> None:
    award = next(d for d in sample.hilma_documents if d["type"] == "E4")
    published = datetime.fromisoformat(award["datePublished"])
    expires = datetime.fromisoformat(award["expirationDate"])
    assert award["deadline"] is None
    assert (expires.month - published.month) % 12 == 6 and expires.time() == published.time()


def test_a_plan_is_a_plan_document_without_eforms_ids(sample: SampleData) -> None:
    plan = next(d for d in sample.hilma_documents if d["isPlan"])
    assert plan["id"] == f"PLAN-{plan['planId']}" and plan["planId"] > 0
    assert (plan["noticeId"], plan["isEForms"], plan["eFormsId"], plan["noticeNumber"]) == (0, False, None, "")
    assert plan["lots"] == []


def test_a_correction_lists_the_notice_it_corrects_in_every_previous_array(sample: SampleData) -> None:
    documents = by_id(sample)
    correction = next(d for d in sample.hilma_documents if d["isCorrigendum"] and d["tedPublicationId"])
    [previous_id] = correction["previousSearchIds"]
    previous = documents[previous_id]
    assert correction["previousFullEFormsId"] == [previous["fullEFormsId"]]
    assert correction["previousEFormsId"] == [previous["eFormsId"]]
    assert correction["previousNoticeNumber"] == [previous["noticeNumber"]]
    assert correction["previousContractFolderId"] == [previous["contractFolderId"]] == [correction["contractFolderId"]]
    assert correction["previousTedPublicationId"] == [previous["tedPublicationId"]]


def test_the_index_document_agrees_with_the_eforms_xml(sample: SampleData) -> None:
    for document in sample.hilma_documents:
        if not document["isEForms"]:
            continue
        root = etree.fromstring(sample.hilma_eforms[document["noticeId"]])
        ns = NAMESPACES

        def text(path: str, element: etree._Element = root) -> str | None:
            return element.findtext(path, namespaces=NAMESPACES)

        assert text("cbc:ID") == document["eFormsId"]
        assert f"{text('cbc:ID')}-{text('cbc:VersionID')}" == document["fullEFormsId"]
        assert text("cbc:ContractFolderID") == document["contractFolderId"]
        assert text(f"{EXT}/efac:NoticeSubType/cbc:SubTypeCode") == document["type"]
        title = document["titleFi"] or document["titleSv"] or document["titleEn"]
        assert title in root.xpath("cac:ProcurementProject/cbc:Name/text()", namespaces=ns)
        assert text("cac:ProcurementProject/cbc:ProcurementTypeCode") == document["procurementTypeCode"]
        cpv = root.xpath(
            ".//cac:MainCommodityClassification/cbc:ItemClassificationCode/text()"
            " | .//cac:AdditionalCommodityClassification/cbc:ItemClassificationCode/text()",
            namespaces=ns,
        )
        assert set(cpv) == set(document["cpvCodes"].split())
        buyer = text("cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID")
        [company] = root.xpath(
            f"{EXT}/efac:Organizations/efac:Organization/efac:Company[cac:PartyIdentification/cbc:ID='{buyer}']",
            namespaces=ns,
        )
        assert text("cac:PartyLegalEntity/cbc:CompanyID", company) == document["organisationNationalRegistrationNumber"]
        assert [lot["id"] for lot in document["lots"]] == root.xpath(
            "cac:ProcurementProjectLot/cbc:ID/text()", namespaces=ns
        )
        deadlines = [
            datetime.fromisoformat(
                f"{period.findtext('cbc:EndDate', namespaces=ns)[:10]}T{period.findtext('cbc:EndTime', namespaces=ns)}"
            )
            for period in root.findall(
                "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod", ns
            )
        ]
        expected = datetime.fromisoformat(document["deadline"]) if document["deadline"] else None
        assert (min(deadlines) if deadlines else None) == expected, document["id"]
