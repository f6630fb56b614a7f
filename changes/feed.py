"""Reading the change feed (docs/contract.md#change-feed): pages in position order that never skip.

A change's position is ``(txid, id)``; the feed serves positions only up to the watermark
(:mod:`changes.watermark`), below which no change can still appear. A cursor is ``txid`` and ``id``
as 16 hex digits each, then the pruning generation it was issued under as 8 hex digits: cursors
compare as strings in feed order. A cursor of the first format (32 digits, no generation) is still
read, as one of no generation.

Why the generation. Pruning (:func:`changes.services.changes_prune`) deletes old superseded changes
and old tombstones up to the horizon, and keeps the latest change of every living record however
old. A reader that read *before* a prune may hold a record whose tombstone that prune deleted: its
cursor below the horizon is expired (410). A reader that started from the beginning *after* the
prune never saw those records (it was served each record's current form), so its cursor is good
even below the horizon — else, reading the kept old changes in pages, it would be handed a cursor
below the horizon, answered 410, and restart for ever.
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
from analytics_api.kernel.planner import past_settings, settings_sql
from analytics_api.models import Account
from changes.datasets import Dataset
from changes.models import Change, ChangeHorizon
from changes.watermark import END, feed_watermark

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
CURSOR_EXPIRED = "Resync from the beginning: this cursor is older than the feed's retention"
_HEX = "0123456789abcdef"
# The page's statement is one ordered range scan per monthly partition of the log, merged (the
# partitions split the log by time, not by position). When the planner misjudges how many changes
# the range holds (a reader from the beginning, positions sharing a transaction id), it appends the
# partitions and sorts the whole range instead: 1,051 ms instead of 87 ms for a page of 10,000 of
# a million changes (EXPLAIN ANALYZE). Each partition has the ordered index, so this only steers it.
_POSTGRESQL_SETTINGS = settings_sql(enable_sort="off")
# The generation's hex digits in a cursor: a prune a day for eleven million years.
_GENERATION_DIGITS = 8


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    seq: int

    def text(self) -> str:
        return f"{self.txid:016x}{self.seq:016x}"


@dataclass(frozen=True)
class Cursor:
    """A position, and the pruning generation in force when the feed handed it out (None: a cursor
    of the first format, which carried none)."""

    position: Position
    generation: int | None

    def text(self) -> str:
        return self.position.text() + _generation_text(self.generation or 0)

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        """The cursor this feed handed out, or None (32 digits: the first format; 40: the current one)."""
        if len(text) not in (32, 32 + _GENERATION_DIGITS) or text.strip(_HEX):
            return None
        txid, seq = int(text[:16], 16), int(text[16:32], 16)
        if txid >= 1 << 63 or seq > END:
            return None
        return cls(Position(txid, seq), int(text[32:], 16) if len(text) > 32 else None)


def _generation_text(generation: int) -> str:
    return f"{generation:0{_GENERATION_DIGITS}x}"


START = Position(0, 0)


@dataclass(frozen=True)
class FeedPage:
    items: orjson.Fragment  # the JSON array of items, already rendered
    count: int
    next_cursor: Cursor
    end_of_stream: bool
    complete_up_to: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "nextCursor": self.next_cursor.text(),
            "endOfStream": self.end_of_stream,
            "completeUpTo": render_utc_ms(self.complete_up_to),
        }


@dataclass(frozen=True)
class Horizon:
    position: Position
    generation: int

    def expires(self, cursor: Cursor) -> bool:
        """Whether changes after ``cursor`` may have been pruned since its reader read before it: it is
        below the horizon and was issued under an earlier generation (or carries none)."""
        return cursor.generation != self.generation and cursor.position < self.position


def _horizon() -> Horizon:
    row = ChangeHorizon.objects.filter(pk=1).values_list("txid", "seq", "generation").first()
    return Horizon(Position(row[0], row[1]), row[2]) if row else Horizon(START, 0)


def _expire_if(horizon: Horizon, after: Cursor | None) -> None:
    if after is not None and horizon.expires(after):
        raise ApiError(CURSOR_EXPIRED + ".", code="cursor_expired", status_code=410, field="cursor")


def feed_page(*, account: Account, dataset: Dataset, after: Cursor | None, limit: int) -> FeedPage:
    """The changes of ``dataset`` in ``account`` after ``after`` (None: from the beginning), up to ``limit``.

    1. Read the pruning state (horizon and generation). A cursor below the horizon issued under an
       earlier generation (or of the first format, with none) is expired (410): that prune may have
       deleted a tombstone after it of a record its reader holds. One of the current generation is
       good even below the horizon: its reader has read only what the prunes up to it left.
    2. Read the watermark, then up to ``limit + 1`` changes after the cursor and at most at the
       watermark, in position order (one index range scan), each with its record's current
       version (the id of the record's latest change), in the same statement: the page's keys
       looked up together, not one probe per change.
    3. Read the pruning state again: a prune that committed since step 1 may be what step 2 read,
       so the cursor must also be good under it (else 410). The page's cursors carry step 1's
       generation, which step 2's reads are at least as new as: never a generation whose prune
       this page may have read before.
    4. A record changed several times in the page is served once, at its last position.
    5. Read the current served form of the page's records: ``upsert`` with the record, or
       ``delete`` (a tombstone) when it no longer exists — a record whose tombstone was pruned is
       never served to a reader that has not served it before.
    6. ``nextCursor``: the last item's position; at the end of the stream the watermark, so that a
       quiet account's cursor moves on (and does not expire).
    """
    horizon = _horizon()
    _expire_if(horizon, after)
    position = after.position if after is not None else START
    last, complete = feed_watermark()
    watermark = Position(*last)
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        # Each change with its record's current version (the id of its latest change), read in the
        # same statement: the page's keys are looked up at once in every partition's index of keys
        # (PostgreSQL: one index scan of the array of keys per partition), not once per change.
        cursor.execute(
            (_POSTGRESQL_SETTINGS if postgresql else "")
            + f"WITH page AS {'MATERIALIZED ' if postgresql else ''}(SELECT p.txid, p.id, p.key "
            f"FROM {Change._meta.db_table} p "
            "WHERE p.account_id = %s AND p.dataset = %s AND (p.txid, p.id) > (%s, %s) AND (p.txid, p.id) <= (%s, %s) "
            "ORDER BY p.txid, p.id LIMIT %s) "
            "SELECT page.txid, page.id, page.key, v.version FROM page JOIN "
            f"(SELECT c.key, max(c.id) AS version FROM {Change._meta.db_table} c "
            "WHERE c.account_id = %s AND c.dataset = %s AND "
            + ("c.key = ANY(ARRAY(SELECT key FROM page))" if postgresql else "c.key IN (SELECT key FROM page)")
            + " GROUP BY c.key) v ON v.key = page.key",
            [account.pk, dataset.name, position.txid, position.seq, watermark.txid, watermark.seq, limit + 1,
             account.pk, dataset.name],
        )
        # In position order here: an ORDER BY would sort what the page's scan already ordered.
        rows = sorted(past_settings(cursor).fetchall())
    now = _horizon()
    if now != horizon:
        _expire_if(now, after)
    end = len(rows) <= limit
    rows = rows[:limit]
    last = {key: (txid, seq) for txid, seq, key, _version in rows}
    keys = list(last)
    records = dataset.records(account, keys) if keys else {}
    generation = _generation_text(horizon.generation)
    # The page as JSON text, records embedded as served: one join of its pieces, each record's text
    # copied once (a page of 10,000 is 18 MB), not 10,000 objects.
    pieces = ["["]
    count = 0
    for txid, seq, key, version in rows:
        if last[key] != (txid, seq):
            continue
        record = records.get(key)
        head = f'{"," if count else ""}{{"cursor":"{txid:016x}{seq:016x}{generation}","op":'
        tail = f'"key":{json_text(key)},"version":{version}'
        if record is None:
            pieces.append(f'{head}"delete",{tail}}}')
        else:
            pieces.extend((f'{head}"upsert",{tail},"record":', record, "}"))
        count += 1
    pieces.append("]")
    next_position = Position(rows[-1][0], rows[-1][1]) if rows else position
    if end:
        next_position = max(next_position, watermark)
    return FeedPage(
        items=orjson.Fragment("".join(pieces)),
        count=count,
        next_cursor=Cursor(next_position, horizon.generation),
        end_of_stream=end,
        complete_up_to=complete,
    )
