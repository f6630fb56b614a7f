"""Counters in fixed windows (per-client rate limits, failed-authentication and admin-login limits).

Counted in Redis in production; without Redis, in small lock-protected files beside the file cache,
so that every process on the machine counts exactly (the cache's own add()/incr() is a read and a
write that concurrent processes interleave: 25 of 20 were admitted under load).
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from analytics_api.metrics import RATE_LIMITED
from analytics_api.models import ApiClient
from analytics_api.tenancy.shared_cache import redis_script, shared_cache, shared_int

# Counter files untouched for longer than the longest window are stale: swept now and then.
_SWEEP_AFTER_SECONDS = 2 * 3600 + 60
_SWEEP_CHANCE = 1 / 2000


def client_address(request: HttpRequest) -> str:
    """The caller's address, for counting: the one place that decides it.

    1. ``CLIENT_IP_HEADER`` set (a front proxy such as the compose stack's nginx overwrites that
       header with the address it sees): its value, when it is one IP address.
    2. Else ``TRUSTED_PROXY_COUNT`` = n > 0 reverse proxies appending to ``X-Forwarded-For``: the
       n-th entry from the right (entries further left are whatever the caller chose to send).
    3. Else, or when the header does not hold what it should, ``REMOTE_ADDR``. Neither header is
       read without its setting: anyone can send them.
    """
    remote = request.META.get("REMOTE_ADDR") or "-"
    if settings.CLIENT_IP_HEADER:
        key = "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_")
        return _ip_or(request.META.get(key, "").strip(), remote)
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < hops:  # the request did not come through every proxy
        return remote
    return _ip_or(entries[-hops], remote)


def _ip_or(value: str, fallback: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return fallback


def window_reset(window_seconds: int, now: float) -> float:
    """Seconds until the current fixed window of ``window_seconds`` ends."""
    return (int(now // window_seconds) + 1) * window_seconds - now


def window_counts(windows: list[tuple[str, int]], *, now: float | None = None) -> list[int]:
    """Count one more hit in each ``(name, window_seconds)`` and return the new counts.

    Each name counts in the fixed window of ``window_seconds`` holding ``now``.
    On Redis this is one round trip for every window (a script: INCR, then EXPIRE … NX so the
    first hit sets the expiry and later ones keep it); it runs on every request, so it pays.
    With the file cache, each count is a file read and rewritten under an exclusive lock.
    Other caches (locmem in tests) count with add() and incr().
    """
    return window_counts_reading(windows, read_key=None, now=now)[0]


# KEYS: the counters, then (when there is one more key) the key to read; ARGV: each counter's expiry.
_COUNT_SCRIPT = """
local out = {}
for i = 1, #ARGV do
  out[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[i], 'NX')
end
if #KEYS > #ARGV then out[#ARGV + 1] = redis.call('GET', KEYS[#KEYS]) end
return out
"""


def window_counts_reading(
    windows: list[tuple[str, int]], *, read_key: str | None, now: float | None = None
) -> tuple[list[int], Any]:
    """``window_counts``, and the int stored at ``read_key`` (or None) read in the same round trip.

    Authentication reads its client's version this way, so that the version check costs no round
    trip of its own.
    """
    now = time.time() if now is None else now
    keyed = [(f"{name}:{int(now // window_seconds)}", window_seconds) for name, window_seconds in windows]
    store = shared_cache()
    if isinstance(store, RedisCache):
        # make_key, not make_and_validate_key: these keys are the service's own, and the check only
        # warns about characters memcached refuses (a regular expression per key on every request).
        keys = [store.make_key(key) for key, _ in keyed]
        if read_key is not None:
            keys.append(store.make_key(read_key))
        out = redis_script(store, _COUNT_SCRIPT)(keys=keys, args=[window_seconds + 5 for _, window_seconds in keyed])
        value = out[len(keyed)] if len(out) > len(keyed) else None
        return [int(count) for count in out[: len(keyed)]], None if value is None else int(value)
    value = shared_int(store, read_key) if read_key is not None else None
    if isinstance(store, FileBasedCache):
        directory = Path(store._dir) / "counters"
        counts = [_file_count(directory, name, int(now // window_seconds)) for name, window_seconds in windows]
        if random.random() < _SWEEP_CHANCE:
            _sweep(directory, now)
        return counts, value
    return [_cache_count(store, key, window_seconds) for key, window_seconds in keyed], value


def _cache_count(store: Any, key: str, window_seconds: int) -> int:
    # add() is a no-op when the key exists, so concurrent first hits don't reset each other.
    store.add(key, 0, timeout=window_seconds + 5)
    try:
        return store.incr(key)
    except ValueError:  # expired between add() and incr()
        store.set(key, 1, timeout=window_seconds + 5)
        return 1


def _open_locked(path: Path) -> int:
    """Open ``path`` (creating it) and hold an exclusive lock on the file that is still at ``path``."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # swept away between open() and flock(): open the new one


def _file_count(directory: Path, name: str, bucket: int) -> int:
    """One more hit for ``name`` in window ``bucket``; the file holds ``"<bucket> <count>"``.

    1. Open the name's file and lock it (flock: exclusive across processes and threads alike).
    2. Read its window and count; a count of an earlier window starts again at 0.
    3. Write the window and the count + 1 back before unlocking.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    fd = _open_locked(path)
    try:
        stored = os.pread(fd, 64, 0).split()
        count = 1
        if len(stored) == 2 and stored[0].isdigit() and int(stored[0]) == bucket and stored[1].isdigit():
            count = int(stored[1]) + 1
        data = f"{bucket} {count}".encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        return count
    finally:
        os.close(fd)  # releases the lock


def _sweep(directory: Path, now: float) -> None:
    """Delete counter files untouched for longer than any window (names of callers long gone)."""
    for path in directory.iterdir():
        try:
            if now - path.stat().st_mtime < _SWEEP_AFTER_SECONDS:
                continue
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if now - os.fstat(fd).st_mtime >= _SWEEP_AFTER_SECONDS:
                path.unlink(missing_ok=True)
        except BlockingIOError:
            pass  # in use right now: not stale
        finally:
            os.close(fd)


_RATE_WINDOWS = (60, 3600)


def rate_windows(client_id: str) -> list[tuple[str, int]]:
    """The client's request counters: one per clock minute, one per clock hour."""
    return [(f"rl:{client_id}:{window}", window) for window in _RATE_WINDOWS]


@dataclass(frozen=True, slots=True)
class RateCounts:
    """The client's counts of ``rate_windows`` taken at ``now``, this request included."""

    client_id: str
    now: float
    counts: list[int]


@dataclass(frozen=True)
class RateLimitState:
    """The caller's tightest window after this request: what the ``RateLimit-*`` headers say."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class ClientRateThrottle(BaseThrottle):
    """Allows ``rate_limit_per_minute`` and ``rate_limit_per_hour`` requests per client.

    JWTAuthentication counts the request (with the client's version, in one round trip) and leaves
    the counts on the request as ``client_rate_counts``; without them the throttle counts itself.
    So every authenticated request counts, a 403 for a missing scope included.
    The window with the fewest requests left (the later reset on a tie) is kept on the request as
    ``rate_limit`` (:class:`RateLimitState`): ``RateLimitHeadersMiddleware`` adds it to the answer.
    """

    def allow_request(self, request: Any, view: Any) -> bool:
        # JWTAuthentication puts the client in request.auth.
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        limits = (
            (60, client.rate_limit_per_minute or settings.RATE_LIMIT_PER_MINUTE),
            (3600, client.rate_limit_per_hour or settings.RATE_LIMIT_PER_HOUR),
        )
        counted = getattr(request, "client_rate_counts", None)
        if isinstance(counted, RateCounts) and counted.client_id == client.client_id:
            now, counts = counted.now, counted.counts
        else:
            now = time.time()
            counts = window_counts(rate_windows(client.client_id), now=now)
        self._wait, reason = 0.0, ""
        states = []
        for (window, limit), count in zip(limits, counts, strict=True):
            reset = window_reset(window, now)
            if count > limit:
                self._wait = max(self._wait, reset)
                reason = "client_minute" if window == 60 else "client_hour"
            states.append(RateLimitState(limit, max(limit - count, 0), math.ceil(reset)))
        if self._wait:
            RATE_LIMITED.labels(reason=reason).inc()
        # On the HttpRequest under DRF's Request, where the middleware finds it.
        target = getattr(request, "_request", request)
        target.rate_limit = min(states, key=lambda state: (state.remaining, -state.reset_seconds))
        return self._wait == 0.0

    def wait(self) -> float | None:
        return self._wait
