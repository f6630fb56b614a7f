"""nginx with the committed server block (deploy/api.conf.template) in front of the production
gunicorn: its own errors are the JSON envelope, slow clients are held (and cut) by nginx while
normal requests answer, bodies over the limit stop at nginx, chunked bodies reach the application.

Needs Debian's nginx (``apt-get install nginx``); skipped when it is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.rawhttp import SlowClients, exchange, get
from tools.drills.records import INGEST_INTERACTIONS
from tools.drills.stack import ACCOUNT_ID, ORG_ID, client_create
from tools.harness.nginx import Nginx, nginx_binary
from tools.harness.pg import sqlite_app_env
from tools.harness.server import Gunicorn, free_port, manage

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")

# deploy/api.conf.template
CLIENT_HEADER_TIMEOUT_S = 10
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass
class Stack:
    proxy: Nginx
    token: str

    @property
    def port(self) -> int:
        return self.proxy.port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = sqlite_app_env(tmp_path_factory.mktemp("nginx"))
    manage(env, "create_account", ACCOUNT_ID, "--org", ORG_ID, "--name", "nginx test")
    token = client_create(env, name="nginx test", scopes=["ingest"], ttl_s=3600).token
    # One worker with one thread: without nginx's buffering, a single slow client would stop it.
    with Gunicorn(env=env, workers=1, threads=1) as server, Nginx(upstream=f"127.0.0.1:{server.port}") as proxy:
        yield Stack(proxy=proxy, token=token)


def _post(port: int, token: str, body: bytes, *, chunked: bool = False) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (f"POST {INGEST_INTERACTIONS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nauth: {token}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n").encode()
    return head + (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body)


def test_a_bad_request_line_is_400_with_the_envelope(stack: Stack) -> None:
    answer = exchange(stack.port, b"NOT A REQUEST\r\n\r\n")
    assert answer.status == 400
    assert answer.envelope() == ("bad_request", "The request is not valid HTTP; check the request line and headers.")
    assert answer.headers["x-request-id"]


def test_a_too_long_uri_is_414_with_the_envelope(stack: Stack) -> None:
    answer = get(stack.port, "/api/health?q=" + "a" * 9000)
    assert answer.status == 414
    assert answer.envelope()[0] == "uri_too_long"


def test_a_too_large_header_is_431_with_the_envelope(stack: Stack) -> None:
    answer = get(stack.port, "/api/health", headers={"X-Big": "b" * 9000})
    assert answer.status == 431
    assert answer.envelope() == (
        "headers_too_large", "A request header is longer than 8192 bytes; send fewer or shorter headers."
    )


def test_a_body_over_the_limit_is_413_with_the_envelope_from_nginx(stack: Stack) -> None:
    head = (f"POST {INGEST_INTERACTIONS} HTTP/1.1\r\nHost: localhost\r\nauth: {stack.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n")
    answer = exchange(stack.port, head.encode())
    assert answer.status == 413
    assert answer.envelope() == (
        "body_too_large",
        f"The request body is larger than {MAX_BODY_BYTES} bytes, the limit. Send fewer records per request.",
    )
    assert answer.headers["server"] == "nginx"  # refused before gunicorn saw a byte of it
    assert answer.headers["x-request-id"]


def test_a_dead_upstream_is_502_with_the_envelope_and_retry_after() -> None:
    with Nginx(upstream=f"127.0.0.1:{free_port()}", wait_for_upstream=False) as proxy:
        answer = get(proxy.port, "/api/health", headers={"x-request-id": "trace-502"})
    assert answer.status == 502
    assert answer.envelope() == ("upstream_unavailable", "The API server is not answering; retry shortly.")
    assert (answer.headers["retry-after"], answer.headers["x-request-id"]) == ("5", "trace-502")


def test_a_chunked_body_reaches_the_application_whole(stack: Stack) -> None:
    answer = exchange(stack.port, _post(stack.port, stack.token, json.dumps({"records": []}).encode(), chunked=True))
    # nginx buffered it and sent it on with a Content-Length: the application read the (empty) list.
    assert answer.status == 400, answer.body
    assert [item["field"] for item in answer.json()["errors"]] == ["records"]


def test_the_callers_request_id_reaches_the_application_and_comes_back(stack: Stack) -> None:
    answer = get(stack.port, "/api/health", headers={"x-request-id": "trace-42"})
    assert (answer.status, answer.headers["x-request-id"]) == (200, "trace-42")


def test_slow_header_sockets_are_cut_by_nginx_while_normal_requests_answer(stack: Stack) -> None:
    with SlowClients(stack.port, 8, kind="header", interval_s=0.5) as slow, \
            SlowClients(stack.port, 8, kind="body", interval_s=0.5, path=INGEST_INTERACTIONS,
                        headers={"auth": stack.token}):
        began = time.monotonic()
        latencies = []
        while time.monotonic() - began < CLIENT_HEADER_TIMEOUT_S + 3:
            answer = get(stack.port, "/api/health", timeout_s=5)
            assert answer.status == 200
            latencies.append(answer.elapsed_s)
            time.sleep(0.2)
        cut = list(slow.closed_after_s)
    assert max(latencies) < 1.0, latencies
    # Every slow head was closed by client_header_timeout (nginx answers nothing then).
    assert len(cut) == 8, cut
    assert all(CLIENT_HEADER_TIMEOUT_S - 1 < seconds < CLIENT_HEADER_TIMEOUT_S + 3 for seconds in cut), cut
