"""Per-client rate limits in fixed windows, counted in the shared cache (Redis in production)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from analytics_api.auth import ClientPrincipal


def _count(key: str, window_seconds: int) -> int:
    # add() is a no-op when the key exists, so concurrent first hits don't reset each other.
    cache.add(key, 0, timeout=window_seconds + 5)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window_seconds + 5)
        return 1


def window_counts(windows: list[tuple[str, int]]) -> list[int]:
    """Count one more hit in each ``(key, window_seconds)`` and return the new counts.

    On Redis this is one round trip for every window (a pipeline of INCR, then EXPIRE … NX so the
    first hit sets the expiry and later ones keep it); it runs on every request, so it pays.
    Other caches count with add() and incr(), two round trips per window.
    """
    store = caches["default"]
    if isinstance(store, RedisCache):
        # Django's RedisCache keeps its redis-py client behind _cache; the key scheme stays Django's.
        pipe = store._cache.get_client(write=True).pipeline(transaction=False)
        for key, window_seconds in windows:
            full_key = store.make_and_validate_key(key)
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds + 5, nx=True)
        return [int(count) for count in pipe.execute()[0::2]]
    return [_count(key, window_seconds) for key, window_seconds in windows]


class ClientRateThrottle(BaseThrottle):
    """Allows ``rate_limit_per_minute`` and ``rate_limit_per_hour`` requests per client."""

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ClientPrincipal):
            return True
        client = principal.client
        now = time.time()
        limits = (
            (60, client.rate_limit_per_minute or settings.RATE_LIMIT_PER_MINUTE),
            (3600, client.rate_limit_per_hour or settings.RATE_LIMIT_PER_HOUR),
        )
        self._wait = 0.0
        buckets = [int(now // window) for window, _ in limits]
        counts = window_counts(
            [
                (f"rl:{client.client_id}:{window}:{bucket}", window)
                for (window, _), bucket in zip(limits, buckets, strict=True)
            ]
        )
        for (window, limit), bucket, count in zip(limits, buckets, counts, strict=True):
            if count > limit:
                self._wait = max(self._wait, (bucket + 1) * window - now)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return self._wait
