"""Render a :class:`NoticeSpec` as an eForms UBL notice (SDK 1.13), the way HILMA and TED serve it.

The stand-ins serve these documents to the spiders, and the benchmarks render tens of
thousands of them, so the builder appends elements with ``lxml.etree.SubElement``
(no templates, no re-parsing) and keeps the element order of the SDK schema: a parser
tested against this output is being tested against the real structure, including the
parts that trip parsers up (organisations referenced by ``ORG-nnnn`` ids, winners
reached through ``LotTender`` → ``TenderingParty`` → ``Tenderer``, deadlines split into
a date and a time with offsets, the HILMA national extension after the last lot).

What is written, by subtype: the root element (``ContractNotice``,
``PriorInformationNotice``, ``ContractAwardNotice``), ``efac:Changes`` for change
notices, ``efac:NoticeResult`` for results, ``efac:Publication`` only when the notice
was published on TED, ``hilma:NationalExtension`` for the national E-subtypes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from lxml import etree

from crawler.eforms import NS
from crawler.standins.specs import (
    CONTRACT_SUBTYPES,
    PLANNING_SUBTYPES,
    RESULT_SUBTYPES,
    LotAwardSpec,
    LotSpec,
    NoticeSpec,
    OrganisationSpec,
    PlaceSpec,
)

__all__ = [
    "HILMA_ESENDER",
    "MARKKINAOIKEUS",
    "NAMESPACES",
    "NoticeSpec",
    "build_eforms_xml",
    "eforms_language",
    "form_type",
    "legal_basis",
    "notice_type",
    "root_element",
]

NAMESPACES: dict[str, str] = NS  # the same URIs the parser reads; prefixes are ours
_ROOT_NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:{}-2"
_SDK_VERSION = "eforms-sdk-1.13"
_HELSINKI = ZoneInfo("Europe/Helsinki")
_BRUSSELS = ZoneInfo("Europe/Brussels")  # TED writes its publication dates in Luxembourg/Brussels time

#: ISO 639-1 (our texts) → ISO 639-2/B upper case (eForms ``languageID``).
_LANGUAGES = {"fi": "FIN", "sv": "SWE", "en": "ENG", "et": "EST", "de": "DEU", "fr": "FRA", "ru": "RUS"}

#: eSender of every notice sent through HILMA (facts from HILMA's own example notices).
HILMA_ESENDER = OrganisationSpec(
    name="Hansel Oy (Hilma)",
    business_id="FI09880841",
    street="Mannerheiminaukio 1 A",
    postcode="00100",
    town="Helsinki",
    nuts="FI1B1",
    email="tekninen@hankintailmoitukset.fi",
    phone="+358 295563630",
    website="https://www.hankintailmoitukset.fi",
)
#: The Finnish review body named in the appeal terms of Finnish notices.
MARKKINAOIKEUS = OrganisationSpec(
    name="Markkinaoikeus",
    business_id="FI30061576",
    street="Radanrakentajantie 5",
    postcode="00520",
    town="Helsinki",
    nuts="FI1B1",
    email="markkinaoikeus@oikeus.fi",
    phone="+358 295643300",
    website="https://www.oikeus.fi/markkinaoikeus",
)

# BT-02 notice type and BT-03 form type per subtype (eForms SDK notice-types).
_TYPES: dict[str, tuple[str, str]] = {
    **{s: ("pin-buyer", "planning") for s in ("1", "2", "3")},
    **{s: ("pin-only", "planning") for s in ("4", "5", "6", "E2")},
    **{s: ("pin-rtl", "planning") for s in ("7", "8", "9")},
    **{s: ("pin-cfc-standard", "competition") for s in ("10", "11")},
    **{s: ("pin-cfc-social", "competition") for s in ("12", "13", "14")},
    "15": ("qu-sy", "competition"),
    **{s: ("cn-standard", "competition") for s in ("16", "17", "18", "19", "E3")},
    **{s: ("cn-social", "competition") for s in ("20", "21")},
    "22": ("subco", "competition"),
    **{s: ("cn-desg", "competition") for s in ("23", "24")},
    **{s: ("veat", "dir-awa-pre") for s in ("25", "26", "27", "28")},
    **{s: ("can-standard", "result") for s in ("29", "30", "31", "32", "E4")},
    **{s: ("can-social", "result") for s in ("33", "34", "35")},
    **{s: ("can-desg", "result") for s in ("36", "37")},
    **{s: ("can-modif", "cont-modif") for s in ("38", "39", "40", "E6")},
    "E1": ("pmc", "consultation"),
    "E5": ("compl", "completion"),
}
# BT-01 legal basis per EU subtype; HILMA's national E-subtypes are "other".
_DIRECTIVES = {
    "32014L0024": "1 4 7 10 12 16 20 23 25 29 33 36 38",
    "32014L0025": "2 5 8 11 13 15 17 21 24 26 30 34 37 39",
    "32009L0081": "3 6 9 18 22 27 31",
    "32014L0023": "14 19 28 32 35 40",
}
_LEGAL_BASIS = {subtype: directive for directive, subtypes in _DIRECTIVES.items() for subtype in subtypes.split()}


def notice_type(subtype: str) -> str:
    """BT-02 for a subtype: ``cn-standard``, ``can-standard``, ``pin-only`` …"""
    return _TYPES[subtype][0]


def form_type(subtype: str) -> str:
    """BT-03 for a subtype: ``planning``, ``competition``, ``result`` …"""
    return _TYPES[subtype][1]


def legal_basis(spec: NoticeSpec) -> str:
    """BT-01: the spec's own, else the directive of its subtype (``other`` for national notices)."""
    if spec.legal_basis:
        return spec.legal_basis
    assert spec.subtype is not None
    return _LEGAL_BASIS.get(spec.subtype, "other")


def root_element(subtype: str) -> str:
    """The UBL document type. HILMA renders E1 (pre-market consultation) as a ContractNotice."""
    if subtype in RESULT_SUBTYPES:
        return "ContractAwardNotice"
    if subtype in CONTRACT_SUBTYPES:
        return "ContractNotice"
    return "PriorInformationNotice"


def eforms_language(language: str) -> str:
    """ISO 639-1 ``fi`` → eForms ``FIN``."""
    return _LANGUAGES.get(language, language.upper())


def build_eforms_xml(spec: NoticeSpec) -> bytes:
    """Render ``spec`` as UTF-8 eForms XML (with ``efac:Publication`` when it has a TED publication)."""
    if spec.subtype is None:
        raise ValueError("a HILMA procurement plan has no eForms XML")
    return _Builder(spec).build()


def _q(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


class _Builder:
    """One rendering: owns the organisation numbering (ORG-nnnn) of the notice."""

    def __init__(self, spec: NoticeSpec) -> None:
        assert spec.subtype is not None
        self.spec = spec
        self.subtype: str = spec.subtype
        self.language = eforms_language(spec.language)
        self.is_result = spec.subtype in RESULT_SUBTYPES
        self.is_planning = spec.subtype in PLANNING_SUBTYPES
        self.organisations: list[tuple[str, OrganisationSpec]] = []
        self._org_ids: dict[int, str] = {}

    # -- helpers ---------------------------------------------------------------------------

    def org_id(self, organisation: OrganisationSpec) -> str:
        key = id(organisation)
        if key not in self._org_ids:
            self._org_ids[key] = f"ORG-{len(self._org_ids) + 1:04d}"
            self.organisations.append((self._org_ids[key], organisation))
        return self._org_ids[key]

    @staticmethod
    def sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        prefix, name = tag.split(":")
        element = etree.SubElement(parent, _q(prefix, name), attributes or None)
        if text is not None:
            element.text = text
        return element

    def texts(self, parent: etree._Element, tag: str, texts: Mapping[str, str]) -> None:
        for language, text in texts.items():
            if text:
                self.sub(parent, tag, text, languageID=eforms_language(language))

    # -- document --------------------------------------------------------------------------

    def build(self) -> bytes:
        spec = self.spec
        root_name = root_element(self.subtype)
        nsmap: dict[str | None, str] = {None: _ROOT_NAMESPACE.format(root_name)}
        nsmap.update({prefix: uri for prefix, uri in NAMESPACES.items() if prefix != "hilma" or spec.national})
        root = etree.Element(_q_root(root_name), nsmap=nsmap)  # type: ignore[arg-type]

        # The buyer, eSender and review body are numbered first, winners after them,
        # the way notice-writing tools number them.
        self.org_id(spec.buyer)
        if spec.esender is not None:
            self.org_id(spec.esender)
        if spec.review_body is not None and not self.is_planning:
            self.org_id(spec.review_body)

        extension = self._extension_content(root)
        self.sub(root, "cbc:UBLVersionID", "2.3")
        self.sub(root, "cbc:CustomizationID", _SDK_VERSION)
        self.sub(root, "cbc:ID", spec.notice_id, schemeName="notice-id")
        self.sub(root, "cbc:ContractFolderID", spec.procedure_id)
        issued = spec.issued_at.astimezone(_HELSINKI)
        self.sub(root, "cbc:IssueDate", _date(issued))
        self.sub(root, "cbc:IssueTime", _time(issued))
        self.sub(root, "cbc:VersionID", spec.version)
        if spec.planned_date is not None and self.is_planning:
            self.sub(root, "cbc:PlannedDate", _date(spec.planned_date))
        self.sub(root, "cbc:RegulatoryDomain", legal_basis(spec))
        self.sub(root, "cbc:NoticeTypeCode", notice_type(self.subtype), listName=form_type(self.subtype))
        self.sub(root, "cbc:NoticeLanguageCode", self.language, listName="eu-official-language")
        self._contracting_party(root)
        if not self.is_planning:
            self._tendering_process(root)
        self._procurement_project(
            self.sub(root, "cac:ProcurementProject"),
            titles=spec.titles,
            descriptions=spec.descriptions,
            value=spec.estimated_value,
            cpv_main=spec.cpv_main,
            cpv_additional=spec.cpv_additional,
            places=spec.places,
        )
        for lot in spec.lots:
            self._lot(root, lot)
        if spec.national:
            self._national_extension(root)

        # Organisations are written last because the results above may add winners.
        self._organisations(extension)
        if spec.ted_publication is not None:
            publication = self.sub(extension, "efac:Publication")
            self.sub(publication, "efbc:NoticePublicationID", spec.ted_publication.padded, schemeName="ojs-notice-id")
            self.sub(publication, "efbc:GazetteID", spec.ted_publication.gazette, schemeName="ojs-id")
            self.sub(publication, "efbc:PublicationDate", _date(spec.ted_publication.date, _BRUSSELS))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def _extension_content(self, root: etree._Element) -> etree._Element:
        extension = self.sub(
            self.sub(self.sub(self.sub(root, "ext:UBLExtensions"), "ext:UBLExtension"), "ext:ExtensionContent"),
            "efext:EformsExtension",
        )
        if self.spec.change is not None:
            self._changes(extension)
        if self.is_result:
            self._notice_result(extension)
        self.sub(self.sub(extension, "efac:NoticeSubType"), "cbc:SubTypeCode", self.subtype, listName="notice-subtype")
        return extension

    def _changes(self, extension: etree._Element) -> None:
        change = self.spec.change
        assert change is not None
        changes = self.sub(extension, "efac:Changes")
        self.sub(changes, "efbc:ChangedNoticeIdentifier", change.changed_notice)
        for section in change.sections:
            element = self.sub(changes, "efac:Change")
            self.texts(element, "efbc:ChangeDescription", change.descriptions)
            self.sub(self.sub(element, "efac:ChangedSection"), "efbc:ChangedSectionIdentifier", section)
        reason = self.sub(changes, "efac:ChangeReason")
        self.sub(reason, "cbc:ReasonCode", change.reason, listName="change-corrig-justification")

    def _notice_result(self, extension: etree._Element) -> None:
        """LotResults, then LotTenders, SettledContracts and TenderingParties, linked by ids."""
        spec = self.spec
        result = self.sub(extension, "efac:NoticeResult")
        if spec.awarded_value is not None:
            self.sub(result, "cbc:TotalAmount", _amount(spec.awarded_value), currencyID=spec.currency)
        # Every winning tender gets its own tender, contract and tendering-party id.
        numbered: list[tuple[LotAwardSpec, list[tuple[str, str, str]]]] = []
        counter = 0
        for award in spec.awards:
            ids = []
            for _ in award.winners:
                counter += 1
                ids.append((f"TEN-{counter:04d}", f"CON-{counter:04d}", f"TPA-{counter:04d}"))
            numbered.append((award, ids))

        for index, (award, ids) in enumerate(numbered, start=1):
            lot_result = self.sub(result, "efac:LotResult")
            self.sub(lot_result, "cbc:ID", f"RES-{index:04d}", schemeName="result")
            self.sub(lot_result, "cbc:TenderResultCode", award.result, listName="winner-selection-status")
            for tender_id, _, _ in ids:
                self.sub(self.sub(lot_result, "efac:LotTender"), "cbc:ID", tender_id, schemeName="tender")
            if award.tenders_received is not None:
                statistics = self.sub(lot_result, "efac:ReceivedSubmissionsStatistics")
                self.sub(statistics, "efbc:StatisticsCode", "tenders", listName="received-submission-type")
                self.sub(statistics, "efbc:StatisticsNumeric", str(award.tenders_received))
            for _, contract_id, _ in ids:
                self.sub(self.sub(lot_result, "efac:SettledContract"), "cbc:ID", contract_id, schemeName="contract")
            self.sub(self.sub(lot_result, "efac:TenderLot"), "cbc:ID", award.lot_id, schemeName="Lot")

        for award, ids in numbered:
            for tender, (tender_id, _, party_id) in zip(award.winners, ids, strict=True):
                lot_tender = self.sub(result, "efac:LotTender")
                self.sub(lot_tender, "cbc:ID", tender_id, schemeName="tender")
                if tender.value is not None:
                    total = self.sub(lot_tender, "cac:LegalMonetaryTotal")
                    self.sub(total, "cbc:PayableAmount", _amount(tender.value), currencyID=spec.currency)
                self.sub(self.sub(lot_tender, "efac:TenderingParty"), "cbc:ID", party_id, schemeName="tendering-party")
                self.sub(self.sub(lot_tender, "efac:TenderLot"), "cbc:ID", award.lot_id, schemeName="Lot")

        for award, ids in numbered:
            for tender, (tender_id, contract_id, _) in zip(award.winners, ids, strict=True):
                contract = self.sub(result, "efac:SettledContract")
                self.sub(contract, "cbc:ID", contract_id, schemeName="contract")
                if tender.contract_date is not None:
                    self.sub(contract, "cbc:IssueDate", _date(tender.contract_date))
                if spec.hilma is not None:
                    reference = self.sub(contract, "efac:ContractReference")
                    self.sub(reference, "cbc:ID", f"{spec.hilma.notice_number} ({contract_id})")
                self.sub(self.sub(contract, "efac:LotTender"), "cbc:ID", tender_id, schemeName="tender")

        for award, ids in numbered:
            for tender, (_, _, party_id) in zip(award.winners, ids, strict=True):
                party = self.sub(result, "efac:TenderingParty")
                self.sub(party, "cbc:ID", party_id, schemeName="tendering-party")
                tenderer = self.sub(party, "efac:Tenderer")
                self.sub(tenderer, "cbc:ID", self.org_id(tender.winner), schemeName="organization")

    def _organisations(self, extension: etree._Element) -> None:
        organisations = self.sub(extension, "efac:Organizations")
        for org_id, organisation in self.organisations:
            wrapper = self.sub(organisations, "efac:Organization")
            if organisation is self.spec.buyer:
                self.sub(wrapper, "efbc:AcquiringCPBIndicator", "false")
            company = self.sub(wrapper, "efac:Company")
            if organisation.website:
                self.sub(company, "cbc:WebsiteURI", organisation.website)
            if organisation.size:
                self.sub(company, "efbc:CompanySizeCode", organisation.size, listName="economic-operator-size")
            self.sub(self.sub(company, "cac:PartyIdentification"), "cbc:ID", org_id, schemeName="organization")
            name = self.sub(company, "cac:PartyName")
            self.sub(name, "cbc:Name", organisation.name, languageID=eforms_language(organisation.language))
            address = self.sub(company, "cac:PostalAddress")
            self._address(address, organisation.street, organisation.town, organisation.postcode, organisation.nuts)
            self.sub(
                self.sub(address, "cac:Country"), "cbc:IdentificationCode", organisation.country, listName="country"
            )
            if organisation.business_id:
                self.sub(self.sub(company, "cac:PartyLegalEntity"), "cbc:CompanyID", organisation.business_id)
            if organisation.phone or organisation.email:
                contact = self.sub(company, "cac:Contact")
                if organisation.phone:
                    self.sub(contact, "cbc:Telephone", organisation.phone)
                if organisation.email:
                    self.sub(contact, "cbc:ElectronicMail", organisation.email)

    def _address(
        self, address: etree._Element, street: str | None, town: str | None, postcode: str | None, nuts: str | None
    ) -> None:
        if street:
            self.sub(address, "cbc:StreetName", street)
        if town:
            self.sub(address, "cbc:CityName", town)
        if postcode:
            self.sub(address, "cbc:PostalZone", postcode)
        if nuts:
            self.sub(address, "cbc:CountrySubentityCode", nuts, listName="nuts-lvl3")

    def _contracting_party(self, root: etree._Element) -> None:
        spec = self.spec
        party = self.sub(root, "cac:ContractingParty")
        if spec.buyer.legal_type:
            kind = self.sub(party, "cac:ContractingPartyType")
            self.sub(kind, "cbc:PartyTypeCode", spec.buyer.legal_type, listName="buyer-legal-type")
        if spec.buyer.activity:
            activity = self.sub(party, "cac:ContractingActivity")
            # Utilities (the sectoral directive) describe their activity with another code list.
            activities = "entity-activity" if legal_basis(spec) == "32014L0025" else "authority-activity"
            self.sub(activity, "cbc:ActivityTypeCode", spec.buyer.activity, listName=activities)
        inner = self.sub(party, "cac:Party")
        self.sub(
            self.sub(inner, "cac:PartyIdentification"), "cbc:ID", self.org_id(spec.buyer), schemeName="organization"
        )
        if spec.esender is not None:
            provider = self.sub(inner, "cac:ServiceProviderParty")
            self.sub(provider, "cbc:ServiceTypeCode", "ted-esen", listName="organisation-role")
            provider_party = self.sub(self.sub(provider, "cac:Party"), "cac:PartyIdentification")
            self.sub(provider_party, "cbc:ID", self.org_id(spec.esender), schemeName="organization")

    def _tendering_process(self, root: etree._Element) -> None:
        spec = self.spec
        process = self.sub(root, "cac:TenderingProcess")
        if spec.procedure_type:
            self.sub(process, "cbc:ProcedureCode", spec.procedure_type, listName="procurement-procedure-type")
        if spec.previous_notice:
            self.sub(self.sub(process, "cac:NoticeDocumentReference"), "cbc:ID", spec.previous_notice)

    def _procurement_project(
        self,
        project: etree._Element,
        *,
        titles: Mapping[str, str],
        descriptions: Mapping[str, str],
        value: Decimal | None,
        cpv_main: str,
        cpv_additional: tuple[str, ...],
        places: tuple[PlaceSpec, ...],
        internal_id: str | None = None,
        duration_months: int | None = None,
    ) -> None:
        """What is bought, at procedure level (BT-…-Procedure) or lot level (BT-…-Lot)."""
        spec = self.spec
        if internal_id:
            self.sub(project, "cbc:ID", internal_id, schemeName="InternalID")
        self.texts(project, "cbc:Name", titles)
        self.texts(project, "cbc:Description", descriptions)
        self.sub(project, "cbc:ProcurementTypeCode", spec.contract_nature, listName="contract-nature")
        if value is not None:
            total = self.sub(project, "cac:RequestedTenderTotal")
            self.sub(total, "cbc:EstimatedOverallContractAmount", _amount(value), currencyID=spec.currency)
        main = self.sub(project, "cac:MainCommodityClassification")
        self.sub(main, "cbc:ItemClassificationCode", cpv_main, listName="cpv")
        for code in cpv_additional:
            additional = self.sub(project, "cac:AdditionalCommodityClassification")
            self.sub(additional, "cbc:ItemClassificationCode", code, listName="cpv")
        for place in places:
            self._place(project, place)
        if duration_months:
            period = self.sub(project, "cac:PlannedPeriod")
            self.sub(period, "cbc:DurationMeasure", str(duration_months), unitCode="MONTH")

    def _place(self, project: etree._Element, place: PlaceSpec) -> None:
        location = self.sub(project, "cac:RealizedLocation")
        if place.description:
            self.sub(location, "cbc:Description", place.description, languageID=self.language)
        address = self.sub(location, "cac:Address")
        self._address(address, place.street, place.town, place.postcode, place.nuts)
        if place.country:
            self.sub(self.sub(address, "cac:Country"), "cbc:IdentificationCode", place.country, listName="country")

    def _lot(self, root: etree._Element, lot: LotSpec) -> None:
        spec = self.spec
        element = self.sub(root, "cac:ProcurementProjectLot")
        self.sub(element, "cbc:ID", lot.id, schemeName="Part" if lot.id.startswith("PAR-") else "Lot")
        if lot.documents_url or not self.is_planning:
            self._lot_tendering_terms(element, lot)
        if not self.is_planning:
            process = self.sub(element, "cac:TenderingProcess")
            if not self.is_result:
                self.sub(process, "cbc:SubmissionMethodCode", "required", listName="esubmission")
            if lot.deadline is not None and not self.is_result:
                local = lot.deadline.astimezone(_HELSINKI)
                period = self.sub(process, "cac:TenderSubmissionDeadlinePeriod")
                self.sub(period, "cbc:EndDate", _date(local))
                self.sub(period, "cbc:EndTime", _time(local))
            framework = "fa-wo-rc" if lot.framework_agreement else "none"
            system = self.sub(process, "cac:ContractingSystem")
            self.sub(system, "cbc:ContractingSystemTypeCode", framework, listName="framework-agreement")
            dps = "dps-nlist" if lot.dynamic_purchasing_system else "none"
            self.sub(
                self.sub(process, "cac:ContractingSystem"), "cbc:ContractingSystemTypeCode", dps, listName="dps-usage"
            )
        internal_id = None
        if spec.hilma is not None and not self.is_planning:
            internal_id = f"{spec.hilma.notice_number}-{lot.id}"
        self._procurement_project(
            self.sub(element, "cac:ProcurementProject"),
            titles=lot.titles,
            descriptions=lot.descriptions,
            value=lot.estimated_value,
            cpv_main=lot.cpv_main,
            cpv_additional=lot.cpv_additional,
            places=lot.places,
            internal_id=internal_id,
            duration_months=lot.duration_months,
        )

    def _lot_tendering_terms(self, element: etree._Element, lot: LotSpec) -> None:
        """Funding, documents, where to send tenders, where to appeal, in the schema's order."""
        competition = not self.is_planning and not self.is_result
        terms = self.sub(element, "cac:TenderingTerms")
        if not self.is_planning:
            self.sub(terms, "cbc:FundingProgramCode", "no-eu-funds", listName="eu-funded")
        if lot.documents_url and not self.is_result:
            reference = self.sub(terms, "cac:CallForTendersDocumentReference")
            self.sub(reference, "cbc:ID", "CFTDR_1")
            self.sub(reference, "cbc:DocumentType", "non-restricted-document")
            attachment = self.sub(self.sub(reference, "cac:Attachment"), "cac:ExternalReference")
            self.sub(attachment, "cbc:URI", lot.documents_url)
        if lot.documents_url and competition:
            self.sub(self.sub(terms, "cac:TenderRecipientParty"), "cbc:EndpointID", lot.documents_url)
        if self.spec.review_body is not None and not self.is_planning:
            receiver = self.sub(self.sub(terms, "cac:AppealTerms"), "cac:AppealReceiverParty")
            identification = self.sub(receiver, "cac:PartyIdentification")
            self.sub(identification, "cbc:ID", self.org_id(self.spec.review_body), schemeName="organization")
        if competition:
            self.sub(self.sub(terms, "cac:Language"), "cbc:ID", self.language, listName="language")

    def _national_extension(self, root: etree._Element) -> None:
        extension = self.sub(self.sub(root, "hilma:NationalExtension"), "hilma:ProcurementProject")
        self.sub(
            extension,
            "hilma:ApplicableLegislationCode",
            "procurement-legislation",
            listName="applicable-legislation-national",
        )
        self.sub(extension, "hilma:PredictedValueConstraintIndicator", "true")
        self.sub(extension, "hilma:IsEUApplicableConstraintIndicator", "false")


def _q_root(root_name: str) -> str:
    return f"{{{_ROOT_NAMESPACE.format(root_name)}}}{root_name}"


def _date(value: date | datetime, zone: ZoneInfo = _HELSINKI) -> str:
    """eForms dates carry the offset: ``2026-05-26+03:00`` (a bare date is taken in ``zone``)."""
    if isinstance(value, datetime):
        return value.date().isoformat() + _offset(value)
    noon = datetime(value.year, value.month, value.day, 12, tzinfo=zone)
    return value.isoformat() + _offset(noon)


def _time(value: datetime) -> str:
    return value.strftime("%H:%M:%S") + _offset(value)


def _offset(value: datetime) -> str:
    text = value.strftime("%z")
    return "Z" if text in ("+0000", "") else f"{text[:3]}:{text[3:]}"


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
