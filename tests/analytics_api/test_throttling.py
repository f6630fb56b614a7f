"""Rate-limit counters on a real Redis: one round trip per request, expiry set once per window."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from analytics_api import throttling
from tests.analytics_api.test_errors import probe  # noqa: F401  (the fixture serving the probe URLs)
from tests.conftest import Tenant

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")


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


def test_counts_every_window_in_one_round_trip(redis_cache: Any) -> None:
    client = redis_cache._cache.get_client(write=True)
    assert throttling.window_counts([("a", 60), ("b", 3600)]) == [1, 1]
    assert throttling.window_counts([("a", 60), ("b", 3600)]) == [2, 2]
    assert 60 < client.ttl(redis_cache.make_and_validate_key("a")) <= 65
    assert 3600 < client.ttl(redis_cache.make_and_validate_key("b")) <= 3605


def test_later_hits_keep_the_first_expiry(redis_cache: Any) -> None:
    client = redis_cache._cache.get_client(write=True)
    key = redis_cache.make_and_validate_key("w")
    throttling.window_counts([("w", 60)])
    client.expire(key, 10)
    throttling.window_counts([("w", 60)])
    # A fixed window: the count expires with its window, not a minute after the last hit.
    assert client.ttl(key) <= 10


def test_rate_limit_on_redis_is_429_after_the_limit(tenant: Tenant, redis_cache: Any, probe: None) -> None:  # noqa: F811
    tenant.api_client.rate_limit_per_minute = 2
    tenant.api_client.save()
    statuses = [tenant.post(f"/probe/{tenant.account_id}", {}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
