"""/api/health/ready: 200 when every backing service answers, else 503 naming each one that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from tools.drills.backends import PrivateRedis
from tools.harness.server import free_port

READY = "/api/health/ready"


def test_ready_when_the_database_and_storage_answer(db: Any) -> None:
    answer = Client().get(READY)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_a_stopped_private_redis_is_503_naming_redis(db: Any, settings: Any) -> None:
    with PrivateRedis() as server:
        settings.REDIS_URL = server.url(3)
        assert Client().get(READY).status_code == 200
        server.stop()
        answer = Client().get(READY)
    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
    assert answer.json() == {"errors": [
        {"msg": "Redis is unreachable.", "code": "dependency_unavailable", "field": "redis"}
    ]}


def test_unwritable_storage_is_503_naming_storage(db: Any, settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = blocker / "media"
    answer = Client().get(READY)
    assert answer.status_code == 503
    assert answer.json() == {"errors": [
        {"msg": "The recordings storage is unreachable.", "code": "dependency_unavailable", "field": "storage"}
    ]}


def test_every_service_down_is_named_at_once(db: Any, settings: Any, tmp_path: Path) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    (tmp_path / "a-file").write_text("")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    answer = Client().get(READY)
    assert answer.status_code == 503
    assert [item["field"] for item in answer.json()["errors"]] == ["redis", "storage"]


def test_a_configured_replica_that_does_not_answer_is_named(db: Any, settings: Any) -> None:
    settings.DATABASE_REPLICA_URLS = [f"postgres://postgres@127.0.0.1:{free_port()}/replica"]
    answer = Client().get(READY)
    assert answer.status_code == 503
    assert answer.json() == {"errors": [{
        "msg": "The database replica 0 is unreachable.", "code": "dependency_unavailable", "field": "replicas[0]",
    }]}


def test_replicas_are_not_checked_when_none_is_configured(db: Any, settings: Any) -> None:
    settings.DATABASE_REPLICA_URLS = ""
    assert Client().get(READY).status_code == 200


def test_readiness_needs_no_token_and_takes_get_only(db: Any) -> None:
    answer = Client().post(READY)
    assert answer.status_code == 405
    assert answer.json()["errors"][0]["msg"] == "POST is not allowed here; use GET."
