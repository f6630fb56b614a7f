"""run_wrk against a tiny local HTTP server: every request is sent, statuses add up across threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.servers import serving
from tools.harness.server import free_port
from tools.harness.wrk import WrkRequest, ensure_wrk, lua_string, run_wrk

BODY = b'{"records": [' + b'"x",' * 40_000 + b'"end"]}'  # ~160 KB, like a large ingestion batch


class Seen:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int, str]] = Counter()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # wrk resets its connections when it stops: expected, not worth a traceback


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects

        def _answer(self, status: int) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with seen.lock:
                seen.requests[(self.command, self.path, len(body), self.headers.get("X-Probe", ""))] += 1
            out = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self) -> None:
            self._answer(404 if self.path.startswith("/api/missing") else 200)

        def do_POST(self) -> None:
            self._answer(201 if self.headers.get("Content-Length") == str(len(BODY)) else 400)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler, server_class=QuietServer) as base_url:
        yield f"{base_url}/api", seen


def test_lua_string_escapes_quotes_backslashes_and_non_ascii() -> None:
    assert lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert lua_string("é\n") == '"\\195\\169\\010"'


def test_wrk_cycles_through_every_request_and_counts_statuses_across_threads(
    server: tuple[str, Seen],
) -> None:
    ensure_wrk()
    base_url, seen = server
    requests = [
        WrkRequest("GET", "/ok?x=1", {"X-Probe": 'quote " and \\ é'}),
        WrkRequest("POST", "/ingest", {"Content-Type": "application/json"}, BODY),
        WrkRequest("GET", "/missing", {}),
    ]

    result = run_wrk(base_url=base_url, requests=requests, connections=4, threads=2, duration_s=1)

    assert result.socket_errors == 0
    assert result.requests > 3
    # Every thread's counts reach done(): they add up to every completed request.
    assert sum(result.status_counts.values()) == result.requests
    assert set(result.status_counts) == {200, 201, 404}
    assert result.count(200, 201) + result.count(404) == result.requests
    # Round-robin: no request is starved.
    assert max(result.status_counts.values()) - min(result.status_counts.values()) <= 4
    # The base URL's path is a prefix; headers and the file-borne body arrive intact.
    assert set(seen.requests) == {
        ("GET", "/api/ok?x=1", 0, 'quote " and \\ é'.encode().decode("latin-1")),
        ("POST", "/api/ingest", len(BODY), ""),
        ("GET", "/api/missing", 0, ""),
    }
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.rps > 0 and result.duration_s >= 1
    assert result.bytes_read > 0


def test_wrk_refusing_to_start_against_a_closed_port_is_an_error_naming_the_cause() -> None:
    # wrk checks one connection before it starts: a server that is not up is not a silent 0 rps.
    ensure_wrk()
    with pytest.raises(RuntimeError, match="unable to connect"):
        run_wrk(
            base_url=f"http://127.0.0.1:{free_port()}", requests=[WrkRequest("GET", "/", {})],
            connections=1, threads=1, duration_s=1,
        )
