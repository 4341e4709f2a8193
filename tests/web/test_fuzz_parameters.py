"""Any string in any query parameter or form field: an answer, never a 500.

The parameter names are read from the pages' own forms (and the API's documented
list), so a field added later is fuzzed without editing this file. POSTs carry a valid
CSRF token, so the fuzz reaches the code behind the token check.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from tests.web.conftest import Store, tender_id, token_of

API_PARAMETERS = [
    "all",
    "region",
    "sector",
    "kind",
    "status",
    "published_from",
    "published_to",
    "deadline_from",
    "deadline_to",
    "sort",
    "page",
    "per_page",
]
values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from("\x00\x1b\u202e<>\"'&%;:/\\.-_0123456789aäkK "), max_size=30),
    st.sampled_from(["", "0", "-1", "1e309", "99999999999999999999", "2026-02-30", "kunta:", "region:05", "<script>"]),
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def field_names(page: str) -> list[str]:
    """The names of a page's form fields, the CSRF token's aside."""
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page))
    return sorted(names - {"csrf_token"})


@pytest.fixture
def tender(store: Store, session_factory: sessionmaker[Session]) -> int:
    store("Koulujen siivous Forssassa")
    return tender_id(session_factory, "Koulujen siivous Forssassa")


def assert_answered(response: TestResponse) -> None:
    assert response.status_code < 500, response.text[:500]


@FUZZ
@given(data=st.data())
def test_any_query_on_the_public_pages_and_the_api_is_answered(
    data: st.DataObject, client: FlaskClient, tender: int
) -> None:
    names = field_names(client.get("/").text) + API_PARAMETERS
    for path in ("/", "/api/tenders", f"/hankinnat/{tender}", "/tilaa"):
        query = data.draw(st.lists(st.tuples(st.sampled_from(names), values), max_size=6), label=path)
        assert_answered(client.get(path, query_string=query))


@FUZZ
@given(data=st.data())
def test_any_query_on_the_staff_pages_is_answered(data: st.DataObject, staff: FlaskClient, tender: int) -> None:
    names = field_names(staff.get("/henkilokunta/").text)
    for path in (
        "/henkilokunta/",
        "/henkilokunta/vienti.csv",
        f"/henkilokunta/hankinnat/{tender}",
        "/henkilokunta/haut",
    ):
        query = data.draw(st.lists(st.tuples(st.sampled_from(names), values), max_size=6), label=path)
        assert_answered(staff.get(path, query_string=query))


@FUZZ
@given(data=st.data())
def test_any_form_posted_with_a_valid_token_is_answered(data: st.DataObject, staff: FlaskClient, tender: int) -> None:
    detail = f"/henkilokunta/hankinnat/{tender}"
    page = staff.get(detail).text
    forms = {
        detail + "/arvio": field_names(page),
        detail + "/luokitus": field_names(page),
        detail + "/poiminta": field_names(page),
        "/tilaa": field_names(staff.get("/tilaa").text),
        "/tilaukseni": ["email"],
    }
    token = token_of(page)
    for path, names in forms.items():
        form = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=8), label=path)
        assert_answered(staff.post(path, data={**form, "csrf_token": token}))
