"""A tender's current state as a fold over its notices, and the changes between two states.

The state is always recomputed from all of the tender's notices in publication order
rather than patched by the newest one, so a notice that arrives late (TED before
HILMA, an award crawled before its contract notice) ends in the same state as if the
notices had come in order. Each notice overrides only what it gives: an award has no
deadline, so the deadline of the contract notice stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crawler.items import pick_language
from models.notice import Notice
from models.tender import Tender
from models.types import json_safe

#: Fields whose changes are recorded for the alerts, in the order a reader cares about.
TRACKED_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "deadline",
    "status",
    "estimated_value",
    "currency",
    "documents_url",
    "cpv",
    "buyer",
    "winners",
    "awarded_value",
    "procedure_type",
    "contract_nature",
)

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class TenderState:
    """The columns of :class:`~models.tender.Tender` that its notices determine."""

    kind: str = "contract_notice"
    status: str = "open"
    title: str | None = None
    description: str | None = None
    buyer_id: int | None = None
    deadline: datetime | None = None
    estimated_value: Decimal | None = None
    currency: str | None = None
    cpv: list[str] = field(default_factory=list)
    cpv_main: str | None = None
    contract_nature: str | None = None
    procedure_type: str | None = None
    documents_url: str | None = None
    places: list[dict[str, Any]] = field(default_factory=list)
    winners: list[dict[str, Any]] = field(default_factory=list)
    awarded_value: Decimal | None = None
    awarded_currency: str | None = None
    url: str | None = None
    latest_notice_id: int | None = None
    first_published_at: datetime | None = None
    last_published_at: datetime | None = None


STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TenderState))


def publication_order(notice: Notice) -> tuple[datetime, str, int]:
    """Sort key: publication time; ties by source id, so that arrival order never decides."""
    return (notice.published_at or _EARLIEST, notice.source_id, notice.id or 0)


def fold(notices: Iterable[Notice]) -> TenderState:
    """The state after all ``notices`` (ok ones), applied in publication order."""
    state = TenderState()
    started = False
    for notice in sorted(notices, key=publication_order):
        state = apply_notice(state, notice, first=not started)
        started = True
    return state


def apply_notice(state: TenderState, notice: Notice, *, first: bool = False) -> TenderState:
    """The state after one more notice: what the notice gives overrides, what it leaves out stays."""
    values = {name: getattr(state, name) for name in STATE_FIELDS}

    def take(name: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            values[name] = value

    values["kind"] = notice.kind or state.kind
    values["status"] = next_status(None if first else state.status, notice)
    take("title", notice.title)
    take("description", pick_language(notice.descriptions or {}))
    take("buyer_id", notice.buyer_id)
    take("deadline", notice.deadline)
    if notice.estimated_value is not None:  # a value and its currency go together
        values["estimated_value"] = notice.estimated_value
        values["currency"] = notice.currency
    take("cpv", list(notice.cpv or []))
    take("cpv_main", notice.cpv_main)
    take("contract_nature", notice.contract_nature)
    take("procedure_type", notice.procedure_type)
    take("documents_url", notice.documents_url)
    take("places", list(notice.places or []))
    take("winners", winners_of(notice.awards or []))
    if notice.awarded_value is not None:
        values["awarded_value"] = notice.awarded_value
        values["awarded_currency"] = notice.awarded_currency
    take("url", notice.url)
    values["latest_notice_id"] = notice.id
    if notice.published_at is not None:
        values["first_published_at"] = min(filter(None, (state.first_published_at, notice.published_at)))
        values["last_published_at"] = max(filter(None, (state.last_published_at, notice.published_at)))
    return TenderState(**values)


def next_status(current: str | None, notice: Notice) -> str:
    """The status after a notice of this kind, given the status before it (None: first notice).

    A correction keeps the status it corrects. An award notice is ``awarded`` when a
    lot has a winner and ``not_awarded`` when it lists only lots without one; when it
    lists no lot results at all, its total value is the remaining evidence.
    """
    kind = notice.kind
    if notice.cancelled:
        return "cancelled"
    if kind in ("plan", "prior_information"):
        return "planned"
    if kind == "contract_notice":
        return "open"
    if kind == "cancellation":
        return "cancelled"
    if kind == "award":
        awards = notice.awards or []
        if any(award.get("winner") for award in awards):
            return "awarded"
        if not awards and notice.awarded_value is not None:
            return "awarded"
        return "not_awarded"
    return current or "open"  # a correction, or a kind this code does not know


def winners_of(awards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct winners over all lots, as the short records a tender lists."""
    seen: dict[str, dict[str, Any]] = {}
    for award in awards:
        winner = award.get("winner")
        if not winner:
            continue
        key = winner.get("business_id") or winner.get("name") or ""
        seen.setdefault(
            key,
            {
                "name": winner.get("name"),
                "business_id": winner.get("business_id"),
                "town": winner.get("town"),
                "size": winner.get("size"),
            },
        )
    return list(seen.values())


def state_of(tender: Tender) -> TenderState:
    """The state a tender row holds now."""
    return TenderState(**{name: getattr(tender, name) for name in STATE_FIELDS})


def write_state(tender: Tender, state: TenderState) -> None:
    """Put a computed state on a tender row (only the attributes that differ, to keep the flush quiet)."""
    for name in STATE_FIELDS:
        value = getattr(state, name)
        if getattr(tender, name) != value:
            setattr(tender, name, value)


def differences(
    before: TenderState,
    after: TenderState,
    describe_buyer: Callable[[int | None], dict[str, Any] | None],
) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for every tracked field that differs, as JSON-safe values."""
    changed = []
    for name in TRACKED_FIELDS:
        if name == "buyer":
            old, new = describe_buyer(before.buyer_id), describe_buyer(after.buyer_id)
        else:
            old, new = json_safe(getattr(before, name)), json_safe(getattr(after, name))
        if old != new:
            changed.append((name, old, new))
    return changed
