"""The one eForms parser: an eForms UBL notice (bytes) becomes a :class:`NoticeItem`.

Every source that carries eForms XML (HILMA's read API, TED's notice XML, a file on
disk) goes through :func:`parse_eforms`, so a notice reads the same wherever it was
collected and a stored payload can be parsed again when this module improves.

The parser is pure: bytes in, item out, no database, no network. It is deliberately
tolerant, because real notices differ from the SDK's examples (see
``shared/reference/eforms/FORMATS.md`` §3):

* elements are matched by namespace URI, never by prefix (TED serves
  ``<urn:ContractNotice xmlns:urn=…>``);
* ``listName``/``schemeName`` attributes are optional except where the field is
  only defined by them (BT-11 buyer legal type, BT-765 framework agreement);
* SDK 1.3 … 1.13+ and the legacy ``corr``/``change`` notice type are understood;
* a value that is missing or unreadable (a date like ``2023-02-30``, an amount
  like ``n/a``) becomes ``None`` instead of failing the whole notice: one bad
  field must not hide a tender from the people who would bid on it.

Only a payload that cannot be a notice at all raises
:class:`~config.errors.PayloadError`: XML that is not well-formed, carries a
DOCTYPE (eForms never does; refusing it closes the entity-expansion attacks that
``resolve_entities=False`` alone leaves open at XPath time), or whose root is not
a prior information, contract or contract award notice.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation

from lxml import etree

from config.errors import PayloadError
from crawler.codes import (
    CANCEL_REASONS,
    END_OF_DAY,
    combine_date_time,
    kind_for,
    language_code,
    normalise_business_id,
    normalise_publication_number,
    read_date,
)
from crawler.items import Award, Lot, NoticeItem, Organisation, Place, cleaned, pick_language

#: Namespace URIs with our own prefixes; documents may use any prefixes they like.
NS: dict[str, str] = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    "hilma": "urn:hanselHilma:NationalNoticeExtension",
}

_UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
#: The three root elements that are procurement notices, and the kind each implies
#: when nothing more specific (subtype, notice type, form type) is given.
_ROOT_KINDS: dict[str, str] = {
    f"{{{_UBL}PriorInformationNotice-2}}PriorInformationNotice": "prior_information",
    f"{{{_UBL}ContractNotice-2}}ContractNotice": "contract_notice",
    f"{{{_UBL}ContractAwardNotice-2}}ContractAwardNotice": "award",
}

_NATIONAL_SUBTYPES = frozenset({"E1", "E2", "E3", "E4", "E5", "E6"})

_EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"
_LOT_SCHEMES = frozenset({"Lot", "Part"})

# re.ASCII: in Python ``\d`` also matches other scripts' digits, which int() would accept.
_AMOUNT = re.compile(r"[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})", re.ASCII)
_COUNT = re.compile(r"\+?\d{1,9}", re.ASCII)



def parse_eforms(data: bytes, *, source: str | None = None, source_id: str | None = None) -> NoticeItem:
    """Read one eForms notice.

    ``source``/``source_id`` are the caller's identity for the notice (HILMA passes
    ``"hilma"`` and its index id). Left out, a notice that TED has published is
    ``("ted", "525037-2024")`` and any other ``("eforms", "<BT-701>-<BT-757>")``, so
    the same TED notice collected twice gets the same identity.
    """
    root = _read_root(data)
    notice = _Notice(root)
    item = notice.item()
    item.source = source or notice.default_source()
    item.source_id = source_id or notice.default_source_id()
    item.payloads = {"eforms": bytes(data)}
    return cleaned(item)


# --- reading the document ------------------------------------------------------------------------------------------


def _read_root(data: bytes) -> etree._Element:
    """Parse safely and check that the root is a procurement notice."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise PayloadError(f"not an eForms notice: expected bytes, got {type(data).__name__}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError, LookupError) as error:
        raise PayloadError(f"not well-formed XML: {error}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise PayloadError("not an eForms notice: it has a DOCTYPE, which eForms never uses")
    if root.tag not in _ROOT_KINDS:
        raise PayloadError(f"not an eForms notice: root element {root.tag}")
    return root


@functools.cache
def _xpath(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS, smart_strings=False)


_STRING_VALUE = etree.XPath("string()", smart_strings=False)


def _nodes(context: etree._Element | None, path: str) -> list[etree._Element]:
    if context is None:
        return []
    return [node for node in _xpath(path)(context) if isinstance(node, etree._Element)]


def _node(context: etree._Element | None, path: str) -> etree._Element | None:
    nodes = _nodes(context, path)
    return nodes[0] if nodes else None


def _values(context: etree._Element | None, path: str) -> list[str]:
    """Non-empty stripped string values (text of elements, or attribute values) in document order."""
    if context is None:
        return []
    values = []
    for node in _xpath(path)(context):
        text = _STRING_VALUE(node) if isinstance(node, etree._Element) else str(node)
        text = text.strip()
        if text:
            values.append(text)
    return values


def _value(context: etree._Element | None, path: str) -> str | None:
    values = _values(context, path)
    return values[0] if values else None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- value conversions: each returns None for what it cannot read --------------------------------------------------


def _amount(text: str | None) -> Decimal | None:
    """An ``xs:decimal`` amount; exponents, NaN and absurdly long numbers are not money."""
    if text is None or _AMOUNT.fullmatch(text) is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _count(text: str | None) -> int | None:
    return int(text) if text is not None and _COUNT.fullmatch(text) else None


# --- the notice ----------------------------------------------------------------------------------------------------


@dataclass
class _LotReading:
    """A lot as read, with both deadlines kept apart until the notice picks one."""

    lot: Lot
    tender_deadline: datetime | None
    participation_deadline: datetime | None
    documents: list[tuple[bool, str]] = field(default_factory=list)  # (non-restricted?, URI)


class _Notice:
    """One parsed document and what every part of it needs: language, organisations."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.ext = _node(root, _EXT)
        self.language = language_code(_value(root, "cbc:NoticeLanguageCode"))
        self.companies: dict[str, etree._Element] = {}
        for company in _nodes(self.ext, "efac:Organizations/efac:Organization/efac:Company"):
            company_id = _value(company, "cac:PartyIdentification/cbc:ID")
            if company_id:
                self.companies.setdefault(company_id, company)
        self.publication_number = normalise_publication_number(
            _value(
                self.ext,
                "efac:Publication/efbc:NoticePublicationID[@schemeName='ojs-notice-id' or not(@schemeName)]",
            )
        )

    # identity

    def default_source(self) -> str:
        return "ted" if self.publication_number else "eforms"

    def default_source_id(self) -> str:
        if self.publication_number:
            return self.publication_number
        notice_id = _value(self.root, "cbc:ID[@schemeName='notice-id']") or _value(self.root, "cbc:ID")
        if not notice_id:
            raise PayloadError("not an eForms notice: it has neither a notice id (BT-701) nor a publication number")
        return f"{notice_id}-{_value(self.root, 'cbc:VersionID') or '01'}"

    # the item

    def item(self) -> NoticeItem:
        root, ext = self.root, self.ext
        subtype = _value(ext, "efac:NoticeSubType/cbc:SubTypeCode")
        notice_type = _value(root, "cbc:NoticeTypeCode")
        form_type = _value(root, "cbc:NoticeTypeCode/@listName")
        legal_basis = _value(root, "cbc:RegulatoryDomain")
        project = _node(root, "cac:ProcurementProject")
        readings = [self._lot(lot) for lot in self._lot_elements()]
        lots = [reading.lot for reading in readings]
        titles = self._texts(project, "cbc:Name") or (lots[0].titles.copy() if lots else {})
        descriptions = self._texts(project, "cbc:Description") or (lots[0].descriptions.copy() if lots else {})
        cpv_main = _value(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode")
        estimated_value, currency = self._estimated_value(project, lots)
        awarded_value, awarded_currency = self._money(
            _node(ext, "efac:NoticeResult/cbc:TotalAmount"),
        )
        return NoticeItem(
            source="",
            source_id="",
            url=f"https://ted.europa.eu/fi/notice/-/detail/{self.publication_number}"
            if self.publication_number
            else None,
            published_at=self._published_at(),
            notice_id=_value(root, "cbc:ID[@schemeName='notice-id']") or _value(root, "cbc:ID"),
            notice_version=_value(root, "cbc:VersionID"),
            procedure_id=_value(root, "cbc:ContractFolderID"),
            publication_number=self.publication_number,
            changed_notice=normalise_publication_number(
                _value(ext, "efac:Changes/efbc:ChangedNoticeIdentifier")
                or _value(ext, "efac:ContractModification/efbc:ChangedNoticeIdentifier")
            ),
            previous_notices=_unique(
                normalise_publication_number(reference) or reference
                for reference in _values(root, "cac:TenderingProcess/cac:NoticeDocumentReference/cbc:ID")
                + _values(root, "cac:ProcurementProjectLot/cac:TenderingProcess/cac:NoticeDocumentReference/cbc:ID")
            ),
            change_reason=_value(ext, "efac:Changes/efac:ChangeReason/cbc:ReasonCode"),
            kind=self._kind(subtype, notice_type, form_type),
            notice_type=notice_type,
            form_type=form_type,
            subtype=subtype,
            legal_basis=legal_basis,
            national=self._national(subtype, legal_basis),
            language=self.language,
            titles=titles,
            descriptions=descriptions,
            cpv_main=cpv_main,
            cpv_additional=_additional_cpv(project, cpv_main),
            contract_nature=_value(project, "cbc:ProcurementTypeCode"),
            procedure_type=_value(root, "cac:TenderingProcess/cbc:ProcedureCode"),
            estimated_value=estimated_value,
            currency=currency,
            deadline=self._deadline(readings),
            framework_agreement=self._any_framework_agreement(lots),
            documents_url=self._documents_url(readings),
            planned_date=_iso_date(_value(self.root, "cbc:PlannedDate")),
            buyers=self._buyers(),
            places=self._all_places(project, lots),
            lots=lots,
            awards=self._awards(),
            awarded_value=awarded_value,
            awarded_currency=awarded_currency,
        )

    # kind and flags

    def _kind(self, subtype: str | None, notice_type: str | None, form_type: str | None) -> str:
        kind = (
            kind_for(subtype, notice_type, form_type)
            or _ROOT_KINDS[self.root.tag]
        )
        is_change = _node(self.ext, "efac:Changes") is not None or notice_type == "corr" or form_type == "change"
        if not is_change:
            return kind
        reasons = set(_values(self.ext, "efac:Changes/efac:ChangeReason/cbc:ReasonCode"))
        return "cancellation" if reasons & CANCEL_REASONS else "correction"

    def _national(self, subtype: str | None, legal_basis: str | None) -> bool:
        """Below EU thresholds: HILMA's E-subtypes, RegulatoryDomain ``other``, or HILMA's own flag."""
        if subtype in _NATIONAL_SUBTYPES or legal_basis == "other":
            return True
        eu_applicable = _values(self.root, "hilma:NationalExtension//hilma:IsEUApplicableConstraintIndicator")
        return bool(eu_applicable) and eu_applicable[0].lower() == "false"

    # dates

    def _published_at(self) -> datetime | None:
        """OPP-012 (TED's publication date, at midnight) or else the dispatch date and time (BT-05)."""
        published_on = _value(self.ext, "efac:Publication/efbc:PublicationDate")
        published = combine_date_time(published_on, None, time_missing=time(0))
        if published is not None:
            return published
        issued_on, issued_at = _value(self.root, "cbc:IssueDate"), _value(self.root, "cbc:IssueTime")
        return combine_date_time(issued_on, issued_at, time_missing=time(0))

    @staticmethod
    def _deadline(readings: list[_LotReading]) -> datetime | None:
        """The earliest tender deadline (BT-131) over the lots, or else the earliest BT-1311."""
        tender = [reading.tender_deadline for reading in readings if reading.tender_deadline is not None]
        if tender:
            return min(tender)
        participation = [r.participation_deadline for r in readings if r.participation_deadline is not None]
        return min(participation) if participation else None

    # texts

    def _texts(self, context: etree._Element | None, path: str) -> dict[str, str]:
        """One text per language (ISO 639-1), the first one given; no ``languageID`` means the notice language."""
        texts: dict[str, str] = {}
        for node in _nodes(context, path):
            text = _STRING_VALUE(node).strip()
            language = language_code(node.get("languageID")) or self.language or "und"
            if text and language not in texts:
                texts[language] = text
        return texts

    # money

    @staticmethod
    def _money(node: etree._Element | None) -> tuple[Decimal | None, str | None]:
        if node is None:
            return None, None
        value = _amount(_STRING_VALUE(node).strip())
        currency = (node.get("currencyID") or "").strip() or None
        return value, currency if value is not None else None

    def _estimated_value(self, project: etree._Element | None, lots: list[Lot]) -> tuple[Decimal | None, str | None]:
        """BT-27 of the procedure; without it the lots' sum, if every lot has a value in one currency."""
        value, currency = self._money(_node(project, "cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount"))
        if value is not None:
            return value, currency
        if not lots or any(lot.estimated_value is None for lot in lots):
            return None, None
        currencies = {lot.currency for lot in lots}
        if len(currencies) != 1:
            return None, None
        values = [lot.estimated_value for lot in lots if lot.estimated_value is not None]
        return sum(values, Decimal(0)), currencies.pop()

    # lots

    def _lot_elements(self) -> Iterator[etree._Element]:
        """Lots and parts; lots groups (GLO-) are not lots. A missing schemeName is judged by the id."""
        for lot in _nodes(self.root, "cac:ProcurementProjectLot"):
            scheme = _value(lot, "cbc:ID/@schemeName")
            lot_id = _value(lot, "cbc:ID") or ""
            if scheme in _LOT_SCHEMES or (scheme is None and not lot_id.startswith("GLO-")):
                yield lot

    def _lot(self, element: etree._Element) -> _LotReading:
        project = _node(element, "cac:ProcurementProject")
        process = _node(element, "cac:TenderingProcess")
        value, currency = self._money(_node(project, "cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount"))
        cpv_main = _value(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode")
        tender_deadline = self._period_end(process, "cac:TenderSubmissionDeadlinePeriod")
        participation_deadline = self._period_end(process, "cac:ParticipationRequestReceptionPeriod")
        documents = [
            (
                _value(reference, "cbc:DocumentType") == "non-restricted-document",
                uri,
            )
            for reference in _nodes(element, "cac:TenderingTerms/cac:CallForTendersDocumentReference")
            if (uri := _value(reference, "cac:Attachment/cac:ExternalReference/cbc:URI"))
        ]
        lot = Lot(
            id=_value(element, "cbc:ID") or "",
            titles=self._texts(project, "cbc:Name"),
            descriptions=self._texts(project, "cbc:Description"),
            cpv_main=cpv_main,
            cpv_additional=_additional_cpv(project, cpv_main),
            places=self._places(project),
            estimated_value=value,
            currency=currency,
            deadline=tender_deadline or participation_deadline,
            framework_agreement=_framework_agreement(process),
            documents_url=_preferred_document(documents),
            duration=_duration(project),
            contract_start=_iso_date(_value(project, "cac:PlannedPeriod/cbc:StartDate")),
            contract_end=_iso_date(_value(project, "cac:PlannedPeriod/cbc:EndDate")),
        )
        return _LotReading(lot, tender_deadline, participation_deadline, documents)

    @staticmethod
    def _period_end(process: etree._Element | None, period: str) -> datetime | None:
        return combine_date_time(
            _value(process, f"{period}/cbc:EndDate"), _value(process, f"{period}/cbc:EndTime"), time_missing=END_OF_DAY
        )

    @staticmethod
    def _any_framework_agreement(lots: list[Lot]) -> bool | None:
        flags = [lot.framework_agreement for lot in lots if lot.framework_agreement is not None]
        if any(flags):
            return True
        return False if flags else None

    @staticmethod
    def _documents_url(readings: list[_LotReading]) -> str | None:
        return _preferred_document([document for reading in readings for document in reading.documents])

    # places

    def _places(self, project: etree._Element | None) -> list[Place]:
        places: list[Place] = []
        for location in _nodes(project, "cac:RealizedLocation"):
            place = Place(
                nuts=_value(location, "cac:Address/cbc:CountrySubentityCode"),
                town=_value(location, "cac:Address/cbc:CityName"),
                postcode=_value(location, "cac:Address/cbc:PostalZone"),
                street=_value(location, "cac:Address/cbc:StreetName"),
                country=_value(location, "cac:Address/cac:Country/cbc:IdentificationCode"),
                region=_value(location, "cac:Address/cbc:Region"),
                description=pick_language(self._texts(location, "cbc:Description")),
            )
            if not place.is_empty() and place not in places:
                places.append(place)
        return places

    def _all_places(self, project: etree._Element | None, lots: list[Lot]) -> list[Place]:
        places = self._places(project)
        for lot in lots:
            places += [place for place in lot.places if place not in places]
        return places

    # organisations

    def _organisation(self, company: etree._Element) -> Organisation:
        names = self._texts(company, "cac:PartyName/cbc:Name")
        country = _value(company, "cac:PostalAddress/cac:Country/cbc:IdentificationCode")
        return Organisation(
            name=pick_language(names),
            names=names,
            business_id=normalise_business_id(_value(company, "cac:PartyLegalEntity/cbc:CompanyID"), country),
            street=_value(company, "cac:PostalAddress/cbc:StreetName"),
            postcode=_value(company, "cac:PostalAddress/cbc:PostalZone"),
            town=_value(company, "cac:PostalAddress/cbc:CityName"),
            country=country,
            nuts=_value(company, "cac:PostalAddress/cbc:CountrySubentityCode"),
            size=_value(company, "efbc:CompanySizeCode"),
            email=_value(company, "cac:Contact/cbc:ElectronicMail"),
            website=_value(company, "cbc:WebsiteURI"),
        )

    def _buyers(self) -> list[Organisation]:
        """Every contracting party's own organisation; the eSender (ServiceProviderParty) is not a buyer."""
        buyers: list[Organisation] = []
        for party in _nodes(self.root, "cac:ContractingParty"):
            company = self.companies.get(_value(party, "cac:Party/cac:PartyIdentification/cbc:ID") or "")
            legal_type = _buyer_legal_type(party)
            if company is None and legal_type is None:
                continue
            buyer = self._organisation(company) if company is not None else Organisation()
            buyer.legal_type = legal_type
            buyers.append(buyer)
        return buyers

    # awards

    def _awards(self) -> list[Award]:
        """One award per (lot, winning organisation), following FORMATS.md §2.6 "Winners".

        A consortium's tender gives one award per member; each carries the tender's
        value, so summing awards counts a consortium's tender once per member (the
        notice total is ``awarded_value``). A lot result without a winner gives one
        award with ``winner`` None and the result code.
        """
        result = _node(self.ext, "efac:NoticeResult")
        if result is None:
            return []
        tenders = _by_id(_nodes(result, "efac:LotTender"))
        parties = _by_id(_nodes(result, "efac:TenderingParty"))
        contracts = _nodes(result, "efac:SettledContract")
        contract_dates = {
            _value(contract, "cbc:ID") or "": _iso_date(_value(contract, "cbc:IssueDate")) for contract in contracts
        }
        tender_contract_dates: dict[str, str | None] = {}
        for contract in contracts:
            for tender_id in _values(contract, "efac:LotTender/cbc:ID"):
                tender_contract_dates.setdefault(tender_id, _iso_date(_value(contract, "cbc:IssueDate")))

        awards: list[Award] = []
        for lot_result in _nodes(result, "efac:LotResult"):
            lot_id = _value(lot_result, "efac:TenderLot/cbc:ID")
            code = _value(lot_result, "cbc:TenderResultCode")
            received = _count(
                _value(
                    lot_result,
                    "efac:ReceivedSubmissionsStatistics[normalize-space(efbc:StatisticsCode)='tenders']"
                    "/efbc:StatisticsNumeric",
                )
            )
            result_dates = [
                contract_dates.get(contract_id) for contract_id in _values(lot_result, "efac:SettledContract/cbc:ID")
            ]
            fallback_date = next((found for found in result_dates if found), None)
            winners: dict[str, Award] = {}
            # A result without a code (modification notices) still names the contract's tender.
            tender_ids = _values(lot_result, "efac:LotTender/cbc:ID") if code in (None, "selec-w") else []
            for tender_id in tender_ids:
                tender = tenders.get(tender_id)
                value, currency = self._money(_node(tender, "cac:LegalMonetaryTotal/cbc:PayableAmount"))
                party = parties.get(_value(tender, "efac:TenderingParty/cbc:ID") or "")
                for organisation_id in _values(party, "efac:Tenderer/cbc:ID"):
                    company = self.companies.get(organisation_id)
                    if company is None or organisation_id in winners:
                        continue
                    winners[organisation_id] = Award(
                        lot_id=lot_id,
                        result=code,
                        winner=self._organisation(company),
                        value=value,
                        currency=currency,
                        tenders_received=received,
                        contract_date=tender_contract_dates.get(tender_id) or fallback_date,
                    )
            awards += winners.values() or [Award(lot_id=lot_id, result=code, tenders_received=received)]
        return awards


def _buyer_legal_type(party: etree._Element) -> str | None:
    """BT-11; a PartyTypeCode without listName counts only when it is the only one."""
    typed = _value(party, "cac:ContractingPartyType/cbc:PartyTypeCode[@listName='buyer-legal-type']")
    if typed:
        return typed
    codes = _nodes(party, "cac:ContractingPartyType/cbc:PartyTypeCode")
    if len(codes) == 1 and codes[0].get("listName") is None:
        return _STRING_VALUE(codes[0]).strip() or None
    return None


def _framework_agreement(process: etree._Element | None) -> bool | None:
    """BT-765: ``none`` says no, any ``fa-…`` yes; a code without listName counts if it is an ``fa-`` code."""
    codes = _nodes(process, "cac:ContractingSystem/cbc:ContractingSystemTypeCode")
    said: list[bool] = []
    for node in codes:
        code = _STRING_VALUE(node).strip()
        list_name = node.get("listName")
        if list_name == "framework-agreement" or (list_name is None and code.startswith("fa-")):
            said.append(code != "none")
    if any(said):
        return True
    return False if said else None


def _preferred_document(documents: list[tuple[bool, str]]) -> str | None:
    """BT-15: the first public (non-restricted) documents link, else the first link of any kind."""
    for public, uri in documents:
        if public:
            return uri
    return documents[0][1] if documents else None


def _additional_cpv(project: etree._Element | None, cpv_main: str | None) -> list[str]:
    """BT-263 without repeats and without the main code, which some notices list again."""
    codes = _values(project, "cac:AdditionalCommodityClassification/cbc:ItemClassificationCode")
    return [code for code in _unique(codes) if code != cpv_main]


def _by_id(nodes: list[etree._Element]) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for node in nodes:
        node_id = _value(node, "cbc:ID")
        if node_id:
            found.setdefault(node_id, node)
    return found


#: BT-36's unit codes (eForms codelist duration-unit) as ISO 8601 duration designators.
_DURATION_UNITS = {"DAY": "D", "WEEK": "W", "MONTH": "M", "YEAR": "Y"}


def _duration(project: etree._Element | None) -> str | None:
    """BT-36 as an ISO 8601 duration (``24`` MONTH → ``P24M``); None unless a whole number of a known unit."""
    measure = _node(project, "cac:PlannedPeriod/cbc:DurationMeasure")
    if measure is None:
        return None
    unit = _DURATION_UNITS.get((measure.get("unitCode") or "").upper())
    amount = (measure.text or "").strip()
    if unit is None or not amount.isdigit() or int(amount) == 0:
        return None
    return f"P{int(amount)}{unit}"


def _iso_date(text: str | None) -> str | None:
    """A date (BT-145, BT-536, BT-537) as a plain ISO date (``2024-07-31Z`` → ``2024-07-31``)."""
    read = read_date(text)
    return read[0].isoformat() if read else None
