"""Per-client rate limits in fixed windows, counted in the shared cache (Redis in production)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
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
        for window, limit in limits:
            bucket = int(now // window)
            if _count(f"rl:{client.client_id}:{window}:{bucket}", window) > limit:
                self._wait = max(self._wait, (bucket + 1) * window - now)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return self._wait
