"""Rawdata's exact ``totalResults`` (docs/contract.md#rawdata-totals): the kept day counts where they serve,
the rest counted from the index, and the window's counted segments that a deep page starts from.

Apart from the page (qualityai.selectors) because it is a sub-domain of its own: it reads the kept day
counts that qualityai.day_counts writes, and takes the query as the values its statements bind
(qualityai.statements).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate

from analytics_api.kernel.dates import day_start, utc_day
from qualityai.models import Direction
from qualityai.statements import (
    DAY_COUNTS,
    DAY_MARKS,
    STRETCH_COUNTS,
    VALUE_COUNTS,
    contacts_matching,
    custom_keys_count,
    key_rows_matching,
    statements_preparable,
)

# Above this many stretches of days counted contact by contact, contacts_count counts the whole window.
MAX_COUNTED_STRETCHES = 4
# From this day on a window is counted contact by contact (day arithmetic would pass date.max).
_LAST_DAYS = date.max - timedelta(days=2)


@dataclass(frozen=True)
class Segment:
    """A stretch of a rawdata window, [``start``, ``end``), and how many of its contacts match."""

    start: datetime
    end: datetime
    count: int
    # A kept day's counts by UTC hour: one list of 24 per count column the query adds up (see
    # QaDayCount.hours). Empty for a day kept without them and for a stretch counted from the index.
    hours: tuple[list[int], ...] = ()

    def parts(self) -> list[Segment]:
        """The segment's hours that have contacts, in time order, when its hours are kept (and add up
        to its count); otherwise the segment itself. Made only for the segment a deep page starts in."""
        if not self.hours:
            return [self]
        counts = [sum(column[hour] for column in self.hours) for hour in range(24)]
        if sum(counts) != self.count:
            return [self]
        hour = timedelta(hours=1)
        return [
            Segment(self.start + number * hour, self.start + (number + 1) * hour, count)
            for number, count in enumerate(counts)
            if count
        ]


def contacts_count(*, values: dict[str, Any]) -> tuple[int, list[Segment] | None]:
    """The exact number of contacts a query matches, given as the values its statements bind
    (``qualityai.selectors.bound_values``): rawdata's ``totalResults`` (docs/contract.md#rawdata-totals),
    and the window's segments in time order when it was counted by segment: each kept day (with its
    counts by hour when its row keeps them) and each stretch counted from the index.

    1. With several ``custom_fields`` keys, or a window reaching the calendar's last days: one COUNT
       over the window index. Otherwise what is counted is the contacts or, with one key, that key's
       custom-field rows (``qualityai.statements._counted_rows``).
    2. Read the marks of the window's whole days, then their kept counts, in that order: a day
       without a mark at the first read has counts that were exact at that moment or later.
    3. Take the kept counts of the unmarked days whose counts serve the query (counted under the
       stream's current minimum duration, unless below-threshold contacts are included): the day's
       :class:`QaDayCount`, or with a key the :class:`QaValueDayCount` rows of its values — unless
       the key had too many values that day. A day with neither a mark nor a count has no contacts.
    4. Count the rest: the window's partial first and last days and the other days, as stretches of
       consecutive days, each counted in one UNION ALL statement. With more than
       ``MAX_COUNTED_STRETCHES`` stretches, the whole window instead: a key's rows in one COUNT
       grouped by UTC day (each day a segment), the contacts in one COUNT.
    """
    start = values["start"]
    if custom_keys_count(values) > 1 or utc_day(values["end"]) >= _LAST_DAYS:
        # The calendar's last days hold no contact (their next day does not exist for the day arithmetic).
        return contacts_matching(**values).count(), None
    first = utc_day(start) + timedelta(days=0 if start == day_start(utc_day(start)) else 1)
    # The end is inclusive: its day is whole only when the end is that day's last microsecond.
    end = values["end"] + timedelta(microseconds=1)
    last = utc_day(end) - timedelta(days=1)
    kept: dict[date, int] = {}
    hourly: dict[date, tuple[list[int], ...]] = {}
    if first > last:
        stretches = [(start, end)]
    else:
        marked = _kept_counts(values=values, first=first, last=last, kept=kept, hourly=hourly)
        stretches = []
        for lo, hi in [
            *([(start, day_start(first))] if start < day_start(first) else []),
            *((day_start(day), day_start(day + timedelta(days=1))) for day in sorted(marked)),
            *([(day_start(last + timedelta(days=1)), end)] if end > day_start(last + timedelta(days=1)) else []),
        ]:
            if stretches and stretches[-1][1] == lo:
                stretches[-1] = (stretches[-1][0], hi)
            else:
                stretches.append((lo, hi))
    if len(stretches) > MAX_COUNTED_STRETCHES:
        return _whole_window_count(values)
    segments = [
        Segment(day_start(day), day_start(day + timedelta(days=1)), count, hourly.get(day, ()))
        for day, count in kept.items()
    ]
    bounds = {f"{side}_{number}": bound for number, stretch in enumerate(stretches)
              for side, bound in zip(("from", "to"), stretch, strict=True)}
    counted = dict(STRETCH_COUNTS.rows(
        fixed={"stretches": len(stretches)}, prepare=statements_preparable(values), **values, **bounds
    )) if stretches else {}
    segments += [Segment(lo, hi, counted.get(number, 0)) for number, (lo, hi) in enumerate(stretches)]
    segments.sort(key=lambda segment: segment.start)
    return sum(segment.count for segment in segments), segments


def _kept_counts(
    *, values: dict[str, Any], first: date, last: date, kept: dict[date, int],
    hourly: dict[date, tuple[list[int], ...]],
) -> set[date]:
    """Steps 2 and 3 of :func:`contacts_count` for the whole days ``first``..``last``: fills ``kept``
    with the matching contacts of each day whose kept counts serve (days with none are left out), and
    ``hourly`` with the hour lists of the columns counted, where the day's row keeps them (not for a
    key's values, which are kept by day); returns the days to count from the rows."""
    days = {"stream_id": values["stream_id"], "first": first, "last": last}
    marked = {day for (day,) in DAY_MARKS.rows(**days)}
    # Bound values name a minimum duration unless below-threshold contacts are included, a direction
    # when the query has one, and a key (with its accepted values) per custom-field key.
    below_threshold_included = "min_duration_ms" not in values
    keyed = custom_keys_count(values) > 0
    directions = [values["direction"]] if "direction" in values else [Direction.INBOUND, Direction.OUTBOUND]
    columns = tuple(
        direction if below_threshold_included else f"{direction}_evaluated" for direction in directions
    )
    serving: set[date] = set()
    for day, threshold_ms, *counts, hours in DAY_COUNTS.rows(fixed={"columns": (*columns, "hours")}, **days):
        if day in marked or not (below_threshold_included or threshold_ms == values["min_duration_ms"]):
            marked.add(day)
        elif not keyed and sum(counts):
            kept[day] = sum(counts)
            # Kept hours serve only whole: 24 counts for each column (Segment.parts checks their sum).
            if hours and all(len(hours.get(column) or ()) == 24 for column in columns):
                hourly[day] = tuple(hours[column] for column in columns)
        else:
            serving.add(day)
    if keyed:
        key, accepted = values["key_0"], values["values_0"]
        for day, value, *numbers in VALUE_COUNTS.rows(fixed={"columns": columns}, key=key, accepted=list(accepted),
                                                      **days):
            if day not in serving:
                continue
            if value is None:  # The key had too many values that day to keep their counts.
                marked.add(day)
            elif sum(numbers):
                kept[day] = kept.get(day, 0) + sum(numbers)
    return marked


def _whole_window_count(values: dict[str, Any]) -> tuple[int, list[Segment] | None]:
    """The window counted in one statement: a key's rows by UTC day (each day a segment), or the contacts."""
    if custom_keys_count(values) == 0:
        return contacts_matching(**values).count(), None
    per_day = (
        key_rows_matching(**values).order_by().annotate(day=TruncDate("started_at", tzinfo=UTC)).values("day")
        .annotate(matching=Count("started_at")).values_list("day", "matching")
    )
    segments = sorted(
        (Segment(day_start(day), day_start(day + timedelta(days=1)), count) for day, count in per_day),
        key=lambda segment: segment.start,
    )
    return sum(segment.count for segment in segments), segments
