"""The single path from a parsed notice to the database.

Everything goes through :class:`IngestBatch`: the Scrapy pipeline stores its items a
batch at a time, and :func:`store_notice` is a batch of one; both work inside the
caller's session and transaction (this module flushes, it never commits). It decides
whether the notice is new, a new version, the same again or another publisher's copy;
puts it in its tender; recomputes the tender's state; and records what changed for
the alerts.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Integer, column, delete, insert, inspect, or_, select, text, update
from sqlalchemy import values as values_list
from sqlalchemy.orm import Session, selectinload, undefer
from sqlalchemy.orm.attributes import set_committed_value

from crawler.items import NoticeItem, Organisation, hash_content
from models.linking import find_by_source_id, merge_tenders, publisher_rank, tender_key
from models.notice import ENRICHMENT_STATES, Buyer, Notice, NoticeRef, name_key, normalise_business_id
from models.tender import Tender, TenderChange
from models.tender_state import TenderState, differences, fold, publication_order, state_of, write_state
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
    """Store one notice version and bring its tender up to date (a batch of one: see :class:`IngestBatch`)."""
    batch = IngestBatch(session, [item])
    outcome = batch.store(item, fetched_at=fetched_at)
    batch.finish()
    return outcome


class IngestBatch:
    """Stores many notices in the caller's transaction with a handful of queries instead of a score per notice.

    Storing one notice used to ask the database about twenty small questions (its row,
    the same notice from another publisher, the linked tenders rule by rule, the buyer,
    the tender's notices) and flush four times. A batch asks them once for all its
    items (:meth:`_prefetch`), keeps the answers in in-memory indexes that every
    stored notice updates, and sends the rows at the end in a few multi-row statements
    (:meth:`finish`): notices and tenders through the unit of work (a new notice's
    values go straight into its state; on PostgreSQL its id comes from the sequence
    first), their references and the tenders' latest notices as plain statements. The
    rules are those of a single notice, applied in order:

    * same source and id, same content → ``unchanged`` (nothing is written, except a payload
      the row lacks: the eForms XML fetched for an index document that parses the same);
    * same source and id, without the eForms XML the row holds, and not modified since →
      ``unchanged`` (the richer version stays; see :func:`_is_poorer_copy`);
    * same source and id, other content → ``updated`` (the row and the tender);
    * the same notice stored from a lower-ranked publisher → this publisher takes the row over (``updated``);
    * the same notice stored from a higher-ranked publisher → only missing ids are added (``duplicate``);
    * otherwise → ``new`` (also when it replaces a quarantined row of the same source id).

    Call :meth:`store` for each item (in the order given to the constructor, or any
    subset of them), then :meth:`finish` once; the outcomes' rows have their ids
    after :meth:`finish`.
    """

    def __init__(self, session: Session, items: Iterable[NoticeItem]) -> None:
        self.session = session
        self._by_source_id: dict[tuple[str, str], Notice] = {}
        self._index: dict[str, dict[str, list[Notice]]] = {name: defaultdict(list) for name in _INDEXES}
        self._tenders_by_key: dict[str, Tender] = {}
        self._new_tenders: dict[int, int] = {}  # id(tender) → creation order, for ordering before ids exist
        self._buyers_by_business_id: dict[str, Buyer] = {}
        self._buyers_by_name: dict[str, list[Buyer]] = defaultdict(list)
        self._latest: dict[int, tuple[Tender, Notice]] = {}
        self._changes: list[tuple[TenderChange, Tender, Notice]] = []
        self._touched: dict[int, Tender] = {}
        self._added: dict[int, int] = {}  # id(notice) → order added, for notices without an id yet
        self._new_notices: list[Notice] = []
        self._refs: dict[int, tuple[Notice, set[str]]] = {}  # id(notice) → (notice, its references)
        self._prefetch(list(items))

    # What the store asks ---------------------------------------------------------------

    def stored_payloads(self, source: str, source_id: str) -> dict[str, bytes]:
        """The raw payloads of the stored (ok) notice with this source id; empty when there is none."""
        notice = self._by_source_id.get((source, source_id))
        if notice is None or notice.status != "ok":
            return {}
        return notice.payloads()

    def store(self, item: NoticeItem, *, fetched_at: datetime | None = None) -> StoreOutcome:
        """Store one notice version and bring its tender up to date (the rules are in the class docstring)."""
        fetched_at = to_utc(fetched_at) or datetime.now(UTC)
        content = item_content(item)
        content_hash = hash_content(content)
        existing = self._by_source_id.get((item.source, item.source_id))
        if existing is not None and existing.status == "ok":
            if existing.content_hash == content_hash:
                _keep_new_payloads(existing, item)
                return StoreOutcome("unchanged", existing, existing.tender)
            if _is_poorer_copy(existing, item):
                return StoreOutcome("unchanged", existing, existing.tender)
            return self._store_version(existing, item, fetched_at, content, content_hash)

        other = self._same_notice(item, exclude=existing)
        if other is not None:
            if existing is not None:
                # The quarantined copy is superseded by a good version of the same notice.
                del self._by_source_id[(existing.source, existing.source_id)]
                self.session.delete(existing)
                self.session.flush()
            if publisher_rank(item.source) > publisher_rank(other.source):
                return self._store_version(other, item, fetched_at, content, content_hash)
            _add_missing_ids(other, item)
            self._remember(other)
            return StoreOutcome("duplicate", other, other.tender)

        notice = existing if existing is not None else Notice()
        self._apply_item(notice, item, fetched_at, content, content_hash)
        if notice.id is None:
            self._added[id(notice)] = len(self._added)
            self._new_notices.append(notice)
        self.session.add(notice)
        tender, changes = self._place_in_tender(notice)
        return StoreOutcome("new", notice, tender, changes)

    def finish(self) -> None:
        """Send the batch's rows, then what needed their ids: the tenders' latest notice and the change rows."""
        self._number_new_notices()
        self.session.flush()
        self._write_latest_notices()
        for change, tender, notice in self._changes:
            change.tender_id = tender.id
            change.notice_id = notice.id
        self.session.add_all(change for change, _, _ in self._changes)
        self._latest.clear()
        self._changes.clear()
        self.session.flush()
        self._write_refs()

    def _write_latest_notices(self) -> None:
        """Point the batch's tenders at their latest notice, which has an id only now.

        On PostgreSQL one ``UPDATE … FROM (VALUES …)`` does it for the whole batch: the
        unit of work would send an UPDATE per tender, and each one is planned anew there
        (``plan_cache_mode=force_custom_plan``, see :func:`models.db.make_engine`). SQLite
        has no column names for a VALUES list and its UPDATEs cost no round trip, so it
        gets the unit of work's.
        """
        session = self.session
        latest = [
            (tender, notice.id)
            for tender, notice in self._latest.values()
            if tender not in session.deleted and tender.latest_notice_id != notice.id
        ]
        if not latest:
            return
        if session.get_bind().dialect.name != "postgresql":
            for tender, notice_id in latest:
                tender.latest_notice_id = notice_id
            return
        pairs = values_list(column("tender_id", Integer), column("notice_id", Integer), name="latest")
        pairs = pairs.data([(tender.id, notice_id) for tender, notice_id in latest])
        tenders = Tender.__table__
        session.execute(
            update(tenders).where(tenders.c.id == pairs.c.tender_id).values(latest_notice_id=pairs.c.notice_id)
        )
        for tender, notice_id in latest:
            set_committed_value(tender, "latest_notice_id", notice_id)  # what the row holds now

    def _write_refs(self) -> None:
        """Index the stored notices' references (``notice_refs``) with two plain statements.

        The rows are written here rather than through ``Notice.refs``: building a row
        object per reference and letting the unit of work sort them cost more than the
        rest of the notice's bookkeeping. A notice stored before gets its rows replaced;
        one that the batch deleted (a quarantined copy superseded) has none to write.
        """
        session = self.session
        notices = [
            (notice, refs)
            for notice, refs in self._refs.values()
            if notice.id is not None and not inspect(notice).was_deleted
        ]
        self._refs.clear()
        replaced = [notice.id for notice, _ in notices if id(notice) not in self._added]
        if replaced:
            session.execute(delete(_NOTICE_REFS).where(_NOTICE_REFS.c.notice_id.in_(replaced)))
        rows = [{"notice_id": notice.id, "ref": ref} for notice, refs in notices for ref in sorted(refs)]
        if rows:
            session.execute(insert(_NOTICE_REFS), rows)
        for notice, _ in notices:
            if "refs" in notice.__dict__:  # loaded before: read again when asked
                session.expire(notice, ["refs"])

    def _number_new_notices(self) -> None:
        """On PostgreSQL, give the batch's new notices their ids from the sequence, in one query.

        With ids known, SQLAlchemy sends the rows as a plain executemany (psycopg's pipeline,
        one short statement parsed once) instead of a multi-row INSERT … RETURNING whose
        ten thousand placeholders psycopg rewrites in Python: that rewriting cost more than
        the database's work for the rows. The ids ascend in the order the notices were
        added, as those the INSERT would have drawn. SQLite numbers rows itself, cheaply.
        """
        session = self.session
        if session.get_bind().dialect.name != "postgresql":
            return
        pending = [notice for notice in self._new_notices if notice.id is None and notice in session.new]
        if not pending:
            return
        ids = session.connection().execute(_NEXT_NOTICE_IDS, {"count": len(pending)}).scalars().all()
        for notice, notice_id in zip(pending, sorted(ids), strict=True):
            notice.id = notice_id

    def notices_of(self, tender: Tender) -> list[Notice]:
        """A tender's ok notices from memory, by publication time (none last), then id: the classifier's order.

        Notices of this batch have no id before :meth:`finish`; they sort after the
        stored ones in the order they were added, which is the order their ids will have.
        """
        notices = [notice for notice in tender.notices if notice.status == "ok"]
        return sorted(notices, key=self._classifier_order)

    def _classifier_order(self, notice: Notice) -> tuple[bool, datetime, int, int]:
        published = notice.published_at
        if notice.id is not None:
            return (published is None, published or _EARLIEST, 0, notice.id)
        return (published is None, published or _EARLIEST, 1, self._added.get(id(notice), 0))

    def changed_tenders(self) -> list[Tender]:
        """The tenders a stored notice created or changed (not those merged away), for the classifier."""
        return [tender for tender in self._touched.values() if tender not in self.session.deleted]

    # Prefetching -----------------------------------------------------------------------

    def _prefetch(self, items: list[NoticeItem]) -> None:
        """Load every row a rule may ask about for these items, in five queries."""
        if not items:
            return
        session = self.session
        by_source: dict[str, set[str]] = defaultdict(set)
        for item in items:
            by_source[item.source].add(item.source_id)
        own = [
            (Notice.source == source) & Notice.source_id.in_(sorted(ids)) for source, ids in sorted(by_source.items())
        ]
        same = _values(item.full_notice_id for item in items), _values(item.publication_number for item in items)
        first = list(
            session.scalars(
                select(Notice)
                .options(undefer(Notice.raw))
                .where(or_(*own, Notice.full_notice_id.in_(same[0]), Notice.publication_number.in_(same[1])))
            )
        )
        rows = list(first)
        references = _values(ref for item in items for ref in (item.changed_notice, *item.previous_notices))
        procedures = _values(x.procedure_id for x in [*items, *first])
        hilma_procedures = _values(x.hilma_procedure_id for x in [*items, *first])
        identities = _values(
            value
            for x in [*items, *first]
            for value in (x.full_notice_id, x.publication_number, x.hilma_notice_number, x.notice_id)
        )
        linked = [
            Notice.full_notice_id.in_(references),
            Notice.publication_number.in_(references),
            Notice.hilma_notice_number.in_(references),
            Notice.notice_id.in_(references),
            Notice.procedure_id.in_(procedures),
            Notice.hilma_procedure_id.in_(hilma_procedures),
        ]
        rows += session.scalars(select(Notice).where(or_(*linked)))
        if identities:
            referring = select(Notice).join(NoticeRef, NoticeRef.notice_id == Notice.id)
            rows += session.scalars(referring.where(NoticeRef.ref.in_(identities)).distinct())
        keys = _values(
            key
            for x in [*items, *first]
            for key in (
                f"procedure:{x.procedure_id}" if x.procedure_id else None,
                f"hilma-procedure:{x.hilma_procedure_id}" if x.hilma_procedure_id else None,
                f"notice:{x.source}:{x.source_id}",
            )
        )
        tender_ids = _values(row.tender_id for row in rows)
        tenders = session.scalars(
            select(Tender)
            .where(or_(Tender.id.in_(tender_ids), Tender.key.in_(keys)))
            .options(selectinload(Tender.notices), selectinload(Tender.regions), selectinload(Tender.sectors))
        )
        for tender in tenders:
            self._tenders_by_key[tender.key] = tender
            rows += tender.notices
        for row in rows:
            self._remember(row)
        organisations = [item.buyer for item in items if item.buyer is not None]
        business_ids = _values(normalise_business_id(o.business_id) for o in organisations)
        names = _values(name_key(o.name) for o in organisations)
        if business_ids or names:
            buyers = session.scalars(
                select(Buyer)
                .where(or_(Buyer.business_id.in_(business_ids), Buyer.name_key.in_(names)))
                .order_by(Buyer.id)
            )
            for buyer in buyers:
                self._remember_buyer(buyer)

    def _remember(self, notice: Notice) -> None:
        """Index a row under every value a rule may look it up by (stale entries are checked at lookup)."""
        if notice.source and notice.source_id:
            self._by_source_id.setdefault((notice.source, notice.source_id), notice)
        for name, values in _index_values(notice).items():
            for value in values:
                bucket = self._index[name][value]
                if notice not in bucket:
                    bucket.append(notice)

    def _remember_buyer(self, buyer: Buyer) -> None:
        if buyer.business_id:
            self._buyers_by_business_id.setdefault(buyer.business_id, buyer)
        if buyer.name_key and buyer not in self._buyers_by_name[buyer.name_key]:
            self._buyers_by_name[buyer.name_key].append(buyer)

    # The rules ----------------------------------------------------------------------------

    def _same_notice(self, item: NoticeItem, *, exclude: Notice | None) -> Notice | None:
        """The stored (ok) notice that is ``item`` published by another publisher, if any.

        The same notice is recognised by its eForms id and version or by its TED
        publication number (HILMA items carry HILMA's ``tedPublicationId`` there). When
        several rows match, the best publisher's row wins.
        """
        matches = [
            notice
            for name, value in (
                ("full_notice_id", item.full_notice_id),
                ("publication_number", item.publication_number),
            )
            if value
            for notice in self._index[name][value]
            if getattr(notice, name) == value and notice.status == "ok" and notice is not exclude
        ]
        if not matches:
            return None
        return min(matches, key=lambda notice: (-publisher_rank(notice.source), self._order(notice)))

    def _linked_tenders(self, notice: Notice) -> list[Tender]:
        """Tenders this notice belongs with, strongest link first, without repeats.

        Forward links (the notice it changes, its previous notices, its procedure) come
        first, in the order of the ingest rules; the reverse link (a stored notice that
        points at this one, because it arrived first) comes last. Within a rule, older
        tenders first.
        """
        rules: list[list[Notice]] = []
        if notice.changed_notice:
            rules.append(self._identified_by([notice.changed_notice]))
        if notice.previous_notices:
            rules.append(self._identified_by(list(notice.previous_notices)))
        for name in ("procedure_id", "hilma_procedure_id"):
            value = getattr(notice, name)
            if value:
                rules.append([row for row in self._index[name][value] if getattr(row, name) == value])
        identities = notice.identities()
        if identities:
            rules.append(
                [
                    row
                    for ref in sorted(identities)
                    for row in self._index["ref"][ref]
                    if ref in {row.changed_notice, *(row.previous_notices or [])}
                ]
            )
        found: dict[int, Tender] = {}
        for rows in rules:
            tenders = {
                id(row.tender): row.tender
                for row in rows
                if row is not notice and row.status == "ok" and row.tender is not None
            }
            for tender in sorted(tenders.values(), key=self._tender_order):
                found.setdefault(id(tender), tender)
        return list(found.values())

    def _identified_by(self, references: list[str]) -> list[Notice]:
        return [
            row
            for ref in references
            for row in self._index["identity"][ref]
            if ref in (row.full_notice_id, row.publication_number, row.hilma_notice_number, row.notice_id)
        ]

    def _order(self, notice: Notice) -> tuple[int, int]:
        return (0, notice.id) if notice.id is not None else (1, 0)

    def _tender_order(self, tender: Tender) -> tuple[int, int]:
        """Ids order tenders; one created in this batch has none yet, and comes after in creation order."""
        if tender.id is not None:
            return (0, tender.id)
        return (1, self._new_tenders.get(id(tender), 0))

    def _buyer(self, organisation: Organisation | None) -> Buyer | None:
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
            buyer = self._buyers_by_business_id.get(business_id)
            if buyer is not None and buyer.business_id != business_id:
                buyer = None
        if buyer is None and key:
            candidates = [row for row in self._buyers_by_name[key] if row.name_key == key]
            if business_id:
                candidates = [row for row in candidates if row.business_id is None]
            buyer = min(candidates, key=lambda row: row.id, default=None)
        created = buyer is None
        if buyer is None:
            buyer = Buyer(name=organisation.name or business_id, name_key=key or business_id)
            self.session.add(buyer)
        _complete_buyer(buyer, organisation, business_id)
        if created:
            self.session.flush()  # a new buyer is rare; the tender state needs its id
        self._remember_buyer(buyer)
        return buyer

    def _store_version(
        self, notice: Notice, item: NoticeItem, fetched_at: datetime, content: dict[str, Any], content_hash: str
    ) -> StoreOutcome:
        """Replace a stored notice's content with ``item`` (a new version, or a better publisher's copy)."""
        known_ids = {name: getattr(notice, name) for name in _LINKING_IDS}
        self._apply_item(notice, item, fetched_at, content, content_hash)
        for name, value in known_ids.items():
            if getattr(notice, name) is None and value is not None:
                setattr(notice, name, value)
        self._remember(notice)
        tender, changes = self._place_in_tender(notice)
        return StoreOutcome("updated", notice, tender, changes)

    def _apply_item(
        self, notice: Notice, item: NoticeItem, fetched_at: datetime, content: dict[str, Any], content_hash: str
    ) -> None:
        _apply_item(notice, item, fetched_at, content, content_hash)
        self._refs[id(notice)] = (notice, {ref for ref in [item.changed_notice, *item.previous_notices] if ref})
        buyer = self._buyer(item.buyer)
        notice.buyer = buyer
        notice.buyer_id = buyer.id if buyer is not None else None  # the tender state reads the id before a flush
        self._remember(notice)

    def _place_in_tender(self, notice: Notice) -> tuple[Tender, list[TenderChange]]:
        """Attach the notice to its tender (creating or merging tenders), recompute it, record changes."""
        session = self.session
        candidates = self._linked_tenders(notice)
        tender = notice.tender or (candidates[0] if candidates else None)
        before: TenderState | None = None
        if tender is None:
            key = tender_key(notice)
            tender = self._tenders_by_key.get(key)
            if tender is None or tender in session.deleted:
                # revision and nationwide given, not left to the column defaults: rows that name the
                # same columns go in one multi-row INSERT, and the classifier and a later notice of
                # the batch see the values a flushed row would have (touching counts from 1)
                tender = Tender(
                    key=key,
                    kind=notice.kind or "contract_notice",
                    status="open",
                    revision=1,
                    nationwide=False,
                    notices=[],
                    regions=[],
                    sectors=[],
                )
                session.add(tender)
                self._tenders_by_key[key] = tender
                self._new_tenders[id(tender)] = len(self._new_tenders)
            else:
                before = state_of(tender)
        else:
            before = state_of(tender)
        for other in candidates:
            if other is not tender:
                merge_tenders(session, other, tender)
                self._touched.pop(id(other), None)
                self._latest.pop(id(other), None)
                if self._tenders_by_key.get(other.key) is other:
                    del self._tenders_by_key[other.key]
        notice.tender = tender
        self._touched[id(tender)] = tender

        notices = sorted((row for row in tender.notices if row.status == "ok"), key=publication_order)
        after = fold(notices)
        write_state(tender, after)
        if notices and notices[-1].id is None:
            self._latest[id(tender)] = (tender, notices[-1])  # its id is known after the flush
        else:
            self._latest.pop(id(tender), None)
        if before is None:
            return tender, []

        def describe_buyer(buyer_id: int | None) -> dict[str, Any] | None:
            buyer = session.get(Buyer, buyer_id) if buyer_id is not None else None
            return None if buyer is None else {"name": buyer.name, "business_id": buyer.business_id}

        changed_at = notice.published_at or notice.fetched_at
        recorded_at = datetime.now(UTC)
        changes = [
            TenderChange(field=name, old=old, new=new, changed_at=changed_at, recorded_at=recorded_at)
            for name, old, new in differences(before, after, describe_buyer)
        ]
        self._changes += [(change, tender, notice) for change in changes]
        if changes:
            tender.touch()
        return tender, changes


_EARLIEST = datetime.min.replace(tzinfo=UTC)

_NOTICE_REFS = NoticeRef.__table__

#: ``count`` fresh ids of the notices table (PostgreSQL).
_NEXT_NOTICE_IDS = text("SELECT nextval(pg_get_serial_sequence('notices', 'id')) FROM generate_series(1, :count)")

#: The in-memory indexes of a batch, by what a rule looks notices up by.
_INDEXES = ("identity", "full_notice_id", "publication_number", "procedure_id", "hilma_procedure_id", "ref")


def _index_values(notice: Notice) -> dict[str, list[str]]:
    return {
        "identity": sorted(notice.identities()),
        "full_notice_id": [notice.full_notice_id] if notice.full_notice_id else [],
        "publication_number": [notice.publication_number] if notice.publication_number else [],
        "procedure_id": [notice.procedure_id] if notice.procedure_id else [],
        "hilma_procedure_id": [notice.hilma_procedure_id] if notice.hilma_procedure_id else [],
        "ref": [ref for ref in {notice.changed_notice, *(notice.previous_notices or [])} if ref],
    }


def item_content(item: NoticeItem) -> dict[str, Any]:
    """:meth:`NoticeItem.content`, equal to it value for value, in a single pass.

    ``content()`` is ``dataclasses.asdict`` (which deep-copies every leaf, the raw
    payloads too) and then a JSON round trip; that was a quarter of the store's time.
    This walks the item once and builds the same plain data. Anything it does not
    recognise exactly (a non-string key, a subclass, a type JSON would refuse) makes it
    fall back to ``content()`` itself, so the two cannot disagree.
    """
    try:
        return {name: _plain(getattr(item, name)) for name in _content_fields(type(item))}
    except _UnplainError:
        return item.content()


class _UnplainError(Exception):
    """A value :func:`_plain` leaves to the JSON round trip of :meth:`NoticeItem.content`."""


_FIELDS: dict[type, tuple[str, ...]] = {}


def _content_fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = tuple(spec.name for spec in dataclasses.fields(kind) if spec.name != "payloads")
        _FIELDS[kind] = names
    return names


def _plain(value: Any) -> Any:
    """A value as ``json.loads(json.dumps(dataclasses.asdict(value), default=...))`` gives it back."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is list or kind is tuple:
        return [_plain(element) for element in value]
    if kind is dict:
        plain = {}
        for key, element in value.items():
            if type(key) is not str:
                raise _UnplainError
            plain[key] = _plain(element)
        return plain
    if kind is datetime:
        return value.isoformat()
    if kind is Decimal:
        return str(value)
    if dataclasses.is_dataclass(kind):
        return {name: _plain(getattr(value, name)) for name in _dataclass_fields(kind)}
    raise _UnplainError


def _dataclass_fields(kind: type) -> tuple[str, ...]:
    names = _ALL_FIELDS.get(kind)
    if names is None:
        names = tuple(spec.name for spec in dataclasses.fields(kind))
        _ALL_FIELDS[kind] = names
    return names


_ALL_FIELDS: dict[type, tuple[str, ...]] = {}


def _values(values: Iterable[str | None]) -> list[str]:
    return sorted({value for value in values if value})


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


def _complete_buyer(buyer: Buyer, organisation: Organisation, business_id: str | None) -> None:
    """Fill in the details a buyer row lacks; stored details are never replaced."""
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
    # A contact is where to ask now: the latest notice that gives one replaces it.
    for name in ("email", "website"):
        value = getattr(organisation, name)
        if value and getattr(buyer, name) != value:
            setattr(buyer, name, value)


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


def _keep_new_payloads(notice: Notice, item: NoticeItem) -> None:
    """Add the payloads ``item`` brings that the row lacks; the parsed content is the same."""
    if set(item.payloads) <= set((notice.raw_format or "").split("+")):
        return  # the usual case, decided without loading the stored blob
    stored = notice.payloads()
    payloads = {**stored, **{name: data for name, data in item.payloads.items() if name not in stored}}
    notice.raw = pack_payloads(payloads)
    notice.raw_format = "+".join(payloads)
    notice.enrichment = enrichment_of(dataclasses.replace(item, payloads=payloads))


def _add_missing_ids(notice: Notice, item: NoticeItem) -> None:
    for name in _LINKING_IDS:
        value = getattr(item, name)
        if getattr(notice, name) is None and value not in (None, 0, ""):
            setattr(notice, name, value)


def _apply_item(
    notice: Notice, item: NoticeItem, fetched_at: datetime, content: dict[str, Any], content_hash: str
) -> None:
    """Copy an item's content (``item.content()`` and its hash) onto a row (the batch finds the buyer).

    A row that is still transient (a new notice, not yet in the session) gets its values
    straight into its state, as a row loaded from the database would: its INSERT sends
    what the state holds, and no change history is needed for it; going through each
    attribute's events cost as much as compressing the payloads. A stored row is set
    attribute by attribute, so that the flush knows what changed.
    """
    values = row_values(item, fetched_at, content, content_hash)
    if inspect(notice).transient:
        notice.__dict__.update(values)
    else:
        for name, value in values.items():
            setattr(notice, name, value)


def row_values(item: NoticeItem, fetched_at: datetime, content: dict[str, Any], content_hash: str) -> dict[str, Any]:
    """The notice row's columns for an item (all but its id, tender and buyer)."""
    return {
        "source": item.source,
        "source_id": item.source_id,
        "status": "ok",
        "error": None,
        "kind": item.kind,
        "notice_type": item.notice_type,
        "form_type": item.form_type,
        "subtype": item.subtype,
        "legal_basis": item.legal_basis,
        "notice_id": item.notice_id,
        "notice_version": item.notice_version,
        "full_notice_id": item.full_notice_id,
        "procedure_id": item.procedure_id,
        "publication_number": item.publication_number,
        "hilma_notice_number": item.hilma_notice_number,
        "hilma_procedure_id": item.hilma_procedure_id or None,
        "changed_notice": item.changed_notice,
        "previous_notices": list(item.previous_notices),
        "change_reason": item.change_reason,
        "language": item.language,
        "national": item.national,
        "cancelled": item.cancelled,
        "titles": content["titles"],
        "descriptions": content["descriptions"],
        "title": item.title,
        "cpv_main": item.cpv_main,
        "cpv": item.cpv,
        "contract_nature": item.contract_nature,
        "procedure_type": item.procedure_type,
        "estimated_value": to_money(item.estimated_value),
        "currency": item.currency,
        "deadline": to_utc(item.deadline),
        "framework_agreement": item.framework_agreement,
        "documents_url": item.documents_url,
        "planned_date": date.fromisoformat(item.planned_date) if item.planned_date else None,
        "places": content["places"],
        "lots": content["lots"],
        "awards": content["awards"],
        "awarded_value": to_money(item.awarded_value),
        "awarded_currency": item.awarded_currency,
        "statistics": content["statistics"],
        "url": item.url,
        "published_at": to_utc(item.published_at),
        "modified_at": to_utc(item.modified_at),
        "fetched_at": fetched_at,
        "enrichment": enrichment_of(item),
        "content_hash": content_hash,
        "raw_format": "+".join(item.payloads) or None,
        "raw": pack_payloads(item.payloads),
    }

