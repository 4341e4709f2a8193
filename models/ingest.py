"""The single path from a parsed notice to the database.

The Scrapy pipeline and ``hankintavahti import`` both call :func:`store_notice` once
per notice, inside the caller's session and transaction (this module flushes, it
never commits). It decides whether the notice is new, a new version, the same again
or another publisher's copy; puts it in its tender; recomputes the tender's state;
and records what changed for the alerts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.items import NoticeItem, Organisation
from models.linking import (
    find_by_source_id,
    find_same_notice,
    linked_tenders,
    merge_tenders,
    publisher_rank,
    tender_key,
)
from models.notice import ENRICHMENT_STATES, Buyer, Notice, NoticeRef, name_key, normalise_business_id
from models.tender import Tender, TenderChange
from models.tender_state import differences, fold, state_of, write_state
from models.types import pack_payloads, to_money, to_utc

StoreStatus = Literal["new", "updated", "unchanged", "duplicate"]

#: Ids a lower publisher may add to the row of a higher one (it knows, e.g., the TED number).
_LINKING_IDS = (
    "notice_id",
    "notice_version",
    "full_notice_id",
    "procedure_id",
    "publication_number",
    "hilma_notice_number",
    "hilma_procedure_id",
)


@dataclass
class StoreOutcome:
    """What :func:`store_notice` did, for the crawl counters and for the alerts."""

    status: StoreStatus
    notice: Notice
    tender: Tender | None
    changes: list[TenderChange] = field(default_factory=list)


def store_notice(session: Session, item: NoticeItem, *, fetched_at: datetime | None = None) -> StoreOutcome:
    """Store one notice version and bring its tender up to date.

    * same source and id, same content → ``unchanged`` (nothing is written, except a payload
      the row lacks: the eForms XML fetched for an index document that parses the same);
    * same source and id, without the eForms XML the row holds, and not modified since →
      ``unchanged`` (the richer version stays; see :func:`_is_poorer_copy`);
    * same source and id, other content → ``updated`` (the row and the tender);
    * the same notice stored from a lower-ranked publisher → this publisher takes the row over (``updated``);
    * the same notice stored from a higher-ranked publisher → only missing ids are added (``duplicate``);
    * otherwise → ``new`` (also when it replaces a quarantined row of the same source id).
    """
    fetched_at = to_utc(fetched_at) or datetime.now(UTC)
    existing = find_by_source_id(session, item.source, item.source_id)
    if existing is not None and existing.status == "ok":
        if existing.content_hash == item.content_hash():
            _keep_new_payloads(session, existing, item)
            return StoreOutcome("unchanged", existing, existing.tender)
        if _is_poorer_copy(existing, item):
            return StoreOutcome("unchanged", existing, existing.tender)
        return _store_version(session, existing, item, fetched_at)

    other = find_same_notice(session, item, exclude=existing)
    if other is not None:
        if existing is not None:
            # The quarantined copy is superseded by a good version of the same notice.
            session.delete(existing)
            session.flush()
        if publisher_rank(item.source) > publisher_rank(other.source):
            return _store_version(session, other, item, fetched_at)
        _add_missing_ids(other, item)
        session.flush()
        return StoreOutcome("duplicate", other, other.tender)

    notice = existing if existing is not None else Notice()
    _apply_item(session, notice, item, fetched_at)
    session.add(notice)
    session.flush()
    tender, changes = _place_in_tender(session, notice)
    return StoreOutcome("new", notice, tender, changes)


def store_failure(
    session: Session,
    *,
    source: str,
    source_id: str,
    payloads: dict[str, bytes],
    error: str,
    published_at: datetime | None = None,
) -> Notice:
    """Keep a notice that could not be parsed, with its error and raw payloads, outside any tender.

    Nothing is lost: the payload can be parsed again once the parser is fixed, and a
    later good version of the same source id replaces the quarantined row. A failure
    never overwrites a good version already stored; it is noted on it instead.
    """
    line = " ".join(error.split())
    notice = find_by_source_id(session, source, source_id)
    if notice is not None and notice.status == "ok":
        notice.error = line
        session.flush()
        return notice
    if notice is None:
        notice = Notice(source=source, source_id=source_id)
        session.add(notice)
    notice.status = "quarantined"
    notice.error = line
    notice.raw = pack_payloads(payloads)
    notice.raw_format = "+".join(payloads) or None
    notice.published_at = to_utc(published_at)
    notice.fetched_at = datetime.now(UTC)
    notice.enrichment = "not_needed"
    notice.content_hash = None
    session.flush()
    return notice


def enrichment_of(item: NoticeItem) -> str:
    """Whether the full eForms XML of a notice is held, still to be fetched, or not needed.

    Holding the XML makes it ``complete``. Otherwise the spider's word counts
    (``item.enrichment``: it knows whether it tried); an item that says nothing (a
    file import) is ``missing`` when it is an eForms notice (it has a notice id) and
    ``not_needed`` when it has no XML to fetch (legacy notices, plans).
    """
    if "eforms" in item.payloads:
        return "complete"
    if item.enrichment in ENRICHMENT_STATES:
        return item.enrichment
    return "missing" if item.notice_id else "not_needed"


def upsert_buyer(session: Session, organisation: Organisation | None) -> Buyer | None:
    """The buyer row for an organisation, created or completed as needed.

    Matched by business id; else by name among buyers without a business id (which
    then gets this one); an organisation without a business id matches by name alone.
    Stored details are only completed, never replaced, so one notice's spelling does
    not flip-flop with another's.
    """
    if organisation is None or not (organisation.name or organisation.business_id):
        return None
    business_id = normalise_business_id(organisation.business_id)
    key = name_key(organisation.name)
    buyer: Buyer | None = None
    if business_id:
        buyer = session.scalars(select(Buyer).where(Buyer.business_id == business_id)).first()
    if buyer is None and key:
        by_name = select(Buyer).where(Buyer.name_key == key).order_by(Buyer.id)
        if business_id:
            by_name = by_name.where(Buyer.business_id.is_(None))
        buyer = session.scalars(by_name).first()
    if buyer is None:
        buyer = Buyer(name=organisation.name or business_id, name_key=key or business_id)
        session.add(buyer)
    details: dict[str, Any] = {
        "business_id": business_id,
        "street": organisation.street,
        "postcode": organisation.postcode,
        "town": organisation.town,
        "country": organisation.country,
        "nuts": organisation.nuts,
        "legal_type": organisation.legal_type,
    }
    for name, value in details.items():
        if value and getattr(buyer, name) is None:
            setattr(buyer, name, value)
    return buyer


def _store_version(session: Session, notice: Notice, item: NoticeItem, fetched_at: datetime) -> StoreOutcome:
    """Replace a stored notice's content with ``item`` (a new version, or a better publisher's copy)."""
    known_ids = {name: getattr(notice, name) for name in _LINKING_IDS}
    _apply_item(session, notice, item, fetched_at)
    for name, value in known_ids.items():
        if getattr(notice, name) is None and value is not None:
            setattr(notice, name, value)
    session.flush()
    tender, changes = _place_in_tender(session, notice)
    return StoreOutcome("updated", notice, tender, changes)


def _is_poorer_copy(notice: Notice, item: NoticeItem) -> bool:
    """Whether ``item`` is the version already stored, only without the eForms XML we hold.

    A re-crawl of HILMA's index (or a failed XML fetch) delivers the index document
    alone. Storing it would replace the fuller parse with the index's and record
    changes that never happened, then flip back once the XML is fetched again; so a
    copy without XML counts as a new version only when the source says it was modified.
    """
    if "eforms" in item.payloads or notice.enrichment != "complete":
        return False
    if item.modified_at is None:
        return True
    return notice.modified_at is not None and item.modified_at <= notice.modified_at


def _keep_new_payloads(session: Session, notice: Notice, item: NoticeItem) -> None:
    """Add the payloads ``item`` brings that the row lacks; the parsed content is the same."""
    if set(item.payloads) <= set((notice.raw_format or "").split("+")):
        return  # the usual case, decided without loading the stored blob
    stored = notice.payloads()
    payloads = {**stored, **{name: data for name, data in item.payloads.items() if name not in stored}}
    notice.raw = pack_payloads(payloads)
    notice.raw_format = "+".join(payloads)
    notice.enrichment = enrichment_of(dataclasses.replace(item, payloads=payloads))
    session.flush()


def _add_missing_ids(notice: Notice, item: NoticeItem) -> None:
    for name in _LINKING_IDS:
        value = getattr(item, name)
        if getattr(notice, name) is None and value not in (None, 0, ""):
            setattr(notice, name, value)


def _apply_item(session: Session, notice: Notice, item: NoticeItem, fetched_at: datetime) -> None:
    content = item.content()
    notice.source = item.source
    notice.source_id = item.source_id
    notice.status = "ok"
    notice.error = None
    notice.kind = item.kind
    notice.notice_type = item.notice_type
    notice.form_type = item.form_type
    notice.subtype = item.subtype
    notice.legal_basis = item.legal_basis
    notice.notice_id = item.notice_id
    notice.notice_version = item.notice_version
    notice.full_notice_id = item.full_notice_id
    notice.procedure_id = item.procedure_id
    notice.publication_number = item.publication_number
    notice.hilma_notice_number = item.hilma_notice_number
    notice.hilma_procedure_id = item.hilma_procedure_id or None
    notice.changed_notice = item.changed_notice
    notice.previous_notices = list(item.previous_notices)
    notice.change_reason = item.change_reason
    notice.language = item.language
    notice.national = item.national
    notice.cancelled = item.cancelled
    notice.titles = content["titles"]
    notice.descriptions = content["descriptions"]
    notice.title = item.title
    notice.cpv_main = item.cpv_main
    notice.cpv = item.cpv
    notice.contract_nature = item.contract_nature
    notice.procedure_type = item.procedure_type
    notice.estimated_value = to_money(item.estimated_value)
    notice.currency = item.currency
    notice.deadline = to_utc(item.deadline)
    notice.framework_agreement = item.framework_agreement
    notice.documents_url = item.documents_url
    notice.places = content["places"]
    notice.lots = content["lots"]
    notice.awards = content["awards"]
    notice.awarded_value = to_money(item.awarded_value)
    notice.awarded_currency = item.awarded_currency
    notice.url = item.url
    notice.published_at = to_utc(item.published_at)
    notice.modified_at = to_utc(item.modified_at)
    notice.fetched_at = fetched_at
    notice.enrichment = enrichment_of(item)
    notice.content_hash = item.content_hash()
    notice.raw_format = "+".join(item.payloads) or None
    notice.raw = pack_payloads(item.payloads)
    notice.buyer = upsert_buyer(session, item.buyer)
    _sync_refs(notice, {ref for ref in [item.changed_notice, *item.previous_notices] if ref})


def _sync_refs(notice: Notice, wanted: set[str]) -> None:
    current = {ref.ref: ref for ref in notice.refs}
    for ref, row in current.items():
        if ref not in wanted:
            notice.refs.remove(row)
    for ref in sorted(wanted - set(current)):
        notice.refs.append(NoticeRef(ref=ref))


def _place_in_tender(session: Session, notice: Notice) -> tuple[Tender, list[TenderChange]]:
    """Attach the notice to its tender (creating or merging tenders), recompute it, record changes."""
    candidates = linked_tenders(session, notice)
    tender = notice.tender or (candidates[0] if candidates else None)
    if tender is None:
        key = tender_key(notice)
        tender = session.scalars(select(Tender).where(Tender.key == key)).first()
        if tender is None:
            tender = Tender(key=key, kind=notice.kind or "contract_notice", status="open")
            session.add(tender)
            before = None
        else:
            before = state_of(tender)
    else:
        before = state_of(tender)
    for other in candidates:
        if other is not tender:
            merge_tenders(session, other, tender)
    notice.tender = tender
    session.flush()

    notices = session.scalars(select(Notice).where(Notice.tender_id == tender.id, Notice.status == "ok"))
    after = fold(notices)
    write_state(tender, after)
    session.flush()
    if before is None:
        return tender, []

    def describe_buyer(buyer_id: int | None) -> dict[str, Any] | None:
        buyer = session.get(Buyer, buyer_id) if buyer_id is not None else None
        return None if buyer is None else {"name": buyer.name, "business_id": buyer.business_id}

    changed_at = notice.published_at or notice.fetched_at
    recorded_at = datetime.now(UTC)
    changes = [
        TenderChange(
            tender_id=tender.id,
            notice_id=notice.id,
            field=name,
            old=old,
            new=new,
            changed_at=changed_at,
            recorded_at=recorded_at,
        )
        for name, old, new in differences(before, after, describe_buyer)
    ]
    session.add_all(changes)
    if changes:
        tender.touch()
    session.flush()
    return tender, changes
