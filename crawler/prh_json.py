"""The company register's answer (PRH open data, YTJ v3) as what a :class:`models.company.Company` row holds.

``GET …/opendata-ytj-api/v3/companies?businessId=1234567-8`` answers with the search
envelope ``{"totalResults": n, "companies": [Company, …]}``; an ID the register does
not know is ``totalResults: 0`` with no companies (there is no 404 for it). What the
vitality meter needs from a company is where it is:

* ``addresses[]`` holds at most two current addresses, ``type`` 1 the visiting address
  (käyntiosoite) and 2 the postal address (postiosoite). The type is an integer in
  the schema; a string ``"1"`` is read the same.
* The only municipality data is ``postOffices[].municipalityCode`` of each address: the
  Statistics Finland code of the address's post office, in each language (the same
  code). It says where the address is, not the legal domicile, which v3 does not give.
  The visiting address says where the firm works, so it is ``municipality_code``; the
  postal address's is kept beside it (a PO box in Helsinki says little about a firm).
* The name is the current trade name: ``names[]`` of type ``"1"`` without an end date.
* ``lastModified`` comes as ``2024-11-21 01:49:24`` (older schema) or
  ``2026-08-19T10:04:06`` (newer), Finnish time without an offset.

Every field may be absent, ``null`` or ``""``; all three mean "not given". A body that
is not this envelope (HTML from a maintenance break, cut short, another shape) raises
:class:`~config.errors.PayloadError`: the lookup failed and is tried again, rather than
cached as "not in the register". Nothing here guesses a location the register does not give.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from config.errors import PayloadError
from crawler.codes import LOCAL_TIMEZONE
from crawler.items import clean_text

VISITING, POSTAL = 1, 2
#: Language codes of ``postOffices[]``: Finnish first, then Swedish.
_LANGUAGE_ORDER = ("1", "2")
_BUSINESS_ID = re.compile(r"\d{7}-\d", re.ASCII)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
_MUNICIPALITY_CODE = re.compile(r"\d{3}", re.ASCII)
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_POSTCODE_LENGTH = 16  # the column's width; a Finnish postcode has five digits
_LAST_MODIFIED_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def valid_business_id(value: object) -> bool:
    """A Finnish business ID (Y-tunnus) written ``1234567-8`` whose check digit is right.

    Weights 7, 9, 10, 5, 8, 4, 2 on the seven digits; remainder 0 gives check digit 0,
    remainder 1 is never issued, otherwise the check digit is 11 minus the remainder.
    Only such IDs are asked from the register: anything else cannot be in it.
    """
    if not isinstance(value, str) or not _BUSINESS_ID.fullmatch(value):
        return False
    remainder = sum(int(digit) * weight for digit, weight in zip(value[:7], _WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return False
    return int(value[8]) == (0 if remainder == 0 else 11 - remainder)


@dataclass(frozen=True)
class CompanyAnswer:
    """One business ID's answer from the register, in the shape of a ``companies`` row."""

    business_id: str
    result: str  # "found" or "not_found"
    name: str | None = None
    municipality_code: str | None = None  # of the visiting address (type 1)
    postal_municipality_code: str | None = None  # of the postal address (type 2)
    postcode: str | None = None  # of the visiting address, else of the postal one
    town: str | None = None  # the post office's Finnish name ("ESPOO" in the register, kept as "Espoo")
    country: str | None = None  # ISO 3166-1 alpha-2
    last_modified: datetime | None = None
    record: dict[str, Any] | None = None  # the company object as the register sent it (texts made safe)


def map_company_response(body: bytes | str, business_id: str) -> CompanyAnswer:
    """The register's answer to ``?businessId=`` as a :class:`CompanyAnswer`, or :class:`PayloadError`.

    Only a company whose ``businessId.value`` is the one asked for counts (the
    envelope's total alone is not trusted). An envelope that says it found companies
    but lists none is a broken answer, not "not found".
    """
    data = _load(body)
    if not isinstance(data, dict):
        raise PayloadError("PRH:n vastaus ei ole JSON-olio")
    companies = data.get("companies")
    if companies is None and isinstance(data.get("results"), list):
        companies = data["results"]  # the retired v1 envelope, as its 404 for an unknown ID had it
    if not isinstance(companies, list):
        raise PayloadError("PRH:n vastauksesta puuttuu companies-luettelo")
    total = data.get("totalResults")
    if not companies and isinstance(total, int) and not isinstance(total, bool) and total > 0:
        raise PayloadError(f"PRH:n vastauksessa on {total} tulosta mutta ei yhtään yritystä")
    for company in companies:
        if not isinstance(company, dict):
            raise PayloadError("PRH:n vastauksen yritys ei ole JSON-olio")
        if _business_id_of(company) == business_id:
            return _found(business_id, company)
    return CompanyAnswer(business_id=business_id, result="not_found")


def parse_last_modified(value: object) -> datetime | None:
    """``lastModified`` in either of the register's formats, as Finnish time; None when unreadable."""
    text = _text(value)
    if text is None:
        return None
    for layout in _LAST_MODIFIED_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=LOCAL_TIMEZONE)
        except ValueError:
            continue
    return None


# -- reading ----------------------------------------------------------------------------------------------------------


def _load(body: bytes | str) -> Any:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")  # NaN and Infinity: json.loads takes them, the database does not

    try:
        return json.loads(body, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise PayloadError(f"PRH:n vastaus ei ole JSONia: {type(error).__name__}") from None


def _business_id_of(company: dict[str, Any]) -> str | None:
    given = company.get("businessId")
    if isinstance(given, dict):
        given = given.get("value")
    return _text(given)


def _found(business_id: str, company: dict[str, Any]) -> CompanyAnswer:
    addresses = _addresses(company.get("addresses"))
    visiting, postal = addresses.get(VISITING), addresses.get(POSTAL)
    main = visiting or postal
    visiting_code = _municipality_code(visiting)
    postal_code = _municipality_code(postal)
    main_code = visiting_code if main is visiting else postal_code
    return CompanyAnswer(
        business_id=business_id,
        result="found",
        name=_main_name(company.get("names")),
        municipality_code=visiting_code,
        postal_municipality_code=postal_code,
        postcode=_postcode(main),
        town=_town(main),
        country=_country(main, main_code),
        last_modified=parse_last_modified(company.get("lastModified")),
        record=_safe(company),
    )


def _addresses(value: object) -> dict[int, dict[str, Any]]:
    """The first address of each type (the register sends at most one of each)."""
    found: dict[int, dict[str, Any]] = {}
    for address in value if isinstance(value, list) else []:
        if not isinstance(address, dict):
            continue
        kind = _address_type(address.get("type"))
        if kind is not None:
            found.setdefault(kind, address)
    return found


def _address_type(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (VISITING, POSTAL):
        return value
    text = _text(value)
    return int(text) if text in ("1", "2") else None


def _post_offices(address: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The address's post offices, Finnish first, then Swedish, then the rest in their order."""
    if address is None:
        return []
    offices = [office for office in _list(address.get("postOffices")) if isinstance(office, dict)]

    def rank(office: dict[str, Any]) -> int:
        language = _text(office.get("languageCode"))
        return _LANGUAGE_ORDER.index(language) if language in _LANGUAGE_ORDER else len(_LANGUAGE_ORDER)

    return sorted(offices, key=rank)


def _municipality_code(address: dict[str, Any] | None) -> str | None:
    """The preferred post office's municipality code, else any other office's of the same address."""
    for office in _post_offices(address):
        code = _text(office.get("municipalityCode"))
        if code is not None and _MUNICIPALITY_CODE.fullmatch(code):
            return code
    return None


def _town(address: dict[str, Any] | None) -> str | None:
    for office in _post_offices(address):
        city = _text(office.get("city"))
        if city is not None:
            return city.title() if city.isupper() else city  # the register writes post offices in capitals
    return None


def _postcode(address: dict[str, Any] | None) -> str | None:
    if address is None:
        return None
    code = _text(address.get("postCode"))
    return code if code is not None and len(code) <= _POSTCODE_LENGTH else None


def _country(address: dict[str, Any] | None, municipality_code: str | None) -> str | None:
    """The address's country; a Finnish municipality code says Finland when the country is left out."""
    if address is None:
        return None
    country = (_text(address.get("country")) or "").upper()
    if _COUNTRY.fullmatch(country):
        return country
    return "FI" if municipality_code is not None else None


def _main_name(value: object) -> str | None:
    """The current trade name: type "1" without an end date, its latest version (1 = current) first."""
    current = [
        entry
        for entry in _list(value)
        if isinstance(entry, dict)
        and _text(entry.get("type")) == "1"
        and _text(entry.get("endDate")) is None
        and _text(entry.get("name")) is not None
    ]
    if not current:
        return None

    def version(entry: dict[str, Any]) -> int:
        number = entry.get("version")
        return number if isinstance(number, int) and not isinstance(number, bool) else 1

    return _text(min(current, key=version).get("name"))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """A non-empty string with unsafe characters removed; numbers as their digits; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(_safe_string(value).split())
    return text or None


def _safe_string(value: str) -> str:
    """Text a database and a page can take: no control or bidi characters, no lone surrogates."""
    return clean_text(value).encode("utf-8", "replace").decode("utf-8")


def _safe(value: Any) -> Any:
    """The record with every text (keys too) made safe, to be kept as JSON on both databases."""
    if isinstance(value, str):
        return _safe_string(value)
    if isinstance(value, list):
        return [_safe(element) for element in value]
    if isinstance(value, dict):
        return {_safe_string(str(key)): _safe(element) for key, element in value.items()}
    return value
