"""Read replicas (docs/contract.md#read-replicas): the read endpoints read from streaming replicas.

``DATABASE_REPLICA_URLS`` names PostgreSQL streaming replicas of the primary (``DATABASE_URL``).
A view that only reads (interactionDetails, calldetails, rawdata, conversation reads, search,
counts) inherits :class:`ReplicaReads`; inside it the ORM's reads of the data apps go to one replica,
chosen round robin among those that answer and lag at most ``REPLICA_MAX_LAG_SECONDS``, else to the
primary. Everything else stays on the primary:

- every write, and every read of the same request after its first write (a request sees what it
  wrote);
- the tenancy tables (API clients, accounts, bots, used token ids): a client disabled or rotated on
  the primary is refused at once, never after the replica's lag;
- the change feed's positions and watermark and export snapshots, whose views do not inherit
  :class:`ReplicaReads`.

A replica's health is probed at most every ``REPLICA_CHECK_SECONDS`` per process: one query giving
whether it is in recovery and its replay lag (0 when it has replayed all it received; otherwise the
age of the last replayed transaction), so a replica whose replay is paused or slow is skipped as soon
as the primary writes, and used again once it catches up; one that refuses connections is skipped
until a later probe succeeds, and one that is not streaming from the primary (its freshness unknown)
is skipped until it is.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

PRIMARY = "default"
# The apps whose tables the read endpoints read; the tenancy tables are always read on the primary.
REPLICA_APPS = frozenset({"conversations", "qualityai", "content", "diagnostics", "search", "changes"})

LAG_SQL = (
    # Replay lag in seconds: 0 for a primary, or a replica that has replayed all it received; the
    # age of its last replayed transaction when it is behind; NULL (unknown) when it is not streaming.
    "SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NULL THEN NULL "
    "WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass
class _Request:
    alias: str | None = None  # chosen at the first read, then kept: one server per request
    pinned: bool = False  # a write happened: the rest of the request reads the primary


@dataclass
class Health:
    usable: bool
    lag_seconds: float | None
    error: str | None
    checked_at: float


_current: ContextVar[_Request | None] = ContextVar("replica_request", default=None)
_health: dict[str, Health] = {}
_lock = threading.Lock()
_turn = itertools.count()


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica_")]


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside: reads of the data apps may go to a replica, until the first write."""
    token = _current.set(_Request())
    try:
        yield
    finally:
        _current.reset(token)


class ReplicaReads:
    """Mixin of a read endpoint's ``APIView``: its request reads from a replica when one is usable.

    Only for ``replica_methods`` (the read operations: GET, and the documented read endpoints'
    POST); another method sharing the view's path (a DELETE) reads and writes on the primary.
    """

    replica_methods: tuple[str, ...] = ("GET", "HEAD", "POST")

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in self.replica_methods:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        with replica_reads():
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def replica_health(alias: str) -> Health:
    """The replica's health, probed when the last probe is older than ``REPLICA_CHECK_SECONDS``."""
    now = time.monotonic()
    known = _health.get(alias)
    if known is not None and now - known.checked_at < settings.REPLICA_CHECK_SECONDS:
        return known
    with _lock:  # one probe per replica at a time; the others use the last answer meanwhile
        known = _health.get(alias)
        if known is not None and now - known.checked_at < settings.REPLICA_CHECK_SECONDS:
            return known
        health = _probe(alias)
        if known is None or known.usable != health.usable:
            level = logging.INFO if health.usable else logging.WARNING
            logger.log(level, "replica %s %s (lag %s s%s)", alias, "usable" if health.usable else "skipped",
                       health.lag_seconds, f"; {health.error}" if health.error else "")
        _health[alias] = health
        return health


def _probe(alias: str) -> Health:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            _in_recovery, lag = cursor.fetchone()
    except DatabaseError as error:
        # A dead connection must not be reused by the next probe.
        connection.close()
        return Health(usable=False, lag_seconds=None, error=str(error).splitlines()[0][:200],
                      checked_at=time.monotonic())
    lag_seconds = None if lag is None else float(lag)
    usable = lag_seconds is not None and lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS
    error = None if usable else ("not streaming" if lag_seconds is None else "replay lag over the maximum")
    return Health(usable=usable, lag_seconds=lag_seconds, error=error, checked_at=time.monotonic())


def replica_choose() -> str:
    """The next usable replica in round-robin order, or the primary when none is."""
    aliases = replica_aliases()
    if not aliases:
        return PRIMARY
    start = next(_turn)
    for step in range(len(aliases)):
        alias = aliases[(start + step) % len(aliases)]
        if replica_health(alias).usable:
            return alias
    return PRIMARY


def replica_health_forget() -> None:
    """Forget every probe (tests, and a process that wants fresh answers)."""
    _health.clear()


class ReplicaRouter:
    """Django's database router: replicas for the reads of :class:`ReplicaReads` views, else the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        request = _current.get()
        if request is None or request.pinned or model._meta.app_label not in REPLICA_APPS:
            return None
        if request.alias is None:
            request.alias = replica_choose()
        return request.alias

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        request = _current.get()
        if request is not None:
            request.pinned = True
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == PRIMARY
