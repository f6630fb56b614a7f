"""Reading the change feed (docs/contract.md#change-feed): pages in position order that never skip.

A change's position is ``(txid, id)``; the feed serves positions only up to the watermark
(:mod:`changes.watermark`), below which no change can still appear. A cursor is ``txid`` and
``id`` as 16 hex digits each: cursors compare as strings in feed order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.fields import json_text
from analytics_api.models import Account
from changes.datasets import Dataset
from changes.models import Change, ChangeHorizon
from changes.watermark import END, feed_watermark

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
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
        return cls(txid, seq) if txid < 1 << 63 and seq <= END else None


START = Position(0, 0)


@dataclass(frozen=True)
class FeedPage:
    items: orjson.Fragment  # the JSON array of items, already rendered
    count: int
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


def _horizon() -> Position:
    row = ChangeHorizon.objects.filter(pk=1).values_list("txid", "seq").first()
    return Position(*row) if row else START


def feed_page(*, account: Account, dataset: Dataset, after: Position | None, limit: int) -> FeedPage:
    """The changes of ``dataset`` in ``account`` after ``after`` (None: from the beginning), up to ``limit``.

    1. A cursor before the pruning horizon is expired (410): changes after it may be gone.
    2. Read the watermark, then up to ``limit + 1`` changes after the cursor and at most at the
       watermark, in position order (one index range scan), each with its record's current
       version (the id of the record's latest change).
    3. A record changed several times in the page is served once, at its last position.
    4. Read the current served form of the page's records: ``upsert`` with the record, or
       ``delete`` (a tombstone) when it no longer exists.
    5. ``nextCursor``: the last item's position; at the end of the stream the watermark, so that a
       quiet account's cursor moves on (and does not expire).
    """
    if after is not None and after < _horizon():
        raise ApiError(CURSOR_EXPIRED + ".", code="cursor_expired", status_code=410, field="cursor")
    after = after or START
    last, complete = feed_watermark()
    watermark = Position(*last)
    with connection.cursor() as cursor:
        # Each change with its record's current version: the id of the record's latest change (an
        # index probe per row, in the same scan).
        cursor.execute(
            f"SELECT p.txid, p.id, p.key, (SELECT max(c.id) FROM {Change._meta.db_table} c "
            "WHERE c.account_id = p.account_id AND c.dataset = p.dataset AND c.key = p.key) "
            f"FROM {Change._meta.db_table} p "
            "WHERE p.account_id = %s AND p.dataset = %s AND (p.txid, p.id) > (%s, %s) AND (p.txid, p.id) <= (%s, %s) "
            "ORDER BY p.txid, p.id LIMIT %s",
            [account.pk, dataset.name, after.txid, after.seq, watermark.txid, watermark.seq, limit + 1],
        )
        rows = cursor.fetchall()
    end = len(rows) <= limit
    rows = rows[:limit]
    last = {key: (txid, seq) for txid, seq, key, _version in rows}
    keys = list(last)
    records = dataset.records(account, keys) if keys else {}
    # The items as JSON text, records embedded as served: a page of 10,000 is one join, not 10,000 objects.
    items = []
    for txid, seq, key, version in rows:
        if last[key] != (txid, seq):
            continue
        head = f'{{"cursor":"{txid:016x}{seq:016x}","op":"%s","key":{json_text(key)},"version":{version}'
        record = records.get(key)
        items.append(head % "delete" + "}" if record is None else head % "upsert" + ',"record":' + record + "}")
    next_position = Position(rows[-1][0], rows[-1][1]) if rows else after
    if end:
        next_position = max(next_position, watermark)
    return FeedPage(
        items=orjson.Fragment("[" + ",".join(items) + "]"),
        count=len(items),
        next_position=next_position,
        end_of_stream=end,
        complete_up_to=complete,
    )
