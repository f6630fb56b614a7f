"""Readiness (docs/contract.md#readiness): whether each backing service answers, right now.

``GET /api/health/ready`` answers 503 naming every one that is down; ``/metrics`` reports the same
checks as ``analytics_dependency_up``. Each check is one round trip with a short timeout:

* ``database`` — ``SELECT 1`` on the primary;
* ``replicas[i]`` — each read replica, when ``DATABASE_REPLICA_URLS`` is configured: the databases
  configured beside ``default``, else a connection to each URL;
* ``redis`` — ``PING``, when ``REDIS_URL`` is set;
* ``storage`` — the recordings storage takes objects (the bucket answers, or the directory is writable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import psycopg
import redis
from django.conf import settings
from django.db import connections

from analytics_api.kernel.errors import error_item
from analytics_api.metrics import DEPENDENCY_UP, StateRows
from recordings.storage import recording_storage

CHECK_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Dependency:
    field: str  # what the 503's envelope names
    label: str  # analytics_dependency_up's label
    down: str  # the envelope's message when it does not answer
    probe: Callable[[], None]


def _database(alias: str) -> Callable[[], None]:
    def probe() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")

    return probe


def _replica_url(url: str) -> Callable[[], None]:
    def probe() -> None:
        with psycopg.connect(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as connection:
            connection.execute("SELECT 1")

    return probe


@cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )


def _redis() -> None:
    _redis_client(settings.REDIS_URL).ping()


def _storage() -> None:
    recording_storage().check()


def _replicas() -> list[Dependency]:
    """The replicas, read defensively: the setting may be absent, a list or a comma-separated string."""
    configured = getattr(settings, "DATABASE_REPLICA_URLS", None) or []
    urls = [url.strip() for url in configured.split(",")] if isinstance(configured, str) else list(configured)
    urls = [url for url in urls if url]
    if not urls:
        return []
    aliases = [alias for alias in settings.DATABASES if alias != "default"]
    probes = [_database(alias) for alias in aliases] if aliases else [_replica_url(url) for url in urls]
    return [
        Dependency(f"replicas[{index}]", "replica", f"The database replica {index} is unreachable.", probe)
        for index, probe in enumerate(probes)
    ]


def dependencies() -> list[Dependency]:
    found = [Dependency("database", "database", "The database is unreachable.", _database("default"))]
    found += _replicas()
    if settings.REDIS_URL:
        found.append(Dependency("redis", "redis", "Redis is unreachable.", _redis))
    found.append(Dependency("storage", "storage", "The recordings storage is unreachable.", _storage))
    return found


def dependencies_probed() -> list[tuple[Dependency, bool]]:
    """Each backing service and whether it answered."""
    probed = []
    for dependency in dependencies():
        try:
            dependency.probe()
        except Exception:  # whatever a client library raises, the dependency does not answer
            probed.append((dependency, False))
        else:
            probed.append((dependency, True))
    return probed


def readiness_problems() -> list[dict[str, str]]:
    """One envelope item per backing service that does not answer (none: ready)."""
    return [
        error_item(item.down, "dependency_unavailable", item.field) for item, up in dependencies_probed() if not up
    ]


@DEPENDENCY_UP.source
def _dependency_up() -> StateRows:
    rows: dict[tuple[str, ...], float] = {}
    for item, up in dependencies_probed():
        # Several replicas share one label: the gauge is 1 only when all of them answer.
        rows[(item.label,)] = min(rows.get((item.label,), 1.0), 1.0 if up else 0.0)
    return rows
