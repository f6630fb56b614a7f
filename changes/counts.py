"""Exact counts and checksums per hour or day (docs/contract.md#counts).

A bucket's checksum is the first 16 hex digits of the XOR, over the bucket's records, of
``sha256("<key>:<version>")`` — the XOR of the hashes' first 8 bytes, so a BI job computes the same
value from the keys and versions the change feed delivered (:func:`checksum_add`), in any order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Subquery

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.models import Account
from changes.datasets import Dataset
from changes.models import Change

GRANULARITIES = ("hour", "day")
# Buckets per request: a month of hours, two years of days.
MAX_BUCKETS = 744
# Values per list filter (channels, bots).
MAX_FILTER_VALUES = 100
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# Records read from the database per round trip (server-side cursor on PostgreSQL).
_CHUNK = 5_000


def bucket_start(instant: datetime, *, granularity: str) -> datetime:
    """The start of the UTC hour or day holding ``instant``."""
    start = instant.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if granularity == "day" else start


def buckets_between(start: datetime, end: datetime, *, granularity: str) -> int:
    """How many buckets the window ``start``…``end`` (inclusive) touches."""
    first, last = bucket_start(start, granularity=granularity), bucket_start(end, granularity=granularity)
    return (last - first) // _STEP[granularity] + 1


def checksum_add(checksum: int, *, key: str, version: int) -> int:
    """``checksum`` with one more record: XOR of the first 8 bytes of sha256("<key>:<version>")."""
    return checksum ^ int.from_bytes(hashlib.sha256(f"{key}:{version}".encode()).digest()[:8], "big")


def counts_compute(
    *, account: Account, dataset: Dataset, start: datetime, end: datetime, granularity: str, filters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Every bucket of the window widened to whole buckets, in order: ``{"start", "count", "checksum"}``.

    1. Read the matching records of the window with their key and current version (the id of
       their latest change, 0 for a record that has none), streamed in chunks: never the whole
       window in memory.
    2. Count each record in its bucket and fold it into the bucket's checksum.
    """
    step = _STEP[granularity]
    first = bucket_start(start, granularity=granularity)
    size = buckets_between(start, end, granularity=granularity)
    counts = [0] * size
    sums = [0] * size
    latest = Change.objects.filter(account=account, dataset=dataset.name, key=OuterRef("key")).order_by("-id")
    rows = (
        dataset.counted(account, filters)
        .filter(time__gte=first, time__lt=first + size * step)
        .annotate(version=Subquery(latest.values("id")[:1]))
        .values_list("time", "key", "version")
    )
    for time, key, version in rows.iterator(chunk_size=_CHUNK):
        index = (time - first) // step
        counts[index] += 1
        sums[index] = checksum_add(sums[index], key=key, version=version or 0)
    return [
        {"start": render_utc_ms(first + index * step), "count": counts[index], "checksum": f"{sums[index]:016x}"}
        for index in range(size)
    ]
