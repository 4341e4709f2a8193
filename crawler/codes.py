"""Normalising the codes and identifiers that the sources write in several ways.

HILMA, TED and eForms XML name the same things differently: a Finnish business ID
comes as ``0216509-5``, ``02165095`` or ``FI02165095``; a TED publication number
as ``00525037-2024`` in the XML and ``525037-2024`` in the API; languages as
``FIN`` in XML, ``fin`` in TED JSON and ``Fi`` in HILMA field names. Every mapper
normalises through these functions so that the store can match notices across
sources.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")

#: ISO 639-2/B (eForms, TED) → ISO 639-1 (the item's text keys), the EU's official languages.
LANGUAGES: dict[str, str] = {
    "BUL": "bg", "CES": "cs", "DAN": "da", "DEU": "de", "ELL": "el", "ENG": "en",
    "EST": "et", "FIN": "fi", "FRA": "fr", "GLE": "ga", "HRV": "hr", "HUN": "hu",
    "ITA": "it", "LAV": "lv", "LIT": "lt", "MLT": "mt", "NLD": "nl", "POL": "pl",
    "POR": "pt", "RON": "ro", "SLK": "sk", "SLV": "sl", "SPA": "es", "SWE": "sv",
    "NOR": "no", "ISL": "is",
}  # fmt: skip


def language_code(code: str | None) -> str | None:
    """``FIN``/``fin``/``fi`` → ``fi``; unknown codes are kept lower-cased."""
    if not code:
        return None
    code = code.strip()
    if len(code) == 2:
        return code.lower()
    return LANGUAGES.get(code.upper(), code.lower())


_SUBTYPE_KINDS: dict[str, str] = {
    **{str(n): "prior_information" for n in range(1, 10)},
    **{str(n): "contract_notice" for n in range(10, 25)},
    **{str(n): "award" for n in range(25, 41)},
    "E1": "prior_information",  # pre-market consultation
    "E2": "prior_information",  # national prior information
    "E3": "contract_notice",  # national contract notice
    "E4": "award",  # national contract award
    "E5": "award",  # completion
    "E6": "award",  # national contract modification
}


def kind_for_subtype(subtype: str | None) -> str | None:
    """The notice kind an eForms subtype (OPP-070) stands for, before any change notice."""
    if subtype is None:
        return None
    return _SUBTYPE_KINDS.get(subtype.strip().upper().lstrip("0") or "0")


CANCELLING_REASONS = frozenset({"cancel", "cancel-intent"})

_DIGITS = re.compile(r"\D")


def business_id(value: str | None, country: str | None = None) -> str | None:
    """Normalise a Finnish business ID (Y-tunnus) to ``1234567-8``.

    Accepts ``1234567-8``, ``12345678``, ``FI12345678`` (the VAT form) and
    ``0123456-7`` with stray spaces. A foreign ID (country given and not Finland)
    or anything that is not 8 digits is returned stripped but otherwise as given.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if country and country.upper() not in ("FIN", "FI"):
        return value
    candidate = value.upper().removeprefix("FI")
    if not re.fullmatch(r"\d{7}-?\d|\d{6}-\d", candidate.replace(" ", "")):
        return value
    digits = _DIGITS.sub("", candidate)
    digits = digits.rjust(8, "0")
    return f"{digits[:7]}-{digits[7]}"


_PUBLICATION_NUMBER = re.compile(r"^\s*0*(\d+)-(\d{4})\s*$")


def publication_number(value: str | None) -> str | None:
    """TED publication number without padding: ``00525037-2024`` → ``525037-2024``."""
    if not value:
        return None
    match = _PUBLICATION_NUMBER.match(value)
    if not match:
        return None
    return f"{int(match.group(1))}-{match.group(2)}"


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from JSON (``2026-05-08T14:51:10.782Z``, 0–7 fraction digits).

    A timestamp without an offset is taken as Helsinki time (the legacy HILMA index
    wrote local times without one). Returns None for anything unreadable.
    """
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "T", 1)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads at most 6 fraction digits
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        date_only = parse_date_with_offset(value)
        return date_only
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=HELSINKI)
    return parsed


def parse_date_with_offset(value: str | None, at: time = time(0, 0)) -> datetime | None:
    """An eForms/TED date such as ``2024-09-02+02:00`` or ``2023-09-28Z`` at the given time of day."""
    if not value:
        return None
    match = _DATE.match(value.strip())
    if not match:
        return None
    year, month, day, offset = match.groups()
    tz = _offset(offset) or HELSINKI
    try:
        return datetime(int(year), int(month), int(day), at.hour, at.minute, at.second, tzinfo=tz)
    except ValueError:
        return None


def combine_date_time(date_text: str | None, time_text: str | None) -> datetime | None:
    """eForms date + time fields (``2023-10-19+03:00`` + ``12:00:00+03:00``) into one instant.

    The time's offset wins over the date's; a missing time means the end of that day
    (a deadline stated only as a date is open the whole day).
    """
    if not date_text:
        return None
    date_match = _DATE.match(date_text.strip())
    if not date_match:
        return None
    year, month, day, date_offset = date_match.groups()
    hour, minute, second, time_offset = 23, 59, 59, None
    if time_text:
        time_match = _TIME.match(time_text.strip())
        if time_match:
            hour, minute = int(time_match.group(1)), int(time_match.group(2))
            second = int(time_match.group(3) or 0)
            time_offset = time_match.group(4)
    tz = _offset(time_offset) or _offset(date_offset) or HELSINKI
    try:
        return datetime(int(year), int(month), int(day), hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
