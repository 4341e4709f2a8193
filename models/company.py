"""Firms as the Finnish company register knows them, cached by business ID.

The vitality meter asks where each winner of a tender is located. A notice usually
says (the winner's postcode and town, or NUTS); when it does not, the firm is looked
up by its business ID in PRH's open data (YTJ v3: the municipality codes of the
company's visiting and postal addresses) and the answer is kept here, so that a firm
is asked about once, not once per award. "Not in the register" is an answer too and
is kept; a lookup that failed (network, 5xx) leaves no row and is tried again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, one_of
from models.types import Json, UtcDateTime

#: ``found``: the register has the firm; ``not_found``: it answered with no company.
LOOKUP_RESULTS = ("found", "not_found")


class Company(Base):
    """One business ID's answer from the company register."""

    __tablename__ = "companies"
    __table_args__ = (CheckConstraint(one_of("result", LOOKUP_RESULTS), name="result"),)

    business_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    # Statistics Finland's 3-digit municipality codes of the visiting (käyntiosoite) and postal
    # (postiosoite) addresses' post offices; the visiting address says where the firm works
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    postal_municipality_code: Mapped[str | None] = mapped_column(String(3))
    postcode: Mapped[str | None] = mapped_column(String(16))
    town: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the register's record as it came, for audit and for reading again
    record: Mapped[dict[str, Any] | None] = mapped_column(Json)

    def __repr__(self) -> str:
        return f"Company({self.business_id!r}, {self.result!r}, {self.municipality_code!r})"
