"""Reading the change feed (docs/contract.md#change-feed): pages in position order that never skip.

A change's position is ``(txid, id)``. Transactions take ids from the sequence when they write but
commit in any order, so a reader that passed id 11 could later see id 10 commit: a naive cursor
would skip it. The feed therefore serves only positions up to a *watermark* below which nothing
can still appear:

* PostgreSQL: ``pg_snapshot_xmin(pg_current_snapshot())`` is the oldest transaction still in
  flight; every transaction with a lower id has finished, and every transaction that has not
  has this id or a higher one. Changes of ``txid < xmin`` are all committed and visible, and no
  new one can ever join them; the watermark is ``(xmin − 1, ∞)``. A long transaction holds the
  feed back (never longer than it runs), it never makes it skip.
* SQLite: writers are serialized (a write transaction holds the database lock until it commits),
  so ids are handed out in commit order; the watermark is the highest committed id.

A cursor is ``txid`` and ``id`` as 16 hex digits each: cursors compare as strings in feed order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from changes.datasets import Dataset
from changes.models import Change, ChangeHorizon, ChangeOp

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
# The highest id: a watermark position covers every id of its transaction.
_END = (1 << 63) - 1
CURSOR_EXPIRED = "Resync from the beginning: this cursor is older than the feed's retention"


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    seq: int

    def cursor(self) -> str:
        return f"{self.txid:016x}{self.seq:016x}"

    @classmethod
    def parse(cls, cursor: str) -> Position | None:
        """The position of a cursor this feed handed out, or None."""
        if len(cursor) != 32 or cursor.strip("0123456789abcdef"):
            return None
        txid, seq = int(cursor[:16], 16), int(cursor[16:], 16)
        return cls(txid, seq) if txid < 1 << 63 and seq <= _END else None


START = Position(0, 0)


@dataclass(frozen=True)
class FeedPage:
    items: list[dict[str, Any]]
    next_position: Position
    end_of_stream: bool
    complete_up_to: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "nextCursor": self.next_position.cursor(),
            "endOfStream": self.end_of_stream,
            "completeUpTo": render_utc_ms(self.complete_up_to),
        }


def feed_watermark() -> tuple[Position, datetime]:
    """The last position that can be served, and the instant before which every commit is below it.

    PostgreSQL: the instant is the start of the oldest transaction holding an id (or now), read
    *before* the snapshot, so a transaction still in flight at the snapshot started after it.
    """
    if connection.vendor != "postgresql":
        now = timezone.now()
        last = Change.objects.order_by("-id").values_list("id", flat=True).first()
        return Position(0, last or 0), now
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT least(min(xact_start), statement_timestamp()) FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
        )
        complete = cursor.fetchone()[0] or timezone.now()
        cursor.execute(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_current_xact_id_if_assigned()::text::bigint, "
            f"coalesce(pg_sequence_last_value(pg_get_serial_sequence('{Change._meta.db_table}', 'id')), 0) "
            "FROM pg_current_snapshot() AS s"
        )
        xmin, own, last_id = cursor.fetchone()
    if own == xmin:
        # A reader inside its own writing transaction (a test, a script) is the oldest in flight: it
        # sees its own changes, up to the last id handed out (its later ones get higher ids).
        return Position(own, last_id), complete
    return Position(xmin - 1, _END), complete


def _horizon() -> Position:
    row = ChangeHorizon.objects.filter(pk=1).values_list("txid", "seq").first()
    return Position(*row) if row else START


def feed_page(*, account: Account, dataset: Dataset, after: Position | None, limit: int) -> FeedPage:
    """The changes of ``dataset`` in ``account`` after ``after`` (None: from the beginning), up to ``limit``.

    1. A cursor before the pruning horizon is expired (410): changes after it may be gone.
    2. Read the watermark, then up to ``limit + 1`` changes after the cursor and at most at the
       watermark, in position order (one index range scan).
    3. A record changed several times in the page is served once, at its last position.
    4. Read the current version of each record (its latest change) and its current served form:
       ``upsert`` with the record, or ``delete`` (a tombstone) when it no longer exists.
    5. ``nextCursor``: the last item's position; at the end of the stream the watermark, so that a
       quiet account's cursor moves on (and does not expire).
    """
    if after is not None and after < _horizon():
        raise ApiError(CURSOR_EXPIRED + ".", code="cursor_expired", status_code=410, field="cursor")
    after = after or START
    watermark, complete = feed_watermark()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT txid, id, key FROM {Change._meta.db_table} "
            "WHERE account_id = %s AND dataset = %s AND (txid, id) > (%s, %s) AND (txid, id) <= (%s, %s) "
            "ORDER BY txid, id LIMIT %s",
            [account.pk, dataset.name, after.txid, after.seq, watermark.txid, watermark.seq, limit + 1],
        )
        rows = cursor.fetchall()
    end = len(rows) <= limit
    rows = rows[:limit]
    last_position = {key: Position(txid, seq) for txid, seq, key in rows}
    keys = list(last_position)
    versions = _versions(account=account, dataset=dataset, keys=keys)
    records = dataset.records(account, keys) if keys else {}
    items = []
    for txid, seq, key in rows:
        position = Position(txid, seq)
        if last_position[key] != position:
            continue
        item: dict[str, Any] = {"cursor": position.cursor(), "op": ChangeOp.UPSERT.value, "key": key,
                                "version": versions[key]}
        record = records.get(key)
        if record is None:
            item["op"] = ChangeOp.DELETE.value
        else:
            item["record"] = orjson.Fragment(record)
        items.append(item)
    next_position = Position(rows[-1][0], rows[-1][1]) if rows else after
    if end:
        next_position = max(next_position, watermark)
    return FeedPage(items=items, next_position=next_position, end_of_stream=end, complete_up_to=complete)


def _versions(*, account: Account, dataset: Dataset, keys: list[str]) -> dict[str, int]:
    """The current version of each record: the id of its latest committed change."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT key, max(id) FROM {Change._meta.db_table} "
                "WHERE account_id = %s AND dataset = %s AND key = ANY(%s) GROUP BY key",
                [account.pk, dataset.name, keys],
            )
            return dict(cursor.fetchall())
    # SQLite takes 32,766 parameters per statement: a page of MAX_LIMIT keys fits.
    return dict(
        Change.objects.filter(account=account, dataset=dataset.name, key__in=keys)
        .values("key")
        .annotate(version=Max("id"))
        .values_list("key", "version")
    )
