"""Fast paths to the shared cache for what every request reads or counts.

Django's ``RedisCache`` builds a new redis-py client object for every operation (a few dozen
microseconds of Python each time, more than the round trip itself on loopback); the per-request
reads and counts use one client per cache object instead, with Django's own key scheme.
"""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache


def shared_cache() -> BaseCache:
    return caches["default"]


def redis_client(store: RedisCache) -> redis.Redis:
    """A redis-py client for ``store`` (its writing server), made once per cache object.

    Django keeps one cache object per thread, and a redis-py client is safe to share anyway.
    """
    client = getattr(store, "_fast_client", None)
    if client is None:
        client = store._cache.get_client(write=True)
        store._fast_client = client  # type: ignore[attr-defined]
    return client


def redis_script(store: RedisCache, source: str) -> Any:
    """A callable running the Lua ``source`` on ``store``'s server (EVALSHA, loading it when missing)."""
    scripts = getattr(store, "_fast_scripts", None)
    if scripts is None:
        scripts = store._fast_scripts = {}  # type: ignore[attr-defined]
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = redis_client(store).register_script(source)
    return script


def shared_int(store: BaseCache, key: str) -> Any:
    """``store.get(key)`` for a key only ever set to an int (RedisCache stores ints as plain text)."""
    if isinstance(store, RedisCache):
        raw = redis_client(store).get(store.make_key(key))  # the service's own key: nothing to validate
        return None if raw is None else int(raw)
    return store.get(key)
