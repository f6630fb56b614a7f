"""Rate-limit counters: on a real Redis, one round trip per request with the expiry set once per
window; on the file cache (the default without Redis), exact across processes and threads."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import time_machine
from django.core.cache import caches

from analytics_api.models import ApiClient
from analytics_api.tenancy import throttling
from analytics_api.tenancy.auth import ClientPrincipal
from tests.conftest import Tenant

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")

NOW = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC).timestamp()


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[Any]:
    # A key prefix of its own: the database is shared with whatever else runs on this Redis.
    prefix = f"test-{secrets.token_hex(4)}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix,
        }
    }
    yield caches["default"]
    client = caches["default"]._cache.get_client(write=True)
    leftovers = client.keys(f"{prefix}:*")
    if leftovers:
        client.delete(*leftovers)


@needs_redis
def test_counts_every_window_in_one_round_trip(redis_cache: Any) -> None:
    client = redis_cache._cache.get_client(write=True)
    assert throttling.window_counts([("a", 60), ("b", 3600)], now=NOW) == [1, 1]
    assert throttling.window_counts([("a", 60), ("b", 3600)], now=NOW) == [2, 2]
    assert 60 < client.ttl(redis_cache.make_and_validate_key(f"a:{int(NOW // 60)}")) <= 65
    assert 3600 < client.ttl(redis_cache.make_and_validate_key(f"b:{int(NOW // 3600)}")) <= 3605


@needs_redis
def test_later_hits_keep_the_first_expiry(redis_cache: Any) -> None:
    client = redis_cache._cache.get_client(write=True)
    key = redis_cache.make_and_validate_key(f"w:{int(NOW // 60)}")
    throttling.window_counts([("w", 60)], now=NOW)
    client.expire(key, 10)
    throttling.window_counts([("w", 60)], now=NOW)
    # A fixed window: the count expires with its window, not a minute after the last hit.
    assert client.ttl(key) <= 10


@needs_redis
def test_rate_limit_on_redis_is_429_after_the_limit(tenant: Tenant, redis_cache: Any, probe: None) -> None:
    tenant.api_client.rate_limit_per_minute = 2
    tenant.api_client.save()
    statuses = [tenant.post(f"/probe/{tenant.account_id}", {}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.fixture
def file_cache(settings: Any, tmp_path: Any) -> Any:
    """The cache settings.py configures when REDIS_URL is unset, in a directory of the test's own."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    return caches["default"]


def _admit_in_threads(threads: int, hits: int, limit: int) -> list[bool]:
    """``threads`` threads each asking the throttle ``hits`` times, all starting together."""
    client = ApiClient(client_id="cs-concurrent", rate_limit_per_minute=limit, rate_limit_per_hour=10**6)
    request = type("Request", (), {"auth": client, "user": ClientPrincipal(client)})()
    start = threading.Barrier(threads)
    admitted: list[bool] = []

    def run() -> None:
        start.wait()
        for _ in range(hits):
            admitted.append(throttling.ClientRateThrottle().allow_request(request, None))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return admitted


def _admit_in_process(limit: int) -> list[bool]:
    # The clock is pinned here, in the child, so that every hit falls in one minute.
    with time_machine.travel(NOW, tick=False):
        return _admit_in_threads(4, 10, limit)


def test_file_cache_admits_exactly_the_limit_across_processes_and_threads(file_cache: Any) -> None:
    # 4 processes x 4 threads x 10 requests of one client against a limit of 20 a minute.
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_admit_in_process, [20] * 4, chunksize=1)
    admitted = [ok for result in results for ok in result]
    assert len(admitted) == 160
    assert sum(admitted) == 20


def test_file_cache_counts_each_hit_once_under_concurrent_threads(file_cache: Any) -> None:
    counts: list[int] = []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait()
        for _ in range(25):
            counts.extend(throttling.window_counts([("c", 60)], now=NOW))

    workers = [threading.Thread(target=run) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(counts) == list(range(1, 201))
    # A new window starts again at 1.
    assert throttling.window_counts([("c", 60)], now=NOW + 60) == [1]


def test_stale_counter_files_are_swept(file_cache: Any, monkeypatch: Any) -> None:
    throttling.window_counts([("old", 60)], now=NOW)
    directory = throttling.Path(file_cache._dir) / "counters"
    (stale,) = list(directory.iterdir())
    monkeypatch.setattr(throttling.random, "random", lambda: 0.0)
    throttling.window_counts([("new", 60)], now=stale.stat().st_mtime + 2 * 3600 + 61)
    assert [path.name for path in directory.iterdir()] != [stale.name]
    assert not stale.exists()
