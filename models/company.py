"""Firms as the Finnish company register knows them, cached by business ID.

The vitality meter asks where each winner of a tender is located. A notice usually
says (the winner's postcode and town, or NUTS); when it does not, the firm is looked
up by its business ID in PRH's open data (YTJ v3: the municipality codes of the
company's visiting and postal addresses) and the answer is kept here, so that a firm
is asked about once, not once per award. "Not in the register" is an answer too and
is kept; a lookup that failed (network, 5xx) leaves no row and is tried again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crawler.codes import normalise_business_id
from crawler.prh_json import valid_business_id
from models.base import Base, one_of
from models.types import Json, UtcDateTime, to_utc

if TYPE_CHECKING:
    from crawler.prh_json import CompanyAnswer

#: ``found``: the register has the firm; ``not_found``: it answered with no company.
LOOKUP_RESULTS = ("found", "not_found")
#: A firm the register did not know is asked about again after this long: it may have been
#: registered since, or the notice's ID was a typo that a later notice of the firm corrects.
REASK_NOT_FOUND_AFTER = timedelta(days=180)
#: Business IDs per ``IN (…)`` query: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 500


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


def winner_to_look_up(winner: object) -> str | None:
    """The Finnish business ID of an award's winner (``Notice.awards[].winner``) whose location is unknown.

    None when the notice gives the winner's postcode, town or NUTS code (the meter reads
    the location from the notice then), when the winner is from another country, or
    when it has no valid Finnish business ID (nothing the register could answer).
    """
    if not isinstance(winner, dict):
        return None
    if any(_given(winner.get(field)) for field in ("postcode", "town", "nuts")):
        return None
    country = winner.get("country")
    if _given(country) and str(country).strip().upper() not in ("FIN", "FI"):
        return None
    raw = winner.get("business_id")
    business_id = normalise_business_id(raw) if isinstance(raw, str) else None
    return business_id if valid_business_id(business_id) else None


def business_ids_to_look_up(session: Session, *, now: datetime, limit: int | None = None) -> list[str]:
    """The business IDs the register should be asked about now, sorted.

    Winners in stored award notices (and corrections of them) whose award gives no location and that have no
    answer yet, or whose "not in the register" answer is older than
    :data:`REASK_NOT_FOUND_AFTER`. A firm the register found is not asked again: where
    a firm works rarely changes, and the meter describes the past.
    """
    from models.notice import Notice

    wanted: set[str] = set()
    statement = (
        select(Notice.awards)
        .where(Notice.kind.in_(("award", "correction")), Notice.status == "ok")
        .execution_options(yield_per=1000)
    )
    for awards in session.scalars(statement):
        for award in awards or []:
            business_id = winner_to_look_up(award.get("winner") if isinstance(award, dict) else None)
            if business_id is not None:
                wanted.add(business_id)
    stale_before = to_utc(now) - REASK_NOT_FOUND_AFTER
    answered = {
        company.business_id
        for company in _rows(session, wanted)
        if company.result == "found" or company.fetched_at >= stale_before
    }
    due = sorted(wanted - answered)
    return due if limit is None else due[:limit]


def company_locations(session: Session, business_ids: Iterable[str | None]) -> dict[str, Company]:
    """The register's answers for these business IDs (any spelling), keyed by the normalised ID.

    A firm without a row was not looked up (or the lookup failed); a ``not_found`` row
    means the register does not know it. Both are "location unknown" to the meter: it
    must not guess one. A ``found`` row may still lack a municipality code.
    """
    normalised = {normalise_business_id(value) for value in business_ids if isinstance(value, str)}
    return {company.business_id: company for company in _rows(session, {value for value in normalised if value})}


def store_company(session: Session, answer: CompanyAnswer, *, fetched_at: datetime) -> Company:
    """Keep one answer of the register, replacing an earlier answer for the same business ID."""
    company = session.get(Company, answer.business_id)
    if company is None:
        company = Company(business_id=answer.business_id)
        session.add(company)
    company.result = answer.result
    company.name = answer.name
    company.municipality_code = answer.municipality_code
    company.postal_municipality_code = answer.postal_municipality_code
    company.postcode = answer.postcode
    company.town = answer.town
    company.country = answer.country
    company.fetched_at = fetched_at
    company.record = answer.record
    session.flush()
    return company


def _rows(session: Session, business_ids: set[str]) -> Iterator[Company]:
    ordered = sorted(business_ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        yield from session.scalars(select(Company).where(Company.business_id.in_(chunk)))


def _given(value: object) -> bool:
    return value is not None and str(value).strip() != ""
