"""Properties of the eForms parser over inputs nobody wrote by hand.

Whatever bytes arrive (a truncated download, a proxy's error page, a notice with a
value nobody foresaw), the parser returns an item or raises PayloadError and nothing
else; and what it reads comes out as written: texts, deadlines, identifiers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from config.errors import PayloadError
from crawler.codes import normalise_business_id, normalise_publication_number
from crawler.eforms import NS, parse_eforms
from crawler.items import NoticeItem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eforms"
FIXTURE_BYTES = {path.name: path.read_bytes() for path in sorted(FIXTURES.glob("*.xml"))}
SKELETON = FIXTURE_BYTES["national_contract_notice_E3_forssa.xml"]

#: Characters XML 1.0 can carry (no surrogates, control characters or non-characters).
xml_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\t\n"), max_size=200
)


def parses_or_refuses(data: bytes) -> NoticeItem | None:
    """The parser's whole contract for bad input: an item, or a PayloadError with a message."""
    try:
        return parse_eforms(data)
    except PayloadError as error:
        assert str(error)
        return None


def with_text(path: str, text: str) -> bytes:
    """The skeleton with the text of every element at ``path`` replaced."""
    root = etree.fromstring(SKELETON)
    nodes = root.xpath(path, namespaces=NS)
    assert nodes, path
    for node in nodes:
        node.text = text
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


# --- nothing but PayloadError ----------------------------------------------------------------------------------------


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_raise_payload_error(data: bytes) -> None:
    parses_or_refuses(data)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = FIXTURE_BYTES[draw(st.sampled_from(sorted(FIXTURE_BYTES)))]
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, min(len(data), start + 400)))
    mutation = draw(st.sampled_from(["truncate", "delete", "duplicate", "overwrite", "insert"]))
    if mutation == "truncate":
        return data[:start]
    if mutation == "delete":
        return data[:start] + data[end:]
    if mutation == "duplicate":
        return data[:end] + data[start:end] + data[end:]
    noise = draw(st.binary(min_size=1, max_size=20))
    if mutation == "overwrite":
        return data[:start] + noise + data[start + len(noise) :]
    return data[:start] + noise + data[start:]


@settings(max_examples=300)
@given(mutated_fixture())
def test_mutated_and_truncated_notices_parse_or_raise_payload_error(data: bytes) -> None:
    parses_or_refuses(data)


@st.composite
def fixture_with_one_value_replaced(draw: st.DrawFn) -> bytes:
    """A well-formed notice where one element's text or one attribute holds anything at all."""
    root = etree.fromstring(FIXTURE_BYTES[draw(st.sampled_from(sorted(FIXTURE_BYTES)))])
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    element = draw(st.sampled_from(elements))
    value = draw(st.one_of(xml_text, st.from_regex(r"[-+.:0-9TZ ]{0,30}", fullmatch=True)))
    if element.attrib and draw(st.booleans()):
        element.set(draw(st.sampled_from(sorted(element.attrib))), value)
    elif len(element) == 0:
        element.text = value
    else:
        element.tail = value
    return etree.tostring(root, encoding="UTF-8")


@settings(max_examples=300)
@given(fixture_with_one_value_replaced())
def test_any_value_in_any_field_parses_or_raises_payload_error(data: bytes) -> None:
    parses_or_refuses(data)


# --- what is read comes out as written -------------------------------------------------------------------------------


@given(xml_text)
def test_any_title_comes_out_as_written_without_surrounding_whitespace(title: str) -> None:
    assume(title.strip())
    item = parse_eforms(with_text("cac:ProcurementProject/cbc:Name", title))
    assert item.titles == {"fi": title.strip()}


@given(xml_text)
def test_any_buyer_name_and_lot_title_come_out_as_written(text: str) -> None:
    assume(text.strip())
    root = etree.fromstring(SKELETON)
    root.xpath("//efac:Company[cac:PartyIdentification/cbc:ID='ORG-0001']/cac:PartyName/cbc:Name", namespaces=NS)[
        0
    ].text = text
    root.xpath("cac:ProcurementProjectLot/cac:ProcurementProject/cbc:Name", namespaces=NS)[0].text = text
    item = parse_eforms(etree.tostring(root, encoding="UTF-8"))
    assert item.buyers[0].name == text.strip()
    assert item.lots[0].title == text.strip()


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def xs_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets).map(
        lambda moment: moment.replace(microsecond=0)
    )
)
def test_any_deadline_comes_out_as_the_same_moment_with_its_offset(moment: datetime) -> None:
    root = etree.fromstring(SKELETON)
    period = "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod"
    root.xpath(f"{period}/cbc:EndDate", namespaces=NS)[0].text = f"{moment:%Y-%m-%d}{xs_offset(moment)}"
    root.xpath(f"{period}/cbc:EndTime", namespaces=NS)[0].text = f"{moment:%H:%M:%S}{xs_offset(moment)}"
    item = parse_eforms(etree.tostring(root, encoding="UTF-8"))
    assert item.deadline == moment
    assert item.deadline is not None and item.deadline.utcoffset() == moment.utcoffset()


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_a_z_offset_is_utc(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    root = etree.fromstring(SKELETON)
    root.xpath("cbc:IssueDate", namespaces=NS)[0].text = f"{moment:%Y-%m-%d}Z"
    root.xpath("cbc:IssueTime", namespaces=NS)[0].text = f"{moment:%H:%M:%S}Z"
    assert parse_eforms(etree.tostring(root, encoding="UTF-8")).published_at == moment


def y_tunnus_check_digit(digits: str) -> int | None:
    remainder = sum(int(digit) * weight for digit, weight in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return None if remainder == 1 else (0 if remainder == 0 else 11 - remainder)


@given(st.from_regex(r"[0-9]{7}", fullmatch=True))
def test_every_written_form_of_a_finnish_business_id_becomes_the_same(digits: str) -> None:
    check = y_tunnus_check_digit(digits)
    assume(check is not None)
    canonical = f"{digits}-{check}"
    for written in (canonical, f"{digits}{check}", f"FI{digits}{check}", f" fi{digits}{check} "):
        assert normalise_business_id(written, "FIN") == canonical
        assert normalise_business_id(written, None) == canonical


@given(st.from_regex(r"[0-9]{7}", fullmatch=True), st.integers(0, 9))
def test_a_number_with_a_wrong_check_digit_is_kept_as_given(digits: str, check: int) -> None:
    assume(check != y_tunnus_check_digit(digits))
    assert normalise_business_id(f"FI{digits}{check}", "FIN") == f"FI{digits}{check}"


@given(st.integers(1, 99_999_999), st.integers(2000, 2100))
def test_a_padded_publication_number_loses_its_padding(number: int, year: int) -> None:
    assert normalise_publication_number(f"{number:08d}-{year}") == f"{number}-{year}"
    assert normalise_publication_number(f"{number}-{year}") == f"{number}-{year}"
