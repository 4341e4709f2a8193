"""A small HTTP server on loopback for the API stand-ins, with a request log and fault injection.

The spiders must be tested against what HTTP actually does to them: a 500 now and
then, a 429 with ``Retry-After``, a body cut short, an HTML error page served as
200, a connection dropped without an answer, an answer that comes too late, a page
of results that is empty although more results follow. A
subclass describes the API (:meth:`StandInServer.handle`); this base serves it on
``127.0.0.1`` from a daemon thread, records every request for the test to inspect,
and lets the test break chosen requests with :meth:`StandInServer.add_fault`.

It is the standard library's ``ThreadingHTTPServer``: no event loop to share with
Scrapy's Twisted reactor, and a test can start one per test in milliseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "retry_after", "truncate", "html200", "disconnect", "delay", "empty"]
FAULT_KINDS: tuple[str, ...] = ("status", "retry_after", "truncate", "html200", "disconnect", "delay", "empty")

#: The page a gateway or a maintenance break serves with status 200: the classic trap
#: for a client that trusts the status code and then fails to parse JSON.
MAINTENANCE_PAGE = (
    '<!DOCTYPE html>\n<html lang="fi"><head><meta charset="utf-8"><title>Huoltokatko</title></head>\n'
    "<body><h1>Palvelu on tilapäisesti poissa käytöstä</h1>\n"
    "<p>Teemme palveluun huoltotöitä. Yritä hetken kuluttua uudelleen.</p></body></html>\n"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it (also what :meth:`StandInServer.handle` is given)."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    fault: str | None = None  # the fault kind that answered this request, if one did
    received_at: float = field(default_factory=time.monotonic)  # for tests of waits between requests

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int,
    payload: Any,
    *,
    content_type: str = "application/json; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": content_type, **(headers or {})})


def text_response(status: int, text: str, *, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), {"Content-Type": content_type})


@dataclass
class Fault:
    """A planned failure for requests whose path starts with ``path_prefix``.

    The first ``after`` matching requests pass untouched; the next ``times`` ones are
    answered by the fault (``times=-1``: all of them).
    """

    path_prefix: str
    method: str | None
    status: int
    times: int
    after: int
    kind: str
    headers: dict[str, str]
    body: bytes | None
    seconds: float
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method.upper() == method)

    def take(self) -> bool:
        """Count one matching request; True when this fault answers it."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times != -1 and self.fired >= self.times:
            return False
        self.fired += 1
        return True


class StandInServer:
    """Base of the stand-ins: serving, request log, faults. Subclasses implement :meth:`handle`."""

    #: shown in logs and in the ``Server`` header
    name = "hankintavahti-standin"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread and return the base URL (``http://127.0.0.1:PORT``)."""
        if self._httpd is not None:
            return self.base_url
        httpd = ThreadingHTTPServer(self._address, _Handler)
        httpd.daemon_threads = True
        httpd.standin = self  # type: ignore[attr-defined]
        self._httpd = httpd
        # A short poll interval makes stop() quick: tests start and stop many servers.
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name=self.name, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} is not running: call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- request log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy: safe to read while serving)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- faults -------------------------------------------------------------------------------

    def add_fault(
        self,
        path_prefix: str,
        *,
        method: str | None = None,
        status: int = 500,
        times: int = 1,
        after: int = 0,
        kind: str = "status",
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        seconds: float = 1.0,
    ) -> Fault:
        """Break matching requests.

        ``kind``: ``status`` (answer ``status`` with ``body``), ``retry_after`` (429 with
        ``Retry-After: seconds``), ``truncate`` (the real answer, status 200, with its body
        cut in half and a Content-Length that agrees, so the client gets broken JSON or
        XML rather than a network error), ``html200`` (200 with an HTML maintenance page),
        ``disconnect`` (close the connection without answering), ``delay`` (wait
        ``seconds``, then answer normally), ``empty`` (the real answer with every list at
        the top of its JSON object emptied and everything else kept: a page of results
        with no results, yet with the total and the next-page token of a full one).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if times < -1 or after < 0:
            raise ValueError("times must be -1 (forever) or >= 0, and after >= 0")
        fault = Fault(
            path_prefix=path_prefix,
            method=method,
            status=status,
            times=times,
            after=after,
            kind=kind,
            headers=dict(headers or {}),
            body=body.encode("utf-8") if isinstance(body, str) else body,
            seconds=seconds,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- the API ------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        """Answer one request. Subclasses describe their API here."""
        raise NotImplementedError

    # -- called by the handler thread ---------------------------------------------------------

    def _receive(self, request: RecordedRequest) -> Fault | None:
        """Record the request and decide whether a fault answers it (every fault counts it)."""
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if fault.matches(request.method, request.path) and fault.take() and chosen is None:
                    chosen = fault
            recorded = request if chosen is None else _with_fault(request, chosen.kind)
            self._requests.append(recorded)
        return chosen

    def _answer(self, request: RecordedRequest) -> Response:
        try:
            return self.handle(request)
        except Exception as error:  # a bug in a stand-in must show up in the test, not hang it
            traceback.print_exc()
            return json_response(500, {"message": f"stand-in error: {type(error).__name__}: {error}"})


def _with_fault(request: RecordedRequest, kind: str) -> RecordedRequest:
    return dataclasses.replace(request, fault=kind)


def fault_response(fault: Fault, normal: Response | None) -> Response:
    """What a fault answers instead of (or made from) the normal response."""
    if fault.kind == "retry_after":
        seconds = max(1, math.ceil(fault.seconds))
        response = text_response(429, fault.body.decode("utf-8") if fault.body else "Too Many Requests")
        response.headers["Retry-After"] = str(seconds)
    elif fault.kind == "html200":
        response = Response(200, fault.body or MAINTENANCE_PAGE.encode("utf-8"), {"Content-Type": "text/html"})
    elif fault.kind == "truncate":
        assert normal is not None
        response = Response(200, normal.body[: len(normal.body) // 2], dict(normal.headers))
    elif fault.kind == "empty":
        assert normal is not None
        response = Response(normal.status, _emptied(normal.body), dict(normal.headers))
    else:  # status
        body = fault.body if fault.body is not None else json.dumps({"statusCode": fault.status}).encode("utf-8")
        response = Response(fault.status, body, {"Content-Type": "application/json"})
    response.headers.update(fault.headers)
    return response


def _emptied(body: bytes) -> bytes:
    """A JSON object with its top-level lists emptied; any other body as it was."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict):
        return body
    emptied = {key: [] if isinstance(value, list) else value for key, value in payload.items()}
    return json.dumps(emptied, ensure_ascii=False).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real gateways; every answer has a Content-Length

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, stderr would only clutter test output."""

    def _dispatch(self) -> None:
        standin: StandInServer = self.server.standin  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={key: value for key, value in self.headers.items()},
            body=body,
        )
        fault = standin._receive(request)
        if fault is None:
            response = standin._answer(request)
        elif fault.kind == "disconnect":
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may already be gone
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        elif fault.kind == "delay":
            time.sleep(fault.seconds)
            response = standin._answer(request)
        elif fault.kind in ("truncate", "empty"):
            response = fault_response(fault, standin._answer(request))
        else:
            response = fault_response(fault, None)
        self._write(response, standin.name)

    def _write(self, response: Response, server_name: str) -> None:
        try:
            self.server_version, self.sys_version = server_name, ""  # the Server header send_response writes
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout in a test): nothing to do
