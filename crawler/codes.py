"""Normalising the codes, identifiers and dates that the sources write in several ways.

HILMA, TED and eForms XML name the same things differently: a Finnish business ID
comes as ``0216509-5``, ``02165095`` or ``FI02165095``; a TED publication number
as ``00525037-2024`` in the XML and ``525037-2024`` in the API; languages as
``FIN`` in XML, ``fin`` in TED JSON and ``Fi`` in HILMA field names; dates as
``2023-10-19+03:00`` plus ``12:00:00+03:00`` in XML and ISO timestamps in JSON.
The eForms parser and the HILMA and TED mappers all normalise through this module,
so that the store can match one notice across sources.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

#: Dates without an offset are read in Finnish time: HILMA is the main source and
#: its national notices are the ones most likely to leave the offset out.
LOCAL_TIMEZONE: tzinfo = ZoneInfo("Europe/Helsinki")

#: A deadline given as a date without a time lasts until the end of that day. eForms
#: requires EndTime with BT-131, so this only matters for malformed notices, where
#: "the whole day" is the reading that never tells a bidder they are too late.
END_OF_DAY = time(23, 59, 59)

#: eForms BT-702 and ``@languageID`` use ISO 639-2 (the EU authority table, i.e. the
#: /T codes); the /B variants are accepted too because hand-made files use them.
EU_LANGUAGES: dict[str, str] = {
    "BUL": "bg", "CES": "cs", "CZE": "cs", "DAN": "da", "DEU": "de", "GER": "de",
    "ELL": "el", "GRE": "el", "ENG": "en", "EST": "et", "FIN": "fi", "FRA": "fr",
    "FRE": "fr", "GLE": "ga", "HRV": "hr", "HUN": "hu", "ITA": "it", "LAV": "lv",
    "LIT": "lt", "MLT": "mt", "NLD": "nl", "DUT": "nl", "POL": "pl", "POR": "pt",
    "RON": "ro", "RUM": "ro", "SLK": "sk", "SLO": "sk", "SLV": "sl", "SPA": "es",
    "SWE": "sv",
}  # fmt: skip

#: OPP-070 notice subtype → kind (FORMATS.md §4). A PIN used as a call for
#: competition (10–14) and a call for expression of interest are calls for tenders.
SUBTYPE_KINDS: dict[str, str] = {
    **{str(number): "prior_information" for number in range(1, 10)},
    **{str(number): "contract_notice" for number in range(10, 25)},
    **{str(number): "award" for number in range(25, 41)},
    "E1": "prior_information", "E2": "prior_information", "E3": "contract_notice",
    "E4": "award", "E5": "award", "E6": "award",
    "CEI": "contract_notice", "T01": "prior_information", "T02": "award",
}  # fmt: skip
#: BT-02 notice type → kind, used when the subtype is missing or unknown.
NOTICE_TYPE_KINDS: dict[str, str] = {
    "pin-buyer": "prior_information", "pin-only": "prior_information", "pin-rtl": "prior_information",
    "pin-tran": "prior_information", "pmc": "prior_information",
    "pin-cfc-standard": "contract_notice", "pin-cfc-social": "contract_notice", "qu-sy": "contract_notice",
    "cn-standard": "contract_notice", "cn-social": "contract_notice", "subco": "contract_notice",
    "cn-desg": "contract_notice",
    "veat": "award", "can-standard": "award", "can-social": "award", "can-desg": "award",
    "can-modif": "award", "can-tran": "award", "compl": "award",
}  # fmt: skip

#: BT-03 form type → kind, the next fallback (``change`` says nothing about the kind).
FORM_TYPE_KINDS: dict[str, str] = {
    "planning": "prior_information", "consultation": "prior_information", "competition": "contract_notice",
    "dir-awa-pre": "award", "result": "award", "cont-modif": "award", "completion": "award",
}  # fmt: skip

CANCEL_REASONS = frozenset({"cancel", "cancel-intent"})

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?", re.ASCII)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?", re.ASCII)

_PUBLICATION_NUMBER = re.compile(r"0*(\d{1,8})-(\d{4})", re.ASCII)
_Y_TUNNUS = re.compile(r"(?:FI)?(\d{7})-?(\d)", re.ASCII)
_Y_TUNNUS_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)

def language_code(code: str | None) -> str | None:
    """ISO 639-2 (``FIN``, ``swe``) → ISO 639-1 (``fi``, ``sv``); other codes lowercased as given."""
    if not code or not code.strip():
        return None
    code = code.strip()
    return EU_LANGUAGES.get(code.upper(), code.lower())


def normalise_publication_number(value: str | None) -> str | None:
    """TED's OJ S number without padding: ``00525037-2024`` → ``525037-2024``; anything else as given."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    match = _PUBLICATION_NUMBER.fullmatch(value)
    if match is None:
        return value
    return f"{int(match.group(1))}-{match.group(2)}"


def normalise_business_id(value: str | None, country: str | None = None) -> str | None:
    """A Finnish business ID (Y-tunnus) in its one written form ``1234567-8``.

    Notices write the same ID as ``FI12345678`` (the VAT number), ``1234567-8`` or
    ``12345678``. It is rewritten only when the organisation is Finnish (or its
    country is not given) and the check digit is right, so that another country's
    number that happens to have eight digits is kept as given.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if country not in (None, "", "FIN", "FI"):
        return value
    match = _Y_TUNNUS.fullmatch(re.sub(r"\s+", "", value).upper())
    if match is None or not _y_tunnus_check_digit_is_right(match.group(1), match.group(2)):
        return value
    return f"{match.group(1)}-{match.group(2)}"


def _y_tunnus_check_digit_is_right(digits: str, check: str) -> bool:
    remainder = sum(int(digit) * weight for digit, weight in zip(digits, _Y_TUNNUS_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return False
    return int(check) == (0 if remainder == 0 else 11 - remainder)


def read_offset(text: str | None) -> tzinfo | None:
    """The zone of an ``xs:date``/``xs:time``, None when not given; ValueError beyond XML Schema's ±14:00."""
    if not text:
        return None
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours * 60 + minutes > 14 * 60 or minutes > 59:
        raise ValueError(f"offset out of range: {text}")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def read_date(text: str | None) -> tuple[date, tzinfo | None] | None:
    """An ``xs:date`` (``2023-10-19+03:00``, ``2023-08-28Z``, ``2024-08-29``) with its offset, if any."""
    match = _DATE.fullmatch(text or "")
    if match is None:
        return None
    year, month, day, offset = match.groups()
    try:
        return date(int(year), int(month), int(day)), read_offset(offset)
    except ValueError:
        return None


def read_time(text: str | None) -> tuple[time, tzinfo | None, bool] | None:
    """An ``xs:time`` (``12:00:00+03:00``, ``14:35:26.0000000+03:00``); the flag marks ``24:00:00``."""
    match = _TIME.fullmatch(text or "")
    if match is None:
        return None
    hours, minutes, seconds, fraction, offset = match.groups()
    fraction = fraction or ""
    try:
        if (hours, minutes, seconds, fraction.strip("0")) == ("24", "00", "00", ""):
            return time(0, 0, 0), read_offset(offset), True
        micro = int(fraction[:6].ljust(6, "0"))
        return time(int(hours), int(minutes), int(seconds), micro), read_offset(offset), False
    except ValueError:
        return None


def combine_date_time(date_text: str | None, time_text: str | None, *, time_missing: time) -> datetime | None:
    """Combine an eForms date and time into an aware datetime.

    The time's offset wins over the date's; without either, Finnish time is assumed.
    A date without (a readable) time takes ``time_missing``.
    """
    read_date_ = read_date(date_text)
    if read_date_ is None:
        return None
    day, date_zone = read_date_
    read_time_ = read_time(time_text)
    if read_time_ is None:
        clock, time_zone, next_day = time_missing, None, False
    else:
        clock, time_zone, next_day = read_time_
    zone = time_zone or date_zone or LOCAL_TIMEZONE
    try:
        moment = datetime.combine(day, clock, tzinfo=zone)
        return moment + timedelta(days=1) if next_day else moment
    except OverflowError:
        return None


def subtype_key(subtype: str | None) -> str:
    """``"04"`` and ``"4"`` are the same subtype; codes like ``E3`` are upper-cased."""
    if not subtype:
        return ""
    return str(int(subtype)) if subtype.isdigit() and len(subtype) < 4 else subtype.upper()




def kind_for(subtype: str | None, notice_type: str | None = None, form_type: str | None = None) -> str | None:
    """The kind a notice's subtype (OPP-070), else notice type (BT-02), else form type (BT-03) stands for.

    This is the kind before any change: a change notice repeats its original's type.
    """
    return (
        SUBTYPE_KINDS.get(subtype_key(subtype))
        or NOTICE_TYPE_KINDS.get(notice_type or "")
        or FORM_TYPE_KINDS.get(form_type or "")
    )


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp from JSON (``2026-05-08T14:51:10.782Z``, 0–7 fraction digits).

    A timestamp without an offset is taken as Finnish time (the legacy HILMA index
    wrote local times without one); a bare date (``2026-05-08+02:00``) is its
    midnight. Returns None for anything unreadable.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads at most 6 fraction digits
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return combine_date_time(value.strip(), None, time_missing=time(0))
    if "T" not in text:
        return combine_date_time(value.strip(), None, time_missing=time(0))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TIMEZONE)
