"""Column types that behave the same on SQLite and PostgreSQL.

The service runs on SQLite for one person and on PostgreSQL in production; the code
above the models must not notice which. The differences are absorbed here: SQLite
keeps datetimes without a time zone and has no JSONB, PostgreSQL returns datetimes in
the session's time zone.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

#: Money: 18 digits with cents, as public procurement values never need more.
Money = Numeric(18, 2)
CENT = Decimal("0.01")


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC and always returned timezone-aware in UTC.

    A naive datetime is refused rather than guessed: notices come from Helsinki,
    Brussels and UTC sources, and silently taking one of them for another moves
    deadlines by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        utc = value.astimezone(UTC)
        # SQLite has no time zone type: store the UTC wall time, put the zone back on read.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def to_utc(value: datetime | None) -> datetime | None:
    """Normalise an aware datetime to UTC, so that objects in memory look like ones read back."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
    return value.astimezone(UTC)


def to_money(value: Decimal | None) -> Decimal | None:
    """Round to cents as the ``Numeric(18, 2)`` column will, so comparisons before and after a flush agree."""
    return None if value is None else value.quantize(CENT)


def json_safe(value: Any) -> Any:
    """A value as plain JSON: datetimes as ISO 8601 in UTC, Decimals as strings (exact)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def pack_payloads(payloads: dict[str, bytes]) -> bytes:
    """Compress raw payloads into one blob: a JSON object of texts, zlib-compressed.

    Payloads are JSON or XML, so they are kept as text (readable when the blob is
    inflated by hand). A payload that is not UTF-8 (a broken download kept in
    quarantine) is kept as ``{"base64": …}`` so that nothing is ever lost.
    """
    document: dict[str, Any] = {}
    for name, data in payloads.items():
        try:
            document[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            document[name] = {"base64": base64.b64encode(data).decode("ascii")}
    return zlib.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), 6)


def unpack_payloads(blob: bytes | None) -> dict[str, bytes]:
    """The payloads given to :func:`pack_payloads`, byte for byte."""
    if not blob:
        return {}
    document = json.loads(zlib.decompress(blob).decode("utf-8"))
    payloads: dict[str, bytes] = {}
    for name, text in document.items():
        payloads[name] = base64.b64decode(text["base64"]) if isinstance(text, dict) else text.encode("utf-8")
    return payloads
