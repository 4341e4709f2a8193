"""Rate limits of the public forms (subscribe, "send me my manage link"), kept in the database.

Each accepted request leaves one row per thing it is counted against (the client's
address, the email address typed), so that the limit holds across the processes
and threads of the web server and survives a restart, as the staff login's does
(:mod:`models.staff`). A refused request leaves nothing, so someone who keeps trying
does not push the end of their own wait further away.

The keys are SHA-256 digests, not the addresses themselves: the table says how
often, never who, and "delete all my data" has nothing to find here. Rows older than
:data:`KEEP_HITS` are deleted as new ones arrive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.types import UtcDateTime

#: Longer than any window: older rows cannot matter to a limit any more.
KEEP_HITS = timedelta(days=1)


class RateLimitHit(Base):
    """One request counted against one limit's key, e.g. a subscription from one address."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_name_key_at", "name", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` requests per key within ``window``; ``name`` says what is counted, by what."""

    name: str
    max_hits: int
    window: timedelta

    def key(self, value: str) -> str:
        """The stored key of ``value`` (an address; emails case-blind): a digest, never the value."""
        return hashlib.sha256(f"{self.name}\0{value.strip().lower()}".encode()).hexdigest()


def blocked_until(session: Session, checks: Sequence[tuple[Limit, str]], *, now: datetime) -> datetime | None:
    """When every ``(limit, value)`` allows a request again, or None when they all do now."""
    until: list[datetime] = []
    for limit, value in checks:
        hits = session.scalars(
            select(RateLimitHit.at)
            .where(
                RateLimitHit.name == limit.name,
                RateLimitHit.key == limit.key(value),
                RateLimitHit.at > now - limit.window,
            )
            .order_by(RateLimitHit.at.desc())
            .limit(limit.max_hits)
        ).all()
        if len(hits) >= limit.max_hits:
            until.append(hits[-1] + limit.window)
    return max(until) if until else None


def take(session: Session, checks: Sequence[tuple[Limit, str]], *, now: datetime) -> datetime | None:
    """Count a request against every ``(limit, value)`` unless one is used up; then when to try again.

    Empty values (an email not typed) are not counted. Two requests at the very same
    moment may both get through at the edge of a limit; a limit is a brake, not a lock.
    """
    checks = [(limit, value) for limit, value in checks if value.strip()]
    refused = blocked_until(session, checks, now=now)
    if refused is not None:
        return refused
    session.execute(delete(RateLimitHit).where(RateLimitHit.at < now - KEEP_HITS))
    session.add_all(RateLimitHit(name=limit.name, key=limit.key(value), at=now) for limit, value in checks)
    session.flush()
    return None
