"""The production gunicorn (analytics_api/server/gunicorn_conf.py, as ``make run`` and the image start it),
spoken to over raw sockets: its own errors are the JSON envelope, slow clients are cut off and do not
stop other requests, chunked bodies are refused instead of read as empty."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.rawhttp import SlowClients, exchange, get
from tools.drills.records import INGEST_INTERACTIONS
from tools.drills.stack import ACCOUNT_ID, ORG_ID, client_create
from tools.harness.pg import sqlite_app_env
from tools.harness.server import Gunicorn, manage

# Short read deadlines, so that the tests see them expire; everything else is the committed config.
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return sqlite_app_env(tmp_path_factory.mktemp("gunicorn"))


@pytest.fixture(scope="module")
def server(app_env: dict[str, str]) -> Iterator[Gunicorn]:
    env = {**app_env, "WEB_HEADER_TIMEOUT": str(HEADER_TIMEOUT_S), "WEB_BODY_TIMEOUT": str(BODY_TIMEOUT_S)}
    manage(env, "create_account", ACCOUNT_ID, "--org", ORG_ID, "--name", "Gunicorn test")
    # make run's two workers, the configured threads.
    with Gunicorn(env=env, workers=2) as running:
        running.token = client_create(env, name="gunicorn test", scopes=["ingest"], ttl_s=3600).token
        yield running


def test_a_request_line_gunicorn_cannot_parse_is_answered_with_the_envelope(server: Gunicorn) -> None:
    answer = exchange(server.port, b"NOT A REQUEST\r\n\r\n")
    assert answer.status == 400
    code, msg = answer.envelope()
    assert code == "bad_request"
    assert msg.startswith("The request is not valid HTTP/1.1 (")


def test_a_too_long_uri_is_414_with_the_envelope(server: Gunicorn) -> None:
    answer = get(server.port, "/api/health?q=" + "a" * 9000)
    assert answer.status == 414
    assert answer.envelope() == (
        "uri_too_long", "The request line is longer than 8190 bytes; shorten the URL (filters go in the JSON body)."
    )


def test_too_large_headers_are_431_with_the_envelope(server: Gunicorn) -> None:
    answer = get(server.port, "/api/health", headers={"X-Big": "b" * 9000})
    assert answer.status == 431
    assert answer.envelope() == (
        "headers_too_large",
        "The request headers are too large or too many (at most 100 headers of 8190 bytes each); "
        "send fewer or shorter headers.",
    )


def test_a_chunked_body_is_refused_with_411_not_read_as_empty(server: Gunicorn) -> None:
    body = json.dumps({"records": []}).encode()
    head = (f"POST {INGEST_INTERACTIONS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"auth: {server.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = exchange(server.port, head.encode(), b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert answer.status == 411
    assert answer.envelope() == (
        "length_required",
        "Send the request body with a Content-Length header; chunked transfer encoding is not accepted.",
    )
    assert answer.headers["x-request-id"]


def test_the_same_body_with_content_length_is_read(server: Gunicorn) -> None:
    body = json.dumps({"records": []}).encode()
    head = (f"POST {INGEST_INTERACTIONS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"auth: {server.token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    answer = exchange(server.port, head.encode() + body)
    # The body was read: an empty list is a validation error naming the field, not a missing body.
    assert answer.status == 400, answer.body
    assert [item["field"] for item in answer.json()["errors"]] == ["records"]


def test_a_slow_request_head_is_cut_off_with_408_after_the_header_timeout(server: Gunicorn) -> None:
    with SlowClients(server.port, 1, kind="header", interval_s=0.3) as slow:
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 5
        while not slow.closed_after_s and time.monotonic() < deadline:
            time.sleep(0.1)
    assert slow.closed_after_s, "the server never closed the slow connection"
    assert HEADER_TIMEOUT_S - 0.5 < slow.closed_after_s[0] < HEADER_TIMEOUT_S + 2
    assert slow.answers[0].startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    body = json.loads(slow.answers[0].partition(b"\r\n\r\n")[2])
    assert body["errors"][0]["code"] == "request_timeout"


def test_a_slow_body_is_cut_off_with_408_after_the_body_timeout(server: Gunicorn) -> None:
    with SlowClients(server.port, 1, kind="body", interval_s=0.3, path=INGEST_INTERACTIONS,
                     headers={"auth": server.token}) as slow:
        deadline = time.monotonic() + BODY_TIMEOUT_S + 8
        while not slow.closed_after_s and time.monotonic() < deadline:
            time.sleep(0.1)
    assert slow.closed_after_s, "the server never closed the slow connection"
    assert slow.answers[0].startswith(b"HTTP/1.1 408 Request Timeout\r\n"), slow.answers[0][:300]
    assert b'"code":"request_timeout"' in slow.answers[0]


def test_eight_slow_clients_of_each_kind_do_not_stop_a_normal_request(server: Gunicorn) -> None:
    """Two sockets sending headers slowly used to hold both sync workers of ``make run``.

    24 slow sockets against 2 workers × 16 threads: however unevenly the workers accept them, a
    worker with every thread busy stops accepting, so a normal request never queues behind them.
    """
    body = {"kind": "body", "path": INGEST_INTERACTIONS, "headers": {"auth": server.token}}
    with SlowClients(server.port, 8, kind="header", interval_s=0.2), SlowClients(server.port, 8, kind="silent"), \
            SlowClients(server.port, 8, interval_s=0.2, **body):
        began = time.monotonic()
        latencies = []
        # While every slow socket is still held (before the header and body timeouts cut them).
        while time.monotonic() - began < HEADER_TIMEOUT_S - 0.7:
            answer = get(server.port, "/api/health", timeout_s=5)
            assert answer.status == 200
            latencies.append(answer.elapsed_s)
    assert len(latencies) >= 3
    assert max(latencies) < 0.5, latencies


def test_a_worker_with_every_thread_busy_leaves_new_connections_to_the_others(app_env: dict[str, str]) -> None:
    """gthread accepted while it had connection slots, so a request could queue behind slow clients
    in one worker while another worker had a free thread."""
    with Gunicorn(env={**app_env, "WEB_HEADER_TIMEOUT": "20"}, workers=2, threads=2) as small:
        # Three slow heads for four threads: one worker has both of its threads held.
        with SlowClients(small.port, 3, kind="header", interval_s=0.5):
            latencies = [get(small.port, "/api/health", timeout_s=25).elapsed_s for _ in range(12)]
    assert max(latencies) < 1.0, latencies


def test_connections_that_send_nothing_hold_no_thread(app_env: dict[str, str]) -> None:
    """gthread let a thread wait up to 5 s for a new connection's first byte."""
    with Gunicorn(env=app_env, workers=1, threads=1) as smallest, SlowClients(smallest.port, 5, kind="silent"):
        latencies = [get(smallest.port, "/api/health", timeout_s=25).elapsed_s for _ in range(5)]
    assert max(latencies) < 0.5, latencies


