"""The production server (gunicorn, several workers): /metrics sums every worker, JSON logs, and
readiness when its private PostgreSQL stops."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tools.drills.backends import PG_BIN, PrivatePostgres
from tools.harness.pg import sqlite_app_env
from tools.harness.server import Gunicorn

needs_postgres_binaries = pytest.mark.skipif(
    not (PG_BIN / "initdb").exists(), reason=f"no PostgreSQL server binaries in {PG_BIN}"
)


def get(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def health_requests(base_url: str) -> float:
    status, body, _ = get(f"{base_url}/metrics")
    assert status == 200, body
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "analytics_http_requests_total" and sample.labels == {
                "operation": "getHealth", "status_class": "2xx"
            }:
                return sample.value
    return 0.0


def test_metrics_sum_the_requests_of_every_gunicorn_worker_and_logs_are_json(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = sqlite_app_env(tmp_path, LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    with Gunicorn(env=env, workers=3, threads=2) as server:
        # Answered whole, with their length (not chunked: docs/contract.md#response-headers).
        status, body, headers = get(f"{server.base_url}/api/health")
        assert (status, headers.get("Content-Length"), headers.get("Transfer-Encoding")) == (200, str(len(body)), None)
        before = health_requests(server.base_url)

        def probe(number: int) -> int:
            return get(f"{server.base_url}/api/health", **{"x-request-id": f"probe-{number}"})[0]

        # Bursts of concurrent requests until a second worker has answered some (which worker accepts
        # a connection is the kernel's choice: on a busy machine one worker took 73 sequential ones).
        with ThreadPoolExecutor(max_workers=12) as pool:
            for sent in range(60, 601, 60):
                assert set(pool.map(probe, range(sent - 60, sent))) == {200}
                if len(list(metrics_dir.glob("counter_*.db"))) >= 2:
                    break
        writers = {path.name for path in metrics_dir.glob("counter_*.db")}
        assert len(writers) >= 2, writers
        # Each scrape is answered by whichever worker accepts it: all of them must see every request.
        seen = {health_requests(server.base_url) - before for _ in range(12)}
        assert seen == {float(sent)}
        # Every line, gunicorn's own (start-up, workers booting) included, is one JSON object.
        lines = [json.loads(line) for line in server.stderr_path.read_text().splitlines()]
        assert any(line["logger"] == "gunicorn.error" for line in lines)
    access = [line for line in lines if line["logger"] == "analytics_api.access" and line["operation"] == "getHealth"]
    assert {line["request_id"] for line in access} >= {f"probe-{number}" for number in range(sent)}
    assert all(line["status"] == 200 and line["level"] == "INFO" for line in access)


@needs_postgres_binaries
def test_readiness_is_503_naming_the_database_while_its_postgresql_is_stopped(tmp_path: Path) -> None:
    with PrivatePostgres() as database:
        env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": database.url(), "SECRET_KEY": "ops-" + "k" * 40,
               "DB_CONNECT_TIMEOUT": "2"}
        with Gunicorn(env=env, workers=1) as server:
            assert get(f"{server.base_url}/api/health/ready")[0] == 200
            database.stop()
            status, body, headers = get(f"{server.base_url}/api/health/ready")
            assert status == 503
            assert json.loads(body) == {"errors": [
                {"msg": "The database is unreachable.", "code": "dependency_unavailable", "field": "database"}
            ]}
            assert headers["Retry-After"] == "5"
            metrics = get(f"{server.base_url}/metrics")[1].decode()
            assert 'analytics_dependency_up{dependency="database"} 0.0' in metrics
            database.start()
            assert get(f"{server.base_url}/api/health/ready")[0] == 200


def client_connections(url: str) -> int:
    """Connections to the cluster other than this probe's own."""
    with psycopg.connect(url, autocommit=True) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()[0]


@needs_postgres_binaries
def test_request_threads_idle_past_the_connection_lifetime_close_their_connections(tmp_path: Path) -> None:
    with PrivatePostgres() as database:
        env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": database.url(), "SECRET_KEY": "ops-" + "k" * 40,
               "DB_CONN_MAX_AGE": "2"}
        with Gunicorn(env=env, workers=1, threads=4) as server:
            health = f"{server.base_url}/api/health"
            # A burst: concurrent requests spread over several threads, each opening its connection.
            for _ in range(10):
                with ThreadPoolExecutor(8) as clients:
                    assert set(clients.map(lambda _: get(health)[0], range(64))) == {200}
                if client_connections(database.url()) >= 2:
                    break
            assert client_connections(database.url()) >= 2

            # Then one request at a time: the most recently idle thread serves them all, and the
            # others, idle past DB_CONN_MAX_AGE, end and close their connections.
            deadline = time.monotonic() + 15
            while client_connections(database.url()) > 1:
                assert time.monotonic() < deadline, "idle request threads kept their connections"
                assert get(health)[0] == 200
                time.sleep(0.2)
            # The serving thread's own connection is renewed every DB_CONN_MAX_AGE: 0 or 1 open.
            assert get(health)[0] == 200
            assert client_connections(database.url()) <= 1
