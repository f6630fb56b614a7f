"""The statements rawdata sends: its querysets of bound values and the compiled queries built from them.

Kept apart from the page (qualityai.selectors) and the total (qualityai.totals), which both run them, so
that the SQL of rawdata is in one place. Each builder takes the values a statement binds
(``qualityai.selectors.bound_values``) as keyword arguments: ``stream_id``, ``start``, ``end``, and when
the query has them ``direction``, ``min_duration_ms`` and ``key_<n>``/``values_<n>`` per custom-field key.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value

from analytics_api.kernel.compiled import CompiledQuery
from qualityai.models import QaContact, QaContactCustomField, QaDayCount, QaDayDirty, QaValueDayCount, StreamSettings
from qualityai.rendering import SERVED_RESULTS

# A total order: consecutive pages never overlap or skip a contact.
PAGE_ORDER = ("started_at", "conversation_id")


def custom_keys_count(values: dict[str, Any]) -> int:
    """How many custom-field keys bound ``values`` filter on (``key_<n>`` and ``values_<n>`` each)."""
    return sum(1 for name in values if name.startswith("key_"))


def contacts_matching(
    *, stream_id: Any, start: Any, end: Any, direction: Any = None, min_duration_ms: Any = None, **custom: Any
) -> QuerySet[QaContact]:
    """:func:`qualityai.selectors.contact_queryset` of bound values (``qualityai.selectors.bound_values``);
    ``custom`` holds ``key_<n>`` and ``values_<n>`` for each custom-field key, each one EXISTS on that key's
    rows."""
    contacts = _matching(
        QaContact.objects.filter(stream_id=stream_id, started_at__gte=start, started_at__lte=end),
        direction=direction, min_duration_ms=min_duration_ms,
    )
    for number in range(custom_keys_count(custom)):
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


def key_rows_matching(
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
    return key_rows_matching(**values) if custom_keys_count(values) == 1 else contacts_matching(**values)


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
    """The page's rows in ``PAGE_ORDER`` (:func:`qualityai.selectors.contacts_page`): the matching contacts
    from ``page_from`` and before ``page_to``, from the key (``after_started``, ``after_conversation``) on;
    with ``key_only`` the (start, conversation id) of the ``skip``-th alone."""
    contacts = contacts_matching(**values)
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
    rows = key_rows_matching(**values).filter(started_at__gte=page_from, started_at__lt=page_to)
    return rows.order_by("started_at").values_list("started_at")[skip : skip + 1]


def statements_preparable(values: dict[str, Any]) -> bool:
    """Whether a window's statements may run prepared (analytics_api.kernel.compiled): not with custom
    values, whose rows per value differ by orders of magnitude, so that a generic plan fits none."""
    return custom_keys_count(values) == 0


# The statements of every rawdata page, compiled once per shape (analytics_api.kernel.compiled).
MIN_DURATION: CompiledQuery[StreamSettings] = CompiledQuery(
    lambda *, stream_id: StreamSettings.objects.filter(stream_id=stream_id).values_list("min_duration_seconds")
)
STRETCH_COUNTS: CompiledQuery[Any] = CompiledQuery(_stretch_counts)
PAGE_ROWS: CompiledQuery[QaContact] = CompiledQuery(_page_rows)
KEY_ROW_START: CompiledQuery[QaContactCustomField] = CompiledQuery(_key_row_start)
DAY_MARKS: CompiledQuery[QaDayDirty] = CompiledQuery(
    lambda *, stream_id, first, last: QaDayDirty.objects.filter(
        stream_id=stream_id, day__gte=first, day__lte=last
    ).values_list("day")
)
DAY_COUNTS: CompiledQuery[QaDayCount] = CompiledQuery(
    lambda *, stream_id, first, last, columns: QaDayCount.objects.filter(
        stream_id=stream_id, day__gte=first, day__lte=last
    ).values_list("day", "threshold_ms", *columns)
)
VALUE_COUNTS: CompiledQuery[QaValueDayCount] = CompiledQuery(
    lambda *, stream_id, key, accepted, first, last, columns: QaValueDayCount.objects.filter(
        Q(value__in=accepted) | Q(value__isnull=True), stream_id=stream_id, key=key, day__gte=first, day__lte=last
    ).values_list("day", "value", *columns)
)
