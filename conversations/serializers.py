"""Input validation of interactionDetails / calldetails (docs/contract.md#interactiondetails-and-calldetails).

Every problem is reported at once: the query string and the body are validated side by side and
their errors merged into one 400 envelope, each naming its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from rest_framework import serializers

from analytics_api.kernel.dates import DateFormatError, LocalDateTime, local_to_utc, parse_local, parse_offset
from analytics_api.kernel.request_fields import CheckField, InputSerializer
from analytics_api.kernel.validation import list_of, text, whole_number
from conversations.documents import SECTIONS
from conversations.models import Channel
from conversations.selectors import InteractionQuery

LIMIT_MAX = 100
OFFSET_MAX = 10
MAX_WINDOW = timedelta(days=7)
MAX_CALENDAR_DAYS = 7
# Caps of the filter lists, checked before any item is: each id costs validation and a query
# parameter, and an uncapped list of megabytes kept a worker busy for seconds.
MAX_FILTER_QUEUES = 100
MAX_FILTER_BOTS = 100
MAX_FILTER_CHANNELS = 10
MAX_SELECTED_NAMES = 100
MAX_SELECTED_NAME_LENGTH = 256
FILTER_ID_LENGTH = 128
# Characters of a refused value quoted back in its error message.
QUOTED_MAX = 80

_DATE_FORMS = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS"


def _quoted(value: Any) -> str:
    """``repr(value)`` for an error message, cut short: a body may hold megabytes in one value."""
    text = repr(value)
    return text if len(text) <= QUOTED_MAX else f"{text[:QUOTED_MAX]}… ({len(text)} characters)"


class PagingSerializer(InputSerializer):
    """``?limit=&offset=``: strict integers, never clamped."""

    limit = CheckField(
        required=False,
        check=lambda name: whole_number(name, minimum=1, maximum=LIMIT_MAX, from_text=True),
    )
    offset = CheckField(
        required=False,
        check=lambda name: whole_number(
            name,
            minimum=0,
            maximum=OFFSET_MAX,
            from_text=True,
            message=f"offset is the number of pages to skip: an integer from 0 to {OFFSET_MAX}.",
        ),
    )


class LocalTimeField(serializers.Field):
    """``startDate``/``endDate`` in the caller's local time; a date alone covers its whole day."""

    def __init__(self, *, end_of_day: bool, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> LocalDateTime:
        try:
            return parse_local(data, end_of_day=self.end_of_day)
        except DateFormatError as error:
            raise serializers.ValidationError(
                f"{self.field_name} {error} (local time), not {_quoted(data)}.", code="invalid_date"
            ) from None

    def to_representation(self, value: Any) -> Any:
        return value


_FILTER_ID = text(allow_blank=False, trim=True, max_length=FILTER_ID_LENGTH)


def _strings(name: str, *, cap: int, too_many: str) -> CheckField:
    """A filter list: at most ``cap`` ids (refused before any item is looked at), each checked like text."""
    check = list_of(_FILTER_ID, max_length=cap, too_many=too_many, not_a_list=f"{name} must be a list of strings.")
    return CheckField(
        check=lambda _name: check,
        schema={"type": "array", "items": {"type": "string", "maxLength": FILTER_ID_LENGTH}, "maxItems": cap},
        required=False,
    )


class InteractionFilterSerializer(InputSerializer):
    """The body. Unknown top-level fields are ignored; ``context["header_offset"]`` is x-timezone-offset."""

    startDate = LocalTimeField(
        end_of_day=False, error_messages={"required": f"startDate is required ({_DATE_FORMS}, local time)."}
    )
    endDate = LocalTimeField(
        end_of_day=True, error_messages={"required": f"endDate is required ({_DATE_FORMS}, local time)."}
    )
    timeZoneOffset = serializers.JSONField(required=False, default=None, allow_null=True)
    channels = _strings(
        "channels",
        cap=MAX_FILTER_CHANNELS,
        too_many=f"channels may list at most {MAX_FILTER_CHANNELS} channel codes (rtm, voice, email).",
    )
    queues = _strings(
        "queues",
        cap=MAX_FILTER_QUEUES,
        too_many=f"queues may list at most {MAX_FILTER_QUEUES} queue ids; split the request.",
    )
    bots = _strings(
        "bots", cap=MAX_FILTER_BOTS, too_many=f"bots may list at most {MAX_FILTER_BOTS} bot ids; split the request."
    )
    selectedFields = serializers.JSONField(required=False, default=None, allow_null=True)

    def validate_timeZoneOffset(self, value: Any) -> int:
        field = "timeZoneOffset"
        if value is None:
            value = self.context.get("header_offset")
            field = "the x-timezone-offset header"
            if value is None:
                raise serializers.ValidationError(
                    "timeZoneOffset is required: minutes of UTC − local (India −330, New York 300), "
                    "in the body or the x-timezone-offset header.",
                    code="required",
                )
        try:
            return parse_offset(value)
        except DateFormatError as error:
            raise serializers.ValidationError(
                f"{field} {error}, not {_quoted(value)}.", code="invalid_offset"
            ) from None

    def validate_endDate(self, end: LocalDateTime) -> LocalDateTime:
        """The 7-day rule, checked here so that it is reported along with every other problem."""
        try:
            start = parse_local(self.initial_data.get("startDate"), end_of_day=False)
        except DateFormatError:
            return end  # startDate's own error says what is wrong
        if end.value < start.value:
            raise serializers.ValidationError("endDate is before startDate.", code="invalid_window")
        if start.date_only and end.date_only:
            days = (end.value.date() - start.value.date()).days + 1
            if days > MAX_CALENDAR_DAYS:
                raise serializers.ValidationError(
                    f"The window covers {days} calendar days; at most {MAX_CALENDAR_DAYS} are allowed.",
                    code="window_too_long",
                )
        elif end.value - start.value > MAX_WINDOW:
            raise serializers.ValidationError(
                f"The window is {_duration(end.value - start.value)} long; at most 7 × 24 hours is allowed.",
                code="window_too_long",
            )
        return end

    def validate_channels(self, value: list[str]) -> list[str]:
        codes = [item.strip().lower() for item in value]
        unknown = [item for item, code in zip(value, codes, strict=True) if code not in Channel.values]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown channel(s) {', '.join(map(repr, unknown))}: allowed are rtm (Web/Mobile Client), "
                "voice (Voice) and email (System Mail).",
                code="invalid_channel",
            )
        return list(dict.fromkeys(codes))

    def validate_selectedFields(self, value: Any) -> dict[str, list[str]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise serializers.ValidationError(
                f"selectedFields must be an object with any of {', '.join(SECTIONS)}.", code="invalid"
            )
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        for key, names in value.items():
            code = "invalid_selected_fields"
            if key not in SECTIONS:
                msg = f"Unknown section {_quoted(key)}: allowed are {', '.join(SECTIONS)}."
            elif not isinstance(names, list):
                msg = f"selectedFields.{key} must be a list of names (an empty list keeps all)."
            elif len(names) > MAX_SELECTED_NAMES:
                # The length first: a huge list is refused without looking at its items.
                msg = f"selectedFields.{key} may list at most {MAX_SELECTED_NAMES} names; an empty list keeps all."
                code = "too_many"
            elif not all(isinstance(name, str) for name in names):
                msg = f"selectedFields.{key} must be a list of names (an empty list keeps all)."
            elif any(len(name) > MAX_SELECTED_NAME_LENGTH for name in names):
                msg = f"selectedFields.{key} names must have at most {MAX_SELECTED_NAME_LENGTH} characters."
            else:
                continue
            # An unknown key names its error's field: cut short like a quoted value.
            errors[key if len(key) <= QUOTED_MAX else f"{key[:QUOTED_MAX]}…"] = [serializers.ErrorDetail(msg, code)]
        if errors:
            raise serializers.ValidationError(errors)
        return {key: list(names) for key, names in value.items()}


def _duration(delta: timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d} (h:mm:ss)"


def interaction_query_validate(
    *, query_params: Mapping[str, Any], body: Any, header_offset: str | None
) -> InteractionQuery:
    """Validate the query string and the body together; raise one ValidationError listing everything."""
    paging = PagingSerializer(data={key: query_params[key] for key in ("limit", "offset") if key in query_params})
    if not isinstance(body, Mapping):
        body_errors: dict[str, Any] = {"body": ["The request body must be a JSON object."]}
        filters = None
    else:
        filters = InteractionFilterSerializer(data=body, context={"header_offset": header_offset})
        body_errors = {} if filters.is_valid() else dict(filters.errors)
    errors = {**({} if paging.is_valid() else dict(paging.errors)), **body_errors}
    if errors or filters is None:
        raise serializers.ValidationError(errors)
    data = filters.validated_data
    offset = data["timeZoneOffset"]
    limit = paging.validated_data.get("limit", LIMIT_MAX)
    return InteractionQuery(
        start=local_to_utc(data["startDate"].value, offset),
        end=local_to_utc(data["endDate"].value, offset),
        offset_minutes=offset,
        channels=tuple(data.get("channels") or ()),
        queues=tuple(dict.fromkeys(data.get("queues") or ())),
        bots=tuple(dict.fromkeys(data.get("bots") or ())),
        sections=data["selectedFields"],
        skip=paging.validated_data.get("offset", 0) * limit,
        limit=limit,
    )
