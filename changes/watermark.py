"""The feed's watermark (docs/contract.md#change-feed): the last position below which no change can still appear.

Transactions take change ids from a sequence when they write but commit in any order: a reader that
passed id 11 could later see id 10 commit, and a naive cursor would skip it. A change's position is
therefore ``(txid, id)`` — the writing transaction's id first — and the feed serves positions only
up to the watermark:

* PostgreSQL: every transaction of this database still in flight is found in the snapshot
  (``pg_current_snapshot()``: those below its ``xmax`` are listed, every later one is
  ``xmax`` or above) and in ``pg_stat_activity``. Below the oldest of them, ``boundary``, every
  transaction has finished, and a transaction that has not yet begun will get a higher id: the
  changes with ``txid < boundary`` are all committed, all visible, and no new one can join them.
  The watermark is ``(boundary − 1, ∞)``. A transaction in flight holds the feed back (for as
  long as it runs); it is never skipped. Transactions of other databases of the cluster do not
  write this table and do not hold it back — unless the database role may not see them (no
  ``pg_read_all_stats``), when every transaction of the cluster counts.
* SQLite: writers are serialized (a write transaction holds the database lock until it commits),
  so ids are handed out in commit order; the watermark is the highest committed id.

``completeUpTo`` is the start of the oldest of this database's transactions in flight (or the time
of the snapshot): a change committed before it has a position within the watermark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from changes.models import Change

_LOW = 0xFFFF_FFFF
# The highest id: a watermark position covers every id of its transaction.
END = (1 << 63) - 1


@dataclass(frozen=True)
class Snapshot:
    xmax: int
    in_progress: list[int]
    own: int | None
    last_id: int
    taken_at: datetime


def feed_watermark() -> tuple[tuple[int, int], datetime]:
    """The last servable position ``(txid, id)``, and the instant before which every commit is within it."""
    if connection.vendor != "postgresql":
        last = Change.objects.order_by("-id").values_list("id", flat=True).first()
        return (0, last or 0), timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmax(s)::text::bigint, "
            "array(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x), "
            "pg_current_xact_id_if_assigned()::text::bigint, "
            f"coalesce(pg_sequence_last_value(pg_get_serial_sequence('{Change._meta.db_table}', 'id')), 0), "
            "statement_timestamp() FROM pg_current_snapshot() AS s"
        )
        snapshot = Snapshot(*cursor.fetchone())
        if connection.in_atomic_block:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is otherwise cached per transaction
        # Read after the snapshot: a transaction of the snapshot that is gone by now has committed
        # (its changes are visible to the reads that follow) or rolled back.
        cursor.execute(
            "SELECT backend_xid::text::bigint, xact_start, query = '<insufficient privilege>' FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (backend_xid IS NOT NULL OR query = '<insufficient privilege>') "
            "UNION ALL SELECT transaction::text::bigint, prepared, false FROM pg_prepared_xacts "
            "WHERE database = current_database()"
        )
        activity = cursor.fetchall()
    return _pg_watermark(snapshot, activity)


def _widen(low: int, near: int) -> int:
    """The 64-bit transaction id whose low 32 bits are ``low``, closest to ``near``."""
    wide = (near & ~_LOW) | low
    if wide > near + (1 << 31):
        wide -= 1 << 32
    elif wide < near - (1 << 31):
        wide += 1 << 32
    return wide


def _pg_watermark(snapshot: Snapshot, activity: list[tuple[int | None, datetime | None, bool]]) -> tuple[
    tuple[int, int], datetime
]:
    """1. This database's transactions in flight: those of the snapshot that ``pg_stat_activity``
       still lists here (all of the snapshot's when some are hidden), and those it lists at or
       above ``xmax``.
    2. ``boundary`` = the oldest of them, or ``xmax`` when none is older.
    3. A reader inside its own writing transaction (a script, a test) sees its own changes: when
       no other transaction of this database is older, the watermark is its own id and the last
       id handed out (its later changes get higher ids); else its changes wait like any other.
    """
    hidden = any(row[2] for row in activity)
    ours_low = {xid & _LOW for xid, _start, _hidden in activity if xid is not None}
    listed = [xid for xid in snapshot.in_progress if hidden or xid & _LOW in ours_low]
    later = {_widen(low, snapshot.xmax) for low in ours_low} - {snapshot.own}
    starts = [start for xid, start, _hidden in activity if xid is not None and start is not None]
    complete = min([snapshot.taken_at, *starts])
    boundary = min([*listed, snapshot.xmax])
    own = snapshot.own
    if own is not None:
        if not hidden and all(xid > own for xid in [*listed, *later]):
            return (own, snapshot.last_id), complete
        boundary = min(boundary, own)
    return (boundary - 1, END), complete
