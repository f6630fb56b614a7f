"""Read replicas, on real servers: a private primary and its streaming standby (pg_basebackup), the
service under gunicorn reading interactionDetails from the standby, skipping it while its replay is
paused or while it is stopped, and using it again once it has caught up or restarted.

The standby logs every statement with the connection's application_name, so the test sees which
server answered each read."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import router

from analytics_api.models import ApiClient
from analytics_api.replicas import PRIMARY, ReplicaRouter, replica_choose, replica_reads
from conversations.models import Interaction
from tools.drills.backends import PG_BIN, PrivatePostgres, PrivateStandby
from tools.drills.records import interaction_record
from tools.drills.stack import ACCOUNT_ID, BOT_ID, ORG_ID, client_create
from tools.harness.pg import migrate
from tools.harness.server import Gunicorn, manage

needs_servers = pytest.mark.skipif(
    not (PG_BIN / "pg_basebackup").exists(), reason=f"no PostgreSQL server binaries in {PG_BIN}"
)
START = datetime(2025, 9, 30, 6, 0, tzinfo=UTC)
READ_MARK = 'FROM "conversations_interaction"'


def test_without_a_replica_request_every_read_goes_to_the_primary() -> None:
    assert router.db_for_read(Interaction) == PRIMARY


def test_a_replica_request_without_replicas_reads_the_primary() -> None:
    with replica_reads():
        assert replica_choose() == PRIMARY
        assert router.db_for_read(Interaction) == PRIMARY


def test_tenancy_reads_and_reads_after_a_write_stay_on_the_primary(monkeypatch: Any) -> None:
    monkeypatch.setattr("analytics_api.replicas.replica_choose", lambda: "replica_1")
    routing = ReplicaRouter()
    with replica_reads():
        assert routing.db_for_read(ApiClient) is None  # None: Django's default, the primary
        assert routing.db_for_read(Interaction) == "replica_1"
        routing.db_for_write(Interaction)
        assert routing.db_for_read(Interaction) is None
    assert routing.db_for_read(Interaction) is None  # outside a read endpoint


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PrivatePostgres, PrivateStandby, str]]:
    with PrivatePostgres() as primary:
        url = primary.create_database("app")
        standby_settings = {"log_statement": "all", "log_line_prefix": "'%m [%p] %a '"}
        with PrivateStandby(primary, settings=standby_settings) as standby:
            yield primary, standby, url


@pytest.fixture(scope="module")
def service(servers: tuple[PrivatePostgres, PrivateStandby, str], tmp_path_factory: Any) -> Iterator[Any]:
    _primary, standby, url = servers
    var_dir = tmp_path_factory.mktemp("replicas")
    standby_url = f"postgres://postgres@127.0.0.1:{standby.port}/app"
    env = {
        "DATABASE_URL": url, "DATABASE_REPLICA_URLS": standby_url, "SECRET_KEY": secrets.token_urlsafe(50),
        "VAR_DIR": str(var_dir), "MEDIA_ROOT": str(var_dir / "media"),
        # Probe at every request, and tolerate one second of lag: the test sees each change at once.
        "REPLICA_CHECK_SECONDS": "0", "REPLICA_MAX_LAG_SECONDS": "1", "DB_CONN_MAX_AGE": "0",
    }
    migrate(url, env=env)
    manage(env, "create_account", ACCOUNT_ID, "--org", ORG_ID, "--bot", BOT_ID)
    client = client_create(env, name="replicas", scopes=["ingest", "smartassist.analytics"], ttl_s=3600)
    with Gunicorn(env=env, workers=1) as server:
        server.token = client.token
        yield server


def _post(server: Any, path: str, body: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        server.base_url + path, data=json.dumps(body).encode(), method="POST",
        headers={"auth": server.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def _ingest(server: Any, *, batch: int, count: int) -> None:
    records = [
        interaction_record(tag="replicatest0000", batch=batch, index=n, bot_id=BOT_ID, org_id=ORG_ID,
                           start=START + timedelta(minutes=batch * 10 + n))
        for n in range(count)
    ]
    result = _post(server, "/api/v1/ingest/interactions", {"records": records})
    assert result["rejected"] == []


def _details(server: Any) -> int:
    body = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}
    path = f"/agentassist/api/public/analytics/account/{ACCOUNT_ID}/v2/interactionDetails"
    return _post(server, path, body)["numResults"]


def _standby_reads(standby: PrivateStandby, since: int) -> list[str]:
    log = (Path(standby.root or ".") / "server.log").read_text(errors="replace")[since:]
    return [line for line in log.splitlines() if READ_MARK in line]


def _log_size(standby: PrivateStandby) -> int:
    # Statements are logged as they start; a short pause lets the logger write them out.
    time.sleep(0.2)
    return len((Path(standby.root or ".") / "server.log").read_text(errors="replace"))


@needs_servers
def test_interaction_details_are_read_from_the_replica(servers: Any, service: Any) -> None:
    _primary, standby, _url = servers
    _ingest(service, batch=0, count=3)
    standby.wait_caught_up()
    mark = _log_size(standby)

    assert _details(service) == 3

    reads = _standby_reads(standby, mark)
    assert reads, "the standby logged no read of the interactions"
    assert all("analytics-api-replica-1" in line for line in reads)


@needs_servers
def test_a_replica_whose_replay_is_paused_is_skipped_until_it_catches_up(servers: Any, service: Any) -> None:
    _primary, standby, _url = servers
    standby.replay_pause()
    try:
        _ingest(service, batch=1, count=2)
        time.sleep(1.5)  # past REPLICA_MAX_LAG_SECONDS
        mark = _log_size(standby)

        # The primary answers, with the records the paused replica has not replayed.
        assert _details(service) == 5
        assert _standby_reads(standby, mark) == []
    finally:
        standby.replay_resume()
    standby.wait_caught_up()
    mark = _log_size(standby)

    assert _details(service) == 5
    assert _standby_reads(standby, mark)


@needs_servers
def test_a_stopped_replica_is_skipped_and_used_again_after_a_restart(servers: Any, service: Any) -> None:
    _primary, standby, _url = servers
    standby.stop(mode="fast")
    try:
        assert _details(service) == 5  # from the primary, without an error
    finally:
        standby.start()
    standby.wait_caught_up()
    mark = _log_size(standby)

    assert _details(service) == 5
    assert _standby_reads(standby, mark)
