"""The stand-in base: serving, the request log, and faults that fire exactly when planned."""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Iterator
from http.client import RemoteDisconnected

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.standins.server import MAINTENANCE_PAGE, RecordedRequest, Response, StandInServer, json_response
from tests.standins.standin_http import http


class EchoStandIn(StandInServer):
    """Answers every request with what it received, so a test can tell a normal answer from a fault."""

    name = "echo"

    def handle(self, request: RecordedRequest) -> Response:
        return json_response(200, {"method": request.method, "path": request.path, "query": request.query})


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoStandIn]:
    with EchoStandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults_left(echo: EchoStandIn) -> Iterator[None]:
    echo.clear_faults()
    echo.clear_requests()
    yield
    echo.clear_faults()


def statuses(server: StandInServer, count: int, path: str = "/api/search") -> list[int]:
    return [http("GET", f"{server.base_url}{path}").status for _ in range(count)]


def test_a_started_stand_in_listens_on_loopback_at_a_free_port(echo: EchoStandIn) -> None:
    assert echo.base_url.startswith("http://127.0.0.1:")
    reply = http("GET", f"{echo.base_url}/hello?x=1")
    assert reply.status == 200
    assert reply.json() == {"method": "GET", "path": "/hello", "query": {"x": ["1"]}}


def test_the_request_log_records_method_path_query_headers_and_body(echo: EchoStandIn) -> None:
    http("POST", f"{echo.base_url}/api/search?top=5", json_body={"search": "*"}, headers={"X-Test": "yes"})
    [request] = echo.requests
    assert (request.method, request.path, request.query) == ("POST", "/api/search", {"top": ["5"]})
    assert request.header("x-test") == "yes"
    assert request.json() == {"search": "*"}
    assert request.fault is None


def test_a_status_fault_lets_after_requests_pass_then_fires_times_times(echo: EchoStandIn) -> None:
    echo.add_fault("/api", status=503, times=2, after=1, body='{"error": "down"}')
    assert statuses(echo, 5) == [200, 503, 503, 200, 200]
    assert [request.fault for request in echo.requests] == [None, "status", "status", None, None]


def test_a_fault_only_touches_requests_under_its_path_and_method(echo: EchoStandIn) -> None:
    echo.add_fault("/api/search", method="POST", status=500, times=-1)
    assert statuses(echo, 2, "/api/search") == [200, 200]
    assert statuses(echo, 1, "/other") == [200]
    assert http("POST", f"{echo.base_url}/api/search", json_body={}).status == 500


def test_times_minus_one_faults_forever_until_the_faults_are_cleared(echo: EchoStandIn) -> None:
    echo.add_fault("/", status=502, times=-1)
    assert statuses(echo, 4) == [502] * 4
    echo.clear_faults()
    assert statuses(echo, 1) == [200]


def test_a_retry_after_fault_answers_429_with_the_seconds_to_wait(echo: EchoStandIn) -> None:
    echo.add_fault("/api", kind="retry_after", seconds=7)
    reply = http("GET", f"{echo.base_url}/api/search")
    assert reply.status == 429
    assert reply.header("Retry-After") == "7"
    assert http("GET", f"{echo.base_url}/api/search").status == 200


def test_a_truncate_fault_serves_half_of_the_real_body_as_a_complete_200(echo: EchoStandIn) -> None:
    whole = http("GET", f"{echo.base_url}/api/search?page=2").body
    echo.add_fault("/api", kind="truncate")
    reply = http("GET", f"{echo.base_url}/api/search?page=2")
    assert reply.status == 200
    assert reply.body == whole[: len(whole) // 2]
    assert reply.header("Content-Length") == str(len(reply.body))
    with pytest.raises(json.JSONDecodeError):
        reply.json()


def test_an_html200_fault_serves_a_maintenance_page_with_status_200(echo: EchoStandIn) -> None:
    echo.add_fault("/api", kind="html200")
    reply = http("GET", f"{echo.base_url}/api/search")
    assert reply.status == 200
    assert reply.header("Content-Type") == "text/html"
    assert reply.body.decode("utf-8") == MAINTENANCE_PAGE


class PageStandIn(StandInServer):
    """Answers with one page of results, a total and a next-page token, as the search APIs do."""

    name = "pages"

    def handle(self, request: RecordedRequest) -> Response:
        return json_response(200, {"value": [{"id": "EF-1"}, {"id": "EF-2"}], "@odata.count": 7, "next": "abc"})


def test_an_empty_fault_serves_the_page_without_its_results_but_with_its_total_and_token() -> None:
    with PageStandIn() as pages:
        pages.add_fault("/api", kind="empty")
        emptied = http("GET", f"{pages.base_url}/api/search")
        normal = http("GET", f"{pages.base_url}/api/search")
    assert emptied.status == 200
    assert emptied.json() == {"value": [], "@odata.count": 7, "next": "abc"}
    assert normal.json()["value"] == [{"id": "EF-1"}, {"id": "EF-2"}]
    assert [request.fault for request in pages.requests] == ["empty", None]


def test_a_disconnect_fault_closes_the_connection_without_an_answer(echo: EchoStandIn) -> None:
    echo.add_fault("/api", kind="disconnect", times=1)
    with pytest.raises((RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        http("GET", f"{echo.base_url}/api/search")
    assert statuses(echo, 1) == [200]
    assert [request.fault for request in echo.requests] == ["disconnect", None]


def test_a_delay_fault_answers_normally_but_late(echo: EchoStandIn) -> None:
    echo.add_fault("/api", kind="delay", seconds=0.3)
    started = time.monotonic()
    reply = http("GET", f"{echo.base_url}/api/search")
    assert reply.status == 200 and reply.json()["path"] == "/api/search"
    assert time.monotonic() - started >= 0.3


def test_a_delay_longer_than_the_client_waits_is_a_timeout(echo: EchoStandIn) -> None:
    echo.add_fault("/api", kind="delay", seconds=0.5)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        http("GET", f"{echo.base_url}/api/search", timeout=0.1)


def test_an_unknown_fault_kind_is_refused(echo: EchoStandIn) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        echo.add_fault("/", kind="explode")


def observed(server: StandInServer, path: str) -> str:
    """What one request met: the normal answer, or which fault (judged from the client's side)."""
    try:
        reply = http("GET", f"{server.base_url}{path}")
    except (RemoteDisconnected, ConnectionError, urllib.error.URLError):
        return "disconnect"
    if reply.status == 418:
        return "status"
    if reply.status == 429:
        return "retry_after"
    if reply.header("Content-Type") == "text/html":
        return "html200"
    try:
        reply.json()
    except json.JSONDecodeError:
        return "truncate"
    return "normal"


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["status", "retry_after", "truncate", "html200", "disconnect", "delay"]),
    after=st.integers(0, 3),
    times=st.integers(0, 3),
    extra=st.integers(0, 2),
)
def test_every_fault_kind_fires_exactly_times_times_after_after(kind: str, after: int, times: int, extra: int) -> None:
    with EchoStandIn() as server:
        server.add_fault("/api", kind=kind, status=418, times=times, after=after, seconds=0.01)
        seen = [observed(server, "/api/search") for _ in range(after + times + extra)]
        expected_answer = "normal" if kind == "delay" else kind  # a delayed answer is a normal one, late
        assert seen == ["normal"] * after + [expected_answer] * times + ["normal"] * extra
        assert [request.fault for request in server.requests] == [None] * after + [kind] * times + [None] * extra


def test_a_stopped_stand_in_refuses_connections() -> None:
    server = EchoStandIn()
    with server:
        url = server.base_url
    with pytest.raises(urllib.error.URLError):
        http("GET", url, timeout=1)
