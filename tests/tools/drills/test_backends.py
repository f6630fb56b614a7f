"""The drills' private PostgreSQL and Redis go down and come back on demand, and leave nothing behind."""

from __future__ import annotations

import shutil

import psycopg
import pytest
import redis

from tools.drills.backends import PG_BIN, PrivatePostgres, PrivateRedis


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_private_redis_stops_loses_its_data_and_starts_again() -> None:
    with PrivateRedis() as server:
        client = redis.Redis.from_url(server.url(), socket_timeout=2)
        client.set("queued", "task")
        server.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        server.start()
        assert client.get("queued") is None  # no persistence: a restart loses what was queued
        root = server.root
    assert root is not None and not root.exists()


@pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL server binaries are not installed")
def test_private_postgres_stops_and_starts_with_its_data() -> None:
    with PrivatePostgres() as cluster:
        url = cluster.create_database("drill_test")
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE TABLE kept (n int)")
            db.execute("INSERT INTO kept VALUES (1)")
        cluster.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
        cluster.start()
        with psycopg.connect(url) as db:
            assert db.execute("SELECT n FROM kept").fetchone() == (1,)
        root = cluster.root
    assert root is not None and not root.exists()
