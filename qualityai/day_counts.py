"""Writes of the kept day counts behind rawdata's exact ``totalResults`` (docs/contract.md#rawdata-totals).

Counting a 30-day window of a busy stream contact by contact costs as much as the rest of the request
many times over, so each stream keeps one :class:`~qualityai.models.QaDayCount` row per UTC day, and one
:class:`~qualityai.models.QaValueDayCount` row per custom-field key and value of the day (for the
totals under a one-key ``custom_fields`` filter).
Every write of contacts marks the days it touched (:func:`contact_days_mark`, a plain insert in the
write's own transaction); the django-q2 schedule ``qualityai-day-counts`` counts those days again
(:func:`day_counts_refresh`); the read (``qualityai.totals.contacts_count``) takes the rows of the
clean days and counts the marked ones and the window's partial edge days from the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import ExtractHour, TruncDate

from analytics_api.kernel.dates import day_start, utc_day
from qualityai.models import (
    DAY_COUNT_COLUMNS,
    VALUE_COUNTS_PER_KEY,
    QaContact,
    QaContactCustomField,
    QaDayCount,
    QaDayDirty,
    QaValueDayCount,
)
from qualityai.selectors import stream_min_duration_ms

# Days counted again per run of the schedule; the management command loops until none is left.
REFRESH_BATCH = 500


def contact_days_mark(*, stream_days: Iterable[tuple[int, datetime]]) -> None:
    """Mark the UTC days of (stream id, contact start) pairs as written, in the caller's transaction.

    Called with the new and the previous starts of upserted contacts and the starts of deleted ones.
    Entries are sorted so that concurrent writers insert in the same order.
    """
    days = sorted({(stream_id, utc_day(start)) for stream_id, start in stream_days})
    QaDayDirty.objects.bulk_create([QaDayDirty(stream_id=stream_id, day=day) for stream_id, day in days])


def stream_days_mark(*, stream_id: int) -> None:
    """Mark every counted day of a stream, whose minimum duration has just changed (its evaluated counts)."""
    days = QaDayCount.objects.filter(stream_id=stream_id).values_list("day", flat=True)
    QaDayDirty.objects.bulk_create([QaDayDirty(stream_id=stream_id, day=day) for day in days])


def streams_days_mark(*, stream_ids: Iterable[int] | None = None) -> int:
    """Mark every day that has contacts (of ``stream_ids``, or of every stream): a rebuild from the contacts.

    The database finds the distinct (stream, UTC day) pairs; returns how many were marked.
    """
    contacts = QaContact.objects.all() if stream_ids is None else QaContact.objects.filter(stream_id__in=stream_ids)
    pairs = (
        contacts.order_by().annotate(day=TruncDate("started_at", tzinfo=UTC)).values_list("stream_id", "day").distinct()
    )
    entries = [QaDayDirty(stream_id=stream_id, day=day) for stream_id, day in sorted(pairs)]
    QaDayDirty.objects.bulk_create(entries, batch_size=5_000)
    return len(entries)


def day_counts_refresh(*, limit: int = REFRESH_BATCH) -> int:
    """Count again up to ``limit`` marked (stream, day) pairs, oldest day first; returns how many.

    1. List the pairs that have entries.
    2. For each pair, in one transaction:
       a. create the day's count row if it is missing, and lock it: a second refresh of the same day
          (another cluster) waits here, so the row always ends with the later count (and creates
          the row again when the first one deleted it);
       b. read the day's entries;
       c. count the day's contacts by direction and UTC hour, and those not below the stream's current
          minimum duration (an index-only scan of the window index), then the same for each custom-field
          key and value (``value_counts_count``);
       d. write the counts (delete the row of a day left without contacts), replace the day's value
          counts, and delete exactly the entries read in b.

    Why the counts stay exact: an entry becomes visible together with the contacts it marks (one
    transaction), and c starts after b, so c sees every write whose entry d deletes. A write that
    commits after b keeps its own entry, and the read counts that day from the index until the next run.
    """
    pairs = list(
        QaDayDirty.objects.order_by("day", "stream_id").values_list("stream_id", "day").distinct()[:limit]
    )
    for stream_id, day in pairs:
        _day_refresh(stream_id=stream_id, day=day)
    return len(pairs)


def _day_refresh(*, stream_id: int, day: date) -> None:
    with transaction.atomic():
        row = None
        while row is None:
            QaDayCount.objects.bulk_create(
                [QaDayCount(stream_id=stream_id, day=day, threshold_ms=-1)], ignore_conflicts=True
            )
            # None when another refresh deleted the row (its day had no contacts left) while we waited.
            row = QaDayCount.objects.select_for_update().filter(stream_id=stream_id, day=day).first()
        entries = list(QaDayDirty.objects.filter(stream_id=stream_id, day=day).values_list("pk", flat=True))
        threshold_ms = stream_min_duration_ms(stream_id=stream_id)
        evaluated = Q(duration_ms__gte=threshold_ms) | Q(duration_ms__isnull=True)
        hours = _hour_counts(stream_id=stream_id, day=day, evaluated=evaluated)
        if any(map(sum, hours.values())):
            row.threshold_ms = threshold_ms
            row.hours = hours
            for column, counts in hours.items():
                setattr(row, column, sum(counts))
            row.save()
        else:
            row.delete()
        QaValueDayCount.objects.filter(stream_id=stream_id, day=day).delete()
        QaValueDayCount.objects.bulk_create(value_counts_count(stream_id=stream_id, day=day, evaluated=evaluated))
        QaDayDirty.objects.filter(pk__in=entries).delete()


def _hour_counts(*, stream_id: int, day: date, evaluated: Q) -> dict[str, list[int]]:
    """The day's contacts by direction and UTC hour: all of them, and those not below the minimum
    duration (``evaluated``); each of the four count columns as a list of 24 (see ``QaDayCount.hours``).

    One index-only scan of the day's window index entries: the start, direction and duration are all
    in it (on PostgreSQL), and a non-null column of it is counted rather than the primary key.
    """
    hours = {column: [0] * 24 for column in DAY_COUNT_COLUMNS}
    grouped = (
        QaContact.objects.filter(
            stream_id=stream_id, started_at__gte=day_start(day), started_at__lt=day_start(day + timedelta(days=1))
        )
        .order_by()
        .annotate(hour=ExtractHour("started_at", tzinfo=UTC))
        .values("direction", "hour")
        .annotate(total=Count("started_at"), not_below=Count("started_at", filter=evaluated))
        .values_list("direction", "hour", "total", "not_below")
    )
    for direction, hour, total, not_below in grouped:
        hours[direction][hour] = total
        hours[f"{direction}_evaluated"][hour] = not_below
    return hours


def value_counts_count(*, stream_id: int, day: date, evaluated: Q) -> list[QaValueDayCount]:
    """The day's counts per custom-field key and value, by direction (unsaved rows).

    1. Count each key's distinct values on the day (the custom-field rows of the day).
    2. A key with more than ``VALUE_COUNTS_PER_KEY`` values gets one row without a value: its filters
       count that day from the rows. Bounded: at most that many rows per key and day are read or kept.
    3. The other keys are counted per value and direction from the same rows, which repeat their
       contact's direction and duration (``evaluated``: not below the stream's minimum duration).
    """
    rows = QaContactCustomField.objects.filter(
        stream_id=stream_id, started_at__gte=day_start(day), started_at__lt=day_start(day + timedelta(days=1))
    ).order_by()
    spread = dict(rows.values("key").annotate(values=Count("value", distinct=True)).values_list("key", "values"))
    kept_keys = sorted(key for key, values in spread.items() if values <= VALUE_COUNTS_PER_KEY)
    counts = [
        QaValueDayCount(stream_id=stream_id, day=day, key=key, value=None)
        for key in sorted(set(spread) - set(kept_keys))
    ]
    by_value: dict[tuple[str, str], QaValueDayCount] = {}
    grouped = (
        rows.filter(key__in=kept_keys).values("key", "value", "direction")
        .annotate(total=Count("started_at"), not_below=Count("started_at", filter=evaluated))
        .values_list("key", "value", "direction", "total", "not_below")
    ) if kept_keys else []
    for key, value, direction, total, not_below in grouped:
        count = by_value.setdefault((key, value), QaValueDayCount(stream_id=stream_id, day=day, key=key, value=value))
        setattr(count, direction, total)
        setattr(count, f"{direction}_evaluated", not_below)
    return counts + list(by_value.values())
