"""Request parameters of the change feed and of counts (validation only)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics_api.kernel.request_fields import CheckField, ChoiceParam, InputSerializer, NumberField
from analytics_api.kernel.validation import Check, Invalid, invalid, list_of, strict_text
from changes.counts import GRANULARITIES, MAX_BUCKETS, MAX_FILTER_VALUES, buckets_between
from changes.datasets import DATASETS
from changes.feed import DEFAULT_LIMIT, MAX_LIMIT, Cursor
from qualityai.fields import UtcDateTime

DATASET_MESSAGE = "dataset must be one of " + ", ".join(DATASETS) + ", not {input!r}."
CURSOR_MESSAGE = "cursor must be a cursor this feed returned (nextCursor or an item's cursor): 40 hex digits."


def _cursor(name: str) -> Check:
    def check(data: Any) -> Cursor:
        cursor = Cursor.parse(data) if isinstance(data, str) else None
        if cursor is None:
            raise invalid(CURSOR_MESSAGE)
        return cursor

    return check


class FeedQuery(InputSerializer):
    dataset = ChoiceParam(
        choices=list(DATASETS), message=DATASET_MESSAGE,
        error_messages={"required": "dataset is required: " + ", ".join(DATASETS) + "."},
    )
    cursor = CheckField(
        check=_cursor, schema={"type": "string", "pattern": "^[0-9a-f]{32}([0-9a-f]{8})?$"}, required=False
    )
    limit = NumberField(minimum=1, maximum=MAX_LIMIT, from_text=True, default=DEFAULT_LIMIT)


def _filters(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("filters must be an object.")
    return data


class CountsQuery(InputSerializer):
    dataset = ChoiceParam(
        choices=list(DATASETS), message=DATASET_MESSAGE,
        error_messages={"required": "dataset is required: " + ", ".join(DATASETS) + "."},
    )
    startDate = UtcDateTime(
        error_messages={"required": "startDate is required (UTC, YYYY-MM-DD HH:MM:SS)."},
        help_text="Window start, UTC: YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS[.fff][Z]; widened to its bucket.",
    )
    endDate = UtcDateTime(
        end_of_day=True,
        error_messages={"required": "endDate is required (UTC, YYYY-MM-DD HH:MM:SS)."},
        help_text="Window end, UTC, inclusive (a date alone: the end of that day); widened to its bucket.",
    )
    granularity = ChoiceParam(
        choices=GRANULARITIES, message="granularity must be hour or day, not {input!r}.",
        error_messages={"required": "granularity is required: hour or day."},
    )
    filters = CheckField(check=lambda name: _filters, schema={"type": "object"}, required=False, default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The window's order and bucket cap, then the dataset's own filters (unknown ones are refused)."""
        if attrs["endDate"] < attrs["startDate"]:
            raise serializers.ValidationError({"endDate": ["endDate must not be before startDate."]}, code="invalid")
        buckets = buckets_between(attrs["startDate"], attrs["endDate"], granularity=attrs["granularity"])
        if buckets > MAX_BUCKETS:
            raise serializers.ValidationError(
                {"endDate": [f"The window holds {buckets:,} {attrs['granularity']} buckets; at most {MAX_BUCKETS:,} "
                             "are counted per request: shorten it or count by day."]},
                code="out_of_range",
            )
        dataset = DATASETS[attrs["dataset"]]
        errors: dict[str, Any] = {}
        filters: dict[str, Any] = {}
        for name, value in attrs["filters"].items():
            if name not in dataset.filters:
                errors[name] = [f"{dataset.name} counts take the filters {', '.join(dataset.filters)}, not {name!r}."]
                continue
            try:
                filters[name] = _FILTER_CHECKS[name](value)
            except Invalid as error:
                errors[name] = error.detail
        if errors:
            raise serializers.ValidationError({"filters": errors}, code="invalid")
        attrs["filters"] = filters
        return attrs


_TEXTS = list_of(
    strict_text("each value", max_length=128),
    max_length=MAX_FILTER_VALUES,
    too_many=f"A filter lists at most {MAX_FILTER_VALUES} values.",
    not_a_list="A filter is a list of texts.",
)
_FILTER_CHECKS: dict[str, Check] = {
    "channels": _TEXTS,
    "bots": _TEXTS,
    "streamId": strict_text("streamId", max_length=64, allow_blank=False),
}
