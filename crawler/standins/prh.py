"""A local stand-in for PRH's open data company API (YTJ v3), for tests and the demo.

* ``GET /opendata-ytj-api/v3/companies?businessId=1234567-8`` — the register's search
  envelope ``{"totalResults": n, "companies": [...]}``: one company for a known ID,
  ``totalResults: 0`` and no companies for an unknown one (the real API declares no
  404; ``not_found_status=404`` answers that instead, to show a client tolerates both).
  A business ID not written ``NNNNNNN-N`` is a 400 with PRH's ``ErrorResponse`` body
  (``timestamp``, ``message``, ``errorcode``). The stand-in answers lookups by business
  ID only: any other search parameter is a 400 that says so.
* Anything else is a 404 (the real API has no ``/companies/{businessId}`` path).
* Optionally PRH's limit: more than N requests in a window get 429 with a plain-text
  body. PRH documents no ``Retry-After``; the stand-in sends one unless told not to.

Its data is every organisation of the project's sample (``sample/notices.json``
``"organisations"``, read when the stand-in is made) that has a Finnish business ID,
as a v3 ``Company`` record: names, addresses of type 1 (visiting) and 2 (postal) with
``postOffices`` in Finnish and Swedish and the municipality code from the project's
region data (the postcode's municipality, else the town's), and the register's quirks
(integer address types, numeric-string codes, ``""``, ``null`` and absent keys, both
``lastModified`` formats, post offices with extra keys, a PO box with an empty street).
Nothing else: an organisation added to the sample is served, any other ID is unknown.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawler.classification.region_data import CONFIG_DIR, RegionData, load_region_data
from crawler.prh_json import valid_business_id
from crawler.standins.sample import SAMPLE_FILE
from crawler.standins.server import RecordedRequest, Response, StandInServer, json_response, text_response

API_PREFIX = "/opendata-ytj-api/v3"
COMPANIES_PATH = f"{API_PREFIX}/companies"
#: The search parameters of the real ``/companies``; the stand-in answers ``businessId`` (and ignores ``page``).
SEARCH_PARAMETERS = (
    "businessId",
    "name",
    "location",
    "companyForm",
    "mainBusinessLine",
    "registrationDateStart",
    "registrationDateEnd",
    "postCode",
    "businessIdRegistrationStart",
    "businessIdRegistrationEnd",
    "page",
)
#: The errorcode PRH's 400 for a malformed field value carries (observed for a date; assumed for the ID).
BAD_VALUE_ERRORCODE = 1002
_HELSINKI = ZoneInfo("Europe/Helsinki")
_BUSINESS_ID_FORMAT = re.compile(r"\d{7}-\d", re.ASCII)
_STREET = re.compile(r"^(?P<street>.*?\D)\s+(?P<number>\d+(?:[–-]\d+)?[a-z]?)(?:\s+(?P<entrance>[A-Z]))?$")
#: The register's numeric company form codes (YRMU) seen in real records, by the name's legal suffix.
_COMPANY_FORMS = {
    "oy": ("16", "Osakeyhtiö", "Aktiebolag", "Limited company"),
    "oyj": ("17", "Julkinen osakeyhtiö", "Publikt aktiebolag", "Public limited company"),
}
_REGISTERED = [
    {"languageCode": "1", "description": "Rekisterissä"},
    {"languageCode": "2", "description": "Registrerad"},
    {"languageCode": "3", "description": "Registered"},
]


def error_body(message: str, errorcode: int) -> dict[str, Any]:
    """PRH's ``ErrorResponse``: a 19-character local timestamp without a zone, the message, the code."""
    stamp = datetime.now(_HELSINKI).strftime("%Y-%m-%d %H:%M:%S")
    return {"timestamp": stamp, "message": message, "errorcode": errorcode}


class PrhStandIn(StandInServer):
    """The YTJ v3 company lookup over the given ``Company`` records."""

    name = "prh-standin"

    def __init__(
        self,
        companies: Iterable[dict[str, Any]],
        *,
        not_found_status: int = 200,
        rate_limit_per_minute: int | None = None,
        rate_limit_window: float = 60.0,
        retry_after: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.not_found_status = not_found_status
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_window = rate_limit_window
        self.retry_after = retry_after
        self._data_lock = threading.Lock()
        self._companies: dict[str, dict[str, Any]] = {}
        self._recent: deque[float] = deque()
        for company in companies:
            self.add_company(company)

    @property
    def api_url(self) -> str:
        """What ``PRH_API_URL`` is set to for this stand-in (the real one ends in ``/opendata-ytj-api/v3`` too)."""
        return self.base_url + API_PREFIX

    def add_company(self, company: dict[str, Any]) -> None:
        """Serve a record (or replace the one with the same ``businessId.value``), also while serving."""
        with self._data_lock:
            self._companies[company["businessId"]["value"]] = company

    def remove_company(self, business_id: str) -> None:
        with self._data_lock:
            self._companies.pop(business_id, None)

    @property
    def business_ids(self) -> list[str]:
        with self._data_lock:
            return sorted(self._companies)

    def company(self, business_id: str) -> dict[str, Any] | None:
        with self._data_lock:
            return self._companies.get(business_id)

    def lookups(self) -> list[str]:
        """The business IDs asked for so far, in order (a failed answer counts: the request was made)."""
        return [
            value
            for request in self.requests
            if request.path == COMPANIES_PATH
            for value in request.query.get("businessId", [])
        ]

    # -- the API ------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        limited = self._rate_limited()
        if limited is not None:
            return limited
        if request.path.rstrip("/") != COMPANIES_PATH or request.method not in ("GET", "HEAD"):
            return json_response(404, error_body(f"No endpoint {request.method} {request.path}", 404))
        unsupported = sorted(name for name in request.query if name not in ("businessId", "page"))
        if unsupported:
            known = [name for name in unsupported if name in SEARCH_PARAMETERS]
            what = "searches by " + ", ".join(known) if known else "parameters " + ", ".join(unsupported)
            return json_response(400, error_body(f"The stand-in answers businessId lookups only, not {what}", 1006))
        values = request.query.get("businessId", [])
        business_id = values[0].strip() if values else ""
        if not _BUSINESS_ID_FORMAT.fullmatch(business_id):
            message = f"Field businessId has not correct value: {business_id} - Correct format is NNNNNNN-N"
            return json_response(400, error_body(message, BAD_VALUE_ERRORCODE))
        company = self.company(business_id)
        if company is None:
            return json_response(self.not_found_status, {"totalResults": 0, "companies": []})
        return json_response(200, {"totalResults": 1, "companies": [company]})

    def _rate_limited(self) -> Response | None:
        """The shared limit of searches per minute: a sliding window of accepted requests."""
        if self.rate_limit_per_minute is None:
            return None
        now = time.monotonic()
        with self._data_lock:
            while self._recent and self._recent[0] <= now - self.rate_limit_window:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_minute:
                wait = max(1, math.ceil(self._recent[0] + self.rate_limit_window - now))
                response = text_response(429, "Too many requests")
                if self.retry_after:
                    response.headers["Retry-After"] = str(wait)
                return response
            self._recent.append(now)
        return None


# -- the sample's organisations as register records --------------------------------------------------------------


def sample_organisations(path: Path = SAMPLE_FILE) -> dict[str, dict[str, Any]]:
    """The ``organisations`` of the sample file as they are now (read on each call)."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["organisations"])


def sample_companies(path: Path = SAMPLE_FILE, region: RegionData | None = None) -> list[dict[str, Any]]:
    """A v3 ``Company`` record for every organisation of the sample with a Finnish business ID."""
    region = region or load_region_data()
    postal_names = _postal_names()
    po_boxes = _po_box_postcodes()
    companies = []
    for key, organisation in sample_organisations(path).items():
        if organisation.get("country") not in (None, "", "FIN", "FI"):
            continue
        if not valid_business_id(organisation.get("business_id")):
            continue
        companies.append(company_record(key, organisation, region, postal_names, po_boxes))
    return companies


def prh_standin(path: Path = SAMPLE_FILE, **options: Any) -> PrhStandIn:
    """A PRH stand-in serving the sample's Finnish organisations (not started: use it as a context manager)."""
    return PrhStandIn(sample_companies(path), **options)


def municipality_of(organisation: dict[str, Any], region: RegionData) -> str | None:
    """The organisation's municipality from the region data: its postcode's, else its town's; None if neither."""
    postcode = str(organisation.get("postcode") or "").strip()
    if postcode in region.postcodes:
        return region.postcodes[postcode]
    town = str(organisation.get("town") or "").strip().lower()
    return region.towns.get(town)


def company_record(
    key: str,
    organisation: dict[str, Any],
    region: RegionData,
    postal_names: dict[str, tuple[str, str]] | None = None,
    po_boxes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One organisation of the sample as the register would describe it.

    The register's quirks are spread over the records by a hash of the key, so that
    the same organisation always looks the same and the sample as a whole has each.
    """
    postal_names = _postal_names() if postal_names is None else postal_names
    po_boxes = _po_box_postcodes() if po_boxes is None else po_boxes
    variant = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)
    business_id = organisation["business_id"]
    registered = f"{1990 + variant % 30}-{1 + variant % 12:02d}-{1 + variant % 28:02d}"
    municipality = municipality_of(organisation, region)
    forms = _company_forms(organisation["name"], registered)
    addresses: list[dict[str, Any]] = []
    if organisation.get("postcode") or organisation.get("town"):
        visiting = _visiting_address(organisation, municipality, region, postal_names, variant, registered)
        addresses.append(visiting)
    postal_kind = variant % 3 if addresses else None  # no address known: the register gives none either
    if postal_kind == 0:  # the same address again as the postal one
        addresses.append({**visiting, "type": 2})
    elif postal_kind == 1 and municipality in po_boxes:  # a PO box in the same municipality, with an empty street
        box_postcode = po_boxes[municipality]
        addresses.append(
            {
                "type": 2,
                "street": "",
                "postCode": box_postcode,
                "postOffices": _post_offices(box_postcode, organisation, municipality, region, postal_names),
                "postOfficeBox": str(10 + variant % 890),
                "buildingNumber": "",
                "entrance": "",
                "apartmentNumber": "",
                "apartmentIdSuffix": "",
                "co": "",
                "registrationDate": registered,
                "source": "0",
            }
        )
    record: dict[str, Any] = {
        "businessId": {"value": business_id, "registrationDate": registered, "source": "3"},
        "euId": {"value": f"FIFPRO.{business_id}", "source": "1"},
        "names": [
            {"name": organisation["name"], "type": "1", "registrationDate": registered, "version": 1, "source": "1"}
        ],
        "website": (
            {"url": organisation["website"].split("://", 1)[-1], "registrationDate": registered, "source": "0"}
            if organisation.get("website")
            else None
        ),
        "companyForms": forms,
        "companySituations": [],
        "registeredEntries": [
            {
                "type": "1",
                "descriptions": _REGISTERED,
                "registrationDate": registered,
                # companies are in PRH's trade register (1); municipalities only in the Tax Administration's (4)
                "register": "1" if forms else "4",
                "authority": "2" if forms else "1",
            }
        ],
        "addresses": addresses,
        "tradeRegisterStatus": "1",
        "status": "2",
        "registrationDate": registered,
        "lastModified": _last_modified(variant),
    }
    if variant % 4 == 1:
        record["names"].append(  # a former name, ended: not the current one
            {
                "name": organisation["name"] + " (entinen)",
                "type": "1",
                "registrationDate": "1989-01-01",
                "endDate": registered,
                "version": 2,
                "source": "1",
            }
        )
    if variant % 5 == 2:
        record["endDate"] = None
    return record


def _visiting_address(
    organisation: dict[str, Any],
    municipality: str | None,
    region: RegionData,
    postal_names: dict[str, tuple[str, str]],
    variant: int,
    registered: str,
) -> dict[str, Any]:
    street, number, entrance = _split_street(str(organisation.get("street") or ""))
    postcode = str(organisation.get("postcode") or "")
    offices = _post_offices(postcode, organisation, municipality, region, postal_names, extra=variant % 3 == 2)
    address: dict[str, Any] = {"type": 1, "street": street, "postCode": postcode, "postOffices": offices}
    empty: Any = ("", None, ...)[variant % 3]  # the register leaves a field out as "", as null, or not at all
    for name, value in (
        ("buildingNumber", number),
        ("entrance", entrance),
        ("apartmentNumber", ""),
        ("apartmentIdSuffix", ""),
        ("co", ""),
    ):
        if value:
            address[name] = value
        elif empty is not ...:
            address[name] = empty
    if not postcode and empty is not ...:
        address["postCode"] = empty
    elif not postcode:
        del address["postCode"]
    address |= {"registrationDate": registered, "source": "0"}
    return address


def _post_offices(
    postcode: str,
    organisation: dict[str, Any],
    municipality: str | None,
    region: RegionData,
    postal_names: dict[str, tuple[str, str]],
    *,
    extra: bool = False,
) -> list[dict[str, Any]]:
    """The post office in Finnish and Swedish; ``extra``: with ``active`` and ``postCode`` as bulk records have.

    Its names come from the postcode, else from the municipality when the town is its
    name in either language ("Tavastehus"), else they are the town as given.
    """
    town = str(organisation.get("town") or "").upper()
    finnish, swedish = town, town
    known = region.municipalities.get(municipality or "")
    if postcode in postal_names:
        finnish, swedish = postal_names[postcode]
    elif known is not None and town in (known.name_fi.upper(), known.name_sv.upper()):
        finnish, swedish = known.name_fi.upper(), known.name_sv.upper()
    if not finnish:
        return []
    offices = []
    for city, language in ((swedish, "2"), (finnish, "1")):  # the register's order is not fixed
        office: dict[str, Any] = {"city": city, "languageCode": language, "municipalityCode": municipality}
        if extra:
            office |= {"active": True, "postCode": postcode or None}
        offices.append(office)
    return offices


def _split_street(street: str) -> tuple[str, str, str]:
    """``Visamäentie 35 A`` as the register splits it: street, building number, entrance."""
    match = _STREET.match(street.strip())
    if match is None:
        return street.strip(), "", ""
    return match["street"].strip(), match["number"], match["entrance"] or ""


def _company_forms(name: str, registered: str) -> list[dict[str, Any]]:
    suffix = name.split()[-1].lower() if name.split() else ""
    form = _COMPANY_FORMS.get(suffix)
    if form is None:
        return []
    code, finnish, swedish, english = form
    descriptions = [
        {"languageCode": "1", "description": finnish},
        {"languageCode": "3", "description": english},
        {"languageCode": "2", "description": swedish},
    ]
    return [
        {"type": code, "descriptions": descriptions, "registrationDate": registered, "version": 1, "source": "1"}
    ]


def _last_modified(variant: int) -> str:
    """Both formats the register has used: with a ``T`` (newer schema) and with a space (older)."""
    day = f"2025-{1 + variant % 12:02d}-{1 + variant % 28:02d}"
    clock = f"{variant % 24:02d}:{variant % 60:02d}:{(variant // 60) % 60:02d}"
    return f"{day}T{clock}" if variant % 2 else f"{day} {clock}"


def _postal_names() -> dict[str, tuple[str, str]]:
    """Postcode → the post office's Finnish and Swedish names in capitals, as the register writes them."""
    with (CONFIG_DIR / "postcodes.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["postcode"]: (row["postal_name_fi"].upper(), row["postal_name_sv"].upper())
            for row in csv.DictReader(handle)
        }


def _po_box_postcodes() -> dict[str, str]:
    """Municipality → its first PO box postcode, for the postal addresses that are boxes."""
    found: dict[str, str] = {}
    with (CONFIG_DIR / "postcodes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["type"] == "po_box":
                found.setdefault(row["municipality"], row["postcode"])
    return found
