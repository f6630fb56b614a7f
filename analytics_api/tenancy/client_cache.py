"""A per-process cache of API clients for authentication (docs/contract.md#api-client-cache).

Looking the client up in the database — an ORM query compiled and run, the secret decrypted — was
most of the cost of an authenticated request. Each process now keeps what authentication needs
(the client with its account, the decrypted secret) for ``CLIENT_CACHE_SECONDS``, and checks on
every request, with one read of the shared cache, that the client has not changed since:

1. Every change to a client (saved, updated, deleted, its account saved) writes a new random
   *version* for it in the shared Django cache (Redis in production, the file cache otherwise, so
   every process on every machine sees it) — once at once, once again when the transaction commits
   (a process reading the row between the two would otherwise keep the old row under the new
   version).
2. A process serves a client from its own copy only while the shared version is still the one it
   read with the row; any other version (or a cache that lost the key) reloads the row. So a
   disabled client, a rotated secret or a removed scope takes effect on the very next request in
   every process. Authentication reads the version in the same Redis round trip as the rate
   limiter's counts, so the check costs no round trip of its own.
3. The lifetime bounds what a lost invalidation could cost (a client changed by raw SQL, a shared
   cache flushed before a process noticed): never more than ``CLIENT_CACHE_SECONDS``.

Only existing clients are kept (ids that name no client are not, so garbage cannot fill the cache),
and at most ``CLIENT_CACHE_MAX_ENTRIES`` of them. The cached client and account are shared by every
thread of the process: read them, never change them in place.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import BaseCache
from django.db import transaction

from analytics_api.tenancy.shared_cache import shared_cache, shared_int

logger = logging.getLogger("analytics_api.tenancy.client_cache")

CLIENT_CACHE_SECONDS = 30.0
CLIENT_CACHE_MAX_ENTRIES = 10_000


def client_version_key(client_id: str) -> str:
    """The shared cache's key holding the client's current version (an int, absent until it changes)."""
    return f"apiclient-version:{client_id}"


@dataclass(frozen=True, slots=True)
class CachedClient:
    """What authentication needs of a client, as read with the shared ``version``."""

    client: Any  # an ApiClient with its account loaded
    secret: str
    version: int | None
    expires_at: float  # time.monotonic()


class ClientCache:
    """One process's copy of the API clients it has authenticated, checked against the shared versions.

    ``load(client_id)`` reads a client (with its account) from the database, or None; ``shared``
    returns the Django cache holding the versions.
    """

    def __init__(
        self,
        *,
        load: Callable[[str], Any | None],
        shared: Callable[[], BaseCache] = shared_cache,
        lifetime_s: float = CLIENT_CACHE_SECONDS,
        max_entries: int = CLIENT_CACHE_MAX_ENTRIES,
    ) -> None:
        self._load = load
        self._shared = shared
        self._lifetime_s = lifetime_s
        self._max_entries = max_entries
        self._entries: dict[str, CachedClient] = {}
        self._lock = threading.Lock()

    def local(self, client_id: str) -> CachedClient | None:
        """This process's copy of the client, within its lifetime, without reading the shared version:
        the caller must compare ``version`` with the shared one itself (authentication does, in the
        rate limiter's round trip) and use ``get`` when they differ."""
        entry = self._entries.get(client_id)
        return entry if entry is not None and entry.expires_at > time.monotonic() else None

    def get(self, client_id: str) -> CachedClient | None:
        """The client named ``client_id`` as it is now, or None when there is no such client."""
        entry = self._entries.get(client_id)
        now = time.monotonic()
        version = shared_int(self._shared(), client_version_key(client_id))
        if entry is not None and entry.version == version and entry.expires_at > now:
            return entry
        client = self._load(client_id)
        if client is None:
            self._entries.pop(client_id, None)
            return None
        entry = CachedClient(client=client, secret=client.secret, version=version, expires_at=now + self._lifetime_s)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[client_id] = entry
        return entry

    def forget(self, client_ids: Iterable[str]) -> None:
        for client_id in client_ids:
            self._entries.pop(client_id, None)


# The process's own caches: the one authentication uses registers itself here, so that a change
# made in this process drops its copy at once (other processes see the shared version).
_PROCESS_CACHES: list[ClientCache] = []


def process_cache_register(cache: ClientCache) -> ClientCache:
    _PROCESS_CACHES.append(cache)
    return cache


def api_clients_changed(client_ids: Iterable[str]) -> None:
    """Announce that these clients changed: every process reloads them on their next request.

    The version written now fails loudly when the shared cache is down, so that the change (inside
    its transaction) is not stored without being announced; the one written at commit is logged
    if it fails.
    """
    ids = list(dict.fromkeys(client_ids))
    if not ids:
        return
    _versions_bump(ids)
    transaction.on_commit(lambda: _versions_bump(ids), robust=True)


def _versions_bump(client_ids: list[str]) -> None:
    shared_cache().set_many(
        {client_version_key(client_id): secrets.randbits(62) for client_id in client_ids}, timeout=None
    )
    for cache in _PROCESS_CACHES:
        cache.forget(client_ids)
