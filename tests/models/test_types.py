"""Column types and small normalisations, with inputs that vary."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from models.crawl import CrawlRun
from models.notice import name_key, normalise_business_id
from models.types import pack_payloads, unpack_payloads

payload_dicts = st.dictionaries(st.sampled_from(["hilma-index", "eforms", "ted-search", "x"]), st.binary(max_size=300))
aware_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
).filter(lambda value: value.utcoffset() is not None)


@given(payload_dicts)
def test_any_payloads_round_trip_through_the_compressed_blob(payloads: dict[str, bytes]) -> None:
    assert unpack_payloads(pack_payloads(payloads)) == payloads


@given(st.dictionaries(st.sampled_from(["hilma-index", "eforms"]), st.text(max_size=200)))
def test_text_payloads_are_kept_as_readable_text_in_the_blob(texts: dict[str, str]) -> None:
    payloads = {name: text.encode("utf-8") for name, text in texts.items()}
    assert json.loads(zlib.decompress(pack_payloads(payloads))) == texts


@given(st.from_regex(r"\A[0-9]{7}\Z"), st.integers(0, 9), st.sampled_from(["{}-{}", "FI{}{}", "{}{}", " fi{} {} "]))
def test_a_finnish_business_id_in_any_spelling_normalises_to_one_form(digits: str, check: int, form: str) -> None:
    assert normalise_business_id(form.format(digits, check)) == f"{digits}-{check}"


def test_a_foreign_business_id_is_kept_as_given() -> None:
    assert normalise_business_id("SE556677889901") == "SE556677889901"
    assert normalise_business_id("   ") is None


@given(st.text(alphabet="AaÄäÖöÅå kK-", min_size=1, max_size=30))
def test_buyer_names_differing_in_case_and_spacing_match(name: str) -> None:
    assert name_key(name.upper()) == name_key("  " + name.lower().replace(" ", "   ") + " ")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=aware_datetimes)
def test_any_aware_datetime_comes_back_as_the_same_instant_in_utc(
    session_factory: sessionmaker[Session], moment: datetime
) -> None:
    with session_factory() as session:
        run = CrawlRun(source="hilma", started_at=moment, status="running", errors=[])
        session.add(run)
        session.commit()
        run_id = run.id
    with session_factory() as session:
        stored = session.scalars(select(CrawlRun.started_at).where(CrawlRun.id == run_id)).one()
        session.delete(session.get_one(CrawlRun, run_id))
        session.commit()
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    # Compared in UTC: Python never equates a time in a DST gap or fold with another zone's (PEP 495).
    assert stored == moment.astimezone(UTC)


def test_a_naive_datetime_is_refused_by_the_column(session: Session) -> None:
    session.add(CrawlRun(source="hilma", started_at=datetime(2026, 5, 1, 12, 0), status="running", errors=[]))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_a_comparison_in_sql_uses_utc_whatever_the_zone_of_the_value(session: Session) -> None:
    noon_utc = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    session.add(CrawlRun(source="hilma", started_at=noon_utc, status="running", errors=[]))
    session.flush()
    helsinki = timezone(timedelta(hours=3))
    before = datetime(2026, 5, 1, 14, 59, tzinfo=helsinki)  # 11:59 UTC
    after = datetime(2026, 5, 1, 15, 1, tzinfo=helsinki)  # 12:01 UTC
    assert session.scalar(select(CrawlRun.id).where(CrawlRun.started_at > before)) is not None
    assert session.scalar(select(CrawlRun.id).where(CrawlRun.started_at > after)) is None
