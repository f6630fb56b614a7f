"""Reads for Quality AI: the rawdata page of a stream (docs/contract.md#rawdata-paging)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import TruncDate

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.dates import day_start, utc_day
from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.paging import page_rows
from analytics_api.models import Account, Bot
from qualityai.models import (
    DEFAULT_MIN_DURATION_SECONDS,
    Direction,
    QaContact,
    QaContactCustomField,
    QaDayCount,
    QaDayDirty,
    QaValueDayCount,
    StreamSettings,
)
from qualityai.rendering import SERVED_RESULTS, contact_result, served_result
from recordings.selectors import recording_links

# A total order: consecutive pages never overlap or skip a contact.
PAGE_ORDER = ("started_at", "conversation_id")
# Above this many stretches of days counted contact by contact, contacts_count counts the whole window.
MAX_COUNTED_STRETCHES = 4
# From this day on a window is counted contact by contact (day arithmetic would pass date.max).
_LAST_DAYS = date.max - timedelta(days=2)
# From this many skipped contacts on, the page starts from its first contact's key (see page_from_key).
DEEP_SKIP = 500


@dataclass(frozen=True)
class RawdataQuery:
    start: datetime
    end: datetime
    skip: int
    limit: int
    include_below_threshold: bool = False
    direction: str | None = None
    # key → accepted values (any of them); keys are AND-ed.
    custom_fields: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> RawdataQuery:
        """The query of a validated rawdata body: records skipped = offset + (page − 1) × limit."""
        return cls(
            start=data["startDate"],
            end=data["endDate"],
            skip=data["offset"] + (data["page"] - 1) * data["limit"],
            limit=data["limit"],
            include_below_threshold=data["include_below_threshold"],
            direction=data.get("contact_direction"),
            custom_fields=data.get("custom_fields", {}),
        )


@dataclass(frozen=True)
class RawdataPage:
    results: orjson.Fragment  # the JSON array of results, already rendered
    count: int
    total: int
    has_more: bool
    total_pages: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "totalResults": self.total,
            "hasMore": self.has_more,
            "totalPages": self.total_pages,
        }


def stream_by_id(*, stream_id: str, account_id: str | None = None) -> Bot:
    """A stream named on the command line: its bot id, and the account when two accounts share it."""
    streams = list(Bot.objects.select_related("account").filter(bot_id=stream_id)[:2])
    if account_id is not None:
        streams = [stream for stream in streams if stream.account.account_id == account_id]
    if not streams:
        where = f" in account {account_id}" if account_id else ""
        raise ApiError(
            f"No stream (bot/app) {stream_id!r}{where}; add it with create_account --bot.",
            code="not_found",
            status_code=404,
            field="streamId",
        )
    if len(streams) > 1:
        raise ApiError(
            f"Several accounts have a stream {stream_id!r}: name the account with --account.",
            code="ambiguous",
            field="streamId",
        )
    return streams[0]


# The statements of every rawdata page, compiled once per shape (analytics_api.kernel.compiled).
_MIN_DURATION: CompiledQuery[StreamSettings] = CompiledQuery(
    lambda *, stream_id: StreamSettings.objects.filter(stream_id=stream_id).values_list("min_duration_seconds")
)


def stream_min_duration_ms(*, stream_id: int) -> int:
    found = _MIN_DURATION.rows(stream_id=stream_id)  # one row at most: the settings are one-to-one
    return (found[0][0] if found else DEFAULT_MIN_DURATION_SECONDS) * 1000


def _bound_values(*, stream_id: int, query: RawdataQuery, min_duration_ms: int) -> dict[str, Any]:
    """The values a rawdata statement binds; which of them there are (and how many custom values)
    is the statement's shape."""
    values: dict[str, Any] = {"stream_id": stream_id, "start": query.start, "end": query.end}
    if query.direction:
        values["direction"] = query.direction
    if not query.include_below_threshold:
        values["min_duration_ms"] = min_duration_ms
    for number, (key, accepted) in enumerate(query.custom_fields.items()):
        values[f"key_{number}"], values[f"values_{number}"] = key, list(accepted)
    return values


def _keys(values: dict[str, Any]) -> int:
    """How many custom-field keys bound ``values`` filter on (``key_<n>`` and ``values_<n>`` each)."""
    return sum(1 for name in values if name.startswith("key_"))


def contact_queryset(*, stream: Bot, query: RawdataQuery, min_duration_ms: int) -> QuerySet[QaContact]:
    """The contacts a query matches, on indexed columns only (unordered).

    Below-threshold means a *known* duration under the minimum: contacts without a duration are
    ``duration_unavailable`` and stay in the default answer.
    """
    return _contacts(**_bound_values(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms))


def _contacts(
    *, stream_id: Any, start: Any, end: Any, direction: Any = None, min_duration_ms: Any = None, **custom: Any
) -> QuerySet[QaContact]:
    """:func:`contact_queryset` of bound values (``_bound_values``); ``custom`` holds ``key_<n>`` and
    ``values_<n>`` for each custom-field key, each one EXISTS on that key's rows."""
    contacts = _matching(
        QaContact.objects.filter(stream_id=stream_id, started_at__gte=start, started_at__lte=end),
        direction=direction, min_duration_ms=min_duration_ms,
    )
    for number in range(_keys(custom)):
        matching = QaContactCustomField.objects.filter(
            contact_id=OuterRef("pk"), stream_id=stream_id, key=custom[f"key_{number}"],
            value__in=custom[f"values_{number}"], started_at__gte=start, started_at__lte=end,
        )
        contacts = contacts.filter(Exists(matching))
    return contacts


def _matching(rows: QuerySet[Any], *, direction: Any, min_duration_ms: Any) -> QuerySet[Any]:
    """``rows`` (contacts, or custom-field rows, which repeat their direction and duration) kept by the
    query's direction (None: both) and duration rule (None: below-threshold contacts included)."""
    if direction is not None:
        rows = rows.filter(direction=direction)
    if min_duration_ms is not None:
        rows = rows.filter(Q(duration_ms__gte=min_duration_ms) | Q(duration_ms__isnull=True))
    return rows


def _key_rows(
    *, stream_id: Any, start: Any, end: Any, key_0: Any, values_0: Any, direction: Any = None,
    min_duration_ms: Any = None,
) -> QuerySet[QaContactCustomField]:
    """With one ``custom_fields`` key, that key's custom-field rows the query matches: one per matching
    contact (they repeat its start, direction and duration)."""
    rows = QaContactCustomField.objects.filter(
        stream_id=stream_id, key=key_0, value__in=values_0, started_at__gte=start, started_at__lte=end
    )
    return _matching(rows, direction=direction, min_duration_ms=min_duration_ms)


def _counted_rows(**values: Any) -> QuerySet[Any]:
    """What a total counts: with one custom-field key that key's rows, otherwise the contacts."""
    return _key_rows(**values) if _keys(values) == 1 else _contacts(**values)


def _stretch_counts(*, stretches: int, **values: Any) -> QuerySet[Any]:
    """The matching rows of each stretch ``[from_<n>, to_<n>)``: one ``(n, count)`` row per stretch with
    any, in one UNION ALL statement."""
    bounds = [(values.pop(f"from_{number}"), values.pop(f"to_{number}")) for number in range(stretches)]
    counted = _counted_rows(**values)
    parts = [
        counted.filter(started_at__gte=lo, started_at__lt=hi).order_by()
        .annotate(part=Value(number)).values("part").annotate(matching=Count("started_at"))
        .values_list("part", "matching")
        for number, (lo, hi) in enumerate(bounds)
    ]
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def _page_rows(
    *, skip: int, limit: int, key_only: bool = False, version: Any = None, page_from: Any = None,
    page_to: Any = None, after_started: Any = None, after_conversation: Any = None, **values: Any,
) -> QuerySet[QaContact]:
    """The page's rows in ``PAGE_ORDER`` (:func:`contacts_page`): the matching contacts from ``page_from``
    and before ``page_to``, from the key (``after_started``, ``after_conversation``) on; with
    ``key_only`` the (start, conversation id) of the ``skip``-th alone."""
    contacts = _contacts(**values)
    if page_from is not None:
        contacts = contacts.filter(started_at__gte=page_from)
    if page_to is not None:
        contacts = contacts.filter(started_at__lt=page_to)
    if after_started is not None:
        contacts = contacts.filter(started_at__gte=after_started)
    if after_conversation is not None:
        contacts = contacts.filter(Q(started_at__gt=after_started) | Q(conversation_id__gte=after_conversation))
    ordered = contacts.order_by(*PAGE_ORDER)
    if key_only:
        return ordered.values_list(*PAGE_ORDER)[skip : skip + 1]
    columns = ("pk", "conversation_id", "duration_ms", SERVED_RESULTS.current_text(version))
    return ordered.values_list(*columns)[skip : skip + limit + 1]


def _key_row_start(*, skip: int, page_from: Any, page_to: Any, **values: Any) -> QuerySet[QaContactCustomField]:
    """The start of the ``skip``-th of one key's matching rows in ``[page_from, page_to)``, by start alone
    (an index-only read of that key's rows)."""
    rows = _key_rows(**values).filter(started_at__gte=page_from, started_at__lt=page_to)
    return rows.order_by("started_at").values_list("started_at")[skip : skip + 1]


def _preparable(values: dict[str, Any]) -> bool:
    """Whether a window's statements may run prepared (analytics_api.kernel.compiled): not with custom
    values, whose rows per value differ by orders of magnitude, so that a generic plan fits none."""
    return _keys(values) == 0


_STRETCH_COUNTS: CompiledQuery[Any] = CompiledQuery(_stretch_counts)
_PAGE_ROWS: CompiledQuery[QaContact] = CompiledQuery(_page_rows)
_KEY_ROW_START: CompiledQuery[QaContactCustomField] = CompiledQuery(_key_row_start)
_MARKS: CompiledQuery[QaDayDirty] = CompiledQuery(
    lambda *, stream_id, first, last: QaDayDirty.objects.filter(
        stream_id=stream_id, day__gte=first, day__lte=last
    ).values_list("day")
)
_DAY_COUNTS: CompiledQuery[QaDayCount] = CompiledQuery(
    lambda *, stream_id, first, last, columns: QaDayCount.objects.filter(
        stream_id=stream_id, day__gte=first, day__lte=last
    ).values_list("day", "threshold_ms", *columns)
)
_VALUE_COUNTS: CompiledQuery[QaValueDayCount] = CompiledQuery(
    lambda *, stream_id, key, accepted, first, last, columns: QaValueDayCount.objects.filter(
        Q(value__in=accepted) | Q(value__isnull=True), stream_id=stream_id, key=key, day__gte=first, day__lte=last
    ).values_list("day", "value", *columns)
)


@dataclass(frozen=True)
class Segment:
    """A stretch of a rawdata window, [``start``, ``end``), and how many of its contacts match."""

    start: datetime
    end: datetime
    count: int


def contacts_count(*, stream: Bot, query: RawdataQuery, min_duration_ms: int) -> tuple[int, list[Segment] | None]:
    """The exact number of contacts ``query`` matches (rawdata's ``totalResults``;
    docs/contract.md#rawdata-totals), and the window's segments in time order when it was counted by segment.

    1. With several ``custom_fields`` keys, or a window reaching the calendar's last days: one COUNT
       over the window index. Otherwise what is counted is the contacts or, with one key, that key's
       custom-field rows (``_counted_rows``).
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
    values = _bound_values(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms)
    if len(query.custom_fields) > 1 or utc_day(query.end) >= _LAST_DAYS:
        # The calendar's last days hold no contact (their next day does not exist for the day arithmetic).
        return _contacts(**values).count(), None
    first = utc_day(query.start) + timedelta(days=0 if query.start == day_start(utc_day(query.start)) else 1)
    # The end is inclusive: its day is whole only when the end is that day's last microsecond.
    end = query.end + timedelta(microseconds=1)
    last = utc_day(end) - timedelta(days=1)
    kept: dict[date, int] = {}
    if first > last:
        stretches = [(query.start, end)]
    else:
        marked = _kept_counts(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms,
                              first=first, last=last, kept=kept)
        stretches = []
        for lo, hi in [
            *([(query.start, day_start(first))] if query.start < day_start(first) else []),
            *((day_start(day), day_start(day + timedelta(days=1))) for day in sorted(marked)),
            *([(day_start(last + timedelta(days=1)), end)] if end > day_start(last + timedelta(days=1)) else []),
        ]:
            if stretches and stretches[-1][1] == lo:
                stretches[-1] = (stretches[-1][0], hi)
            else:
                stretches.append((lo, hi))
    if len(stretches) > MAX_COUNTED_STRETCHES:
        return _whole_window_count(values)
    segments = [Segment(day_start(day), day_start(day + timedelta(days=1)), count) for day, count in kept.items()]
    bounds = {f"{side}_{number}": bound for number, stretch in enumerate(stretches)
              for side, bound in zip(("from", "to"), stretch, strict=True)}
    counted = dict(_STRETCH_COUNTS.rows(
        fixed={"stretches": len(stretches)}, prepare=_preparable(values), **values, **bounds
    )) if stretches else {}
    segments += [Segment(lo, hi, counted.get(number, 0)) for number, (lo, hi) in enumerate(stretches)]
    segments.sort(key=lambda segment: segment.start)
    return sum(segment.count for segment in segments), segments


def _kept_counts(
    *, stream_id: int, query: RawdataQuery, min_duration_ms: int, first: date, last: date, kept: dict[date, int]
) -> set[date]:
    """Steps 2 and 3 of :func:`contacts_count` for the whole days ``first``..``last``: fills ``kept``
    with the matching contacts of each day whose kept counts serve (days with none are left out) and
    returns the days to count from the rows."""
    days = {"stream_id": stream_id, "first": first, "last": last}
    marked = {day for (day,) in _MARKS.rows(**days)}
    directions = [query.direction] if query.direction else [Direction.INBOUND, Direction.OUTBOUND]
    columns = tuple(
        direction if query.include_below_threshold else f"{direction}_evaluated" for direction in directions
    )
    serving: set[date] = set()
    for day, threshold_ms, *values in _DAY_COUNTS.rows(fixed={"columns": columns}, **days):
        if day in marked or not (query.include_below_threshold or threshold_ms == min_duration_ms):
            marked.add(day)
        elif not query.custom_fields and sum(values):
            kept[day] = sum(values)
        else:
            serving.add(day)
    if query.custom_fields:
        [(key, accepted)] = query.custom_fields.items()
        for day, value, *numbers in _VALUE_COUNTS.rows(fixed={"columns": columns}, key=key, accepted=list(accepted),
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
    if _keys(values) == 0:
        return _contacts(**values).count(), None
    per_day = (
        _key_rows(**values).order_by().annotate(day=TruncDate("started_at", tzinfo=UTC)).values("day")
        .annotate(matching=Count("started_at")).values_list("day", "matching")
    )
    segments = sorted(
        (Segment(day_start(day), day_start(day + timedelta(days=1)), count) for day, count in per_day),
        key=lambda segment: segment.start,
    )
    return sum(segment.count for segment in segments), segments


def rawdata_page(*, account: Account, stream: Bot, query: RawdataQuery) -> RawdataPage:
    """One page of a stream's contacts, with the total count.

    1. Read the stream's current minimum duration (it may have changed since ingestion).
    2. Count the matching contacts exactly, from the kept day counts where they serve (``contacts_count``).
    3. Load the page in ``PAGE_ORDER``: start time, then conversation id (``contacts_page``; a deep
       page starts from the segment of the window that holds its first contact).
    4. Fetch the page's recording links in one call and complete each pre-rendered result.
    """
    min_duration_ms = stream_min_duration_ms(stream_id=stream.pk)
    total, segments = contacts_count(stream=stream, query=query, min_duration_ms=min_duration_ms)
    values = _bound_values(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms)
    rows, has_more = contacts_page(
        values=values, skip=query.skip, limit=query.limit, segments=segments
    ) if total else ([], False)
    links = recording_links(account=account, conversation_ids=[row[1] for row in rows]) if rows else {}
    # Contacts without a current pre-rendered result (see analytics_api.kernel.prerender) are rendered from their row.
    unrendered = SERVED_RESULTS.unrendered((pk, text) for pk, _, _, text in rows)
    results = [
        served_result(text, duration_ms=duration_ms, min_duration_ms=min_duration_ms, recordings=links.get(cid))
        if text is not None
        else json_text(contact_result(unrendered[pk], min_duration_ms=min_duration_ms, recordings=links.get(cid)))
        for pk, cid, duration_ms, text in rows
    ]
    return RawdataPage(
        results=orjson.Fragment("[" + ",".join(results) + "]"),
        count=len(results),
        total=total,
        has_more=has_more,
        total_pages=math.ceil(total / query.limit),
    )


def contacts_page(
    *, values: dict[str, Any], skip: int, limit: int, segments: list[Segment] | None = None
) -> tuple[list[tuple[Any, ...]], bool]:
    """The page's (pk, conversation id, duration, pre-rendered text) rows in ``PAGE_ORDER``, and
    whether more follow, for the query's bound ``values`` (``_bound_values``).

    A deep page (``skip`` ≥ ``DEEP_SKIP``) is read in two steps: where its first contact lies, then
    ``limit + 1`` contacts from there on.

    1. With the window's ``segments`` (counted, in time order: see :func:`contacts_count`), skip the
       segments before the one holding the page's first contact: they are counted, not read.
    2. With one ``custom_fields`` key (whose rows are one per matching contact), find the start ``t``
       of the page's first contact among the segment's rows of that key, ordered by start alone (an
       index-only read), and count those starting before ``t``; the page is then the contacts from
       ``t`` on, after the few that start at ``t`` too and come first by conversation id.
    3. Otherwise find the key (start, conversation id) of the page's first contact by skipping over
       the window index alone — on PostgreSQL an index-only scan of the covering (stream,
       started_at, conversation_id) index, no table row read for the skipped contacts — and read
       from that key on. The key is unique within the stream, so the page is exactly the one
       ``OFFSET`` would read.
    """
    version, prepare = SERVED_RESULTS.version, _preparable(values)
    # Where the page's first contact lies: the window, or the segment that holds it (bounded on both
    # sides, so the planner reads one segment, not the rest of the window).
    after: dict[str, Any] = {}
    holding: dict[str, Any] = {}
    if skip >= DEEP_SKIP and segments is not None:
        for segment in segments:
            if skip < segment.count:
                after = {"page_from": segment.start}
                holding = {"page_from": segment.start, "page_to": segment.end}
                break
            skip -= segment.count
        else:
            return [], False
    if skip < DEEP_SKIP:
        rows = _PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip, "limit": limit}, version=version, **after,
                               **values)
        return page_rows(rows, skip=0, limit=limit)
    if holding and _keys(values) == 1:
        started = _KEY_ROW_START.rows(prepare=prepare, fixed={"skip": skip}, **holding, **values)
        if not started:
            return [], False
        [(started_at,)] = started
        before = dict(_STRETCH_COUNTS.rows(prepare=prepare, fixed={"stretches": 1}, from_0=holding["page_from"],
                                           to_0=started_at, **values)).get(0, 0)
        rows = _PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip - before, "limit": limit}, version=version,
                               after_started=started_at, **values)
        return page_rows(rows, skip=0, limit=limit)
    key = _PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip, "limit": 0, "key_only": True}, **holding, **values)
    if not key:
        return [], False
    [(started_at, conversation_id)] = key
    rows = _PAGE_ROWS.rows(prepare=prepare, fixed={"skip": 0, "limit": limit}, version=version,
                           after_started=started_at, after_conversation=conversation_id, **after, **values)
    return page_rows(rows, skip=0, limit=limit)
