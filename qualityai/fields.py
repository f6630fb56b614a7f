"""Strict DRF fields for JSON input: one JSON type each, no coercion, messages that name the field."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics_api.kernel.dates import DateFormatError, parse_aware, parse_utc


def is_number(data: Any) -> bool:
    return isinstance(data, int | float) and not isinstance(data, bool) and math.isfinite(data)


class NamedMessages:
    """Mixin: DRF's "required"/"null"/"blank" messages, rewritten to name the field."""

    error_messages: dict[str, str]

    def __init__(self, **kwargs: Any) -> None:
        self.explicit_messages = set(kwargs.get("error_messages", {}))
        super().__init__(**kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)  # type: ignore[misc]
        named = {
            "required": f"{field_name} is required.",
            "null": f"{field_name} must not be null.",
            "blank": f"{field_name} must not be empty.",
        }
        for key, msg in named.items():
            if key not in self.explicit_messages:
                self.error_messages[key] = msg


class StrictField(NamedMessages, serializers.Field):
    """A field taking one JSON type as it is; no coercion (``"5"`` is not 5, ``1`` is not true)."""

    expected = "a value"

    def accepts(self, data: Any) -> bool:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> Any:
        if not self.accepts(data):
            raise serializers.ValidationError(f"{self.field_name} must be {self.expected}.", code="invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.INT)
class StrictInteger(StrictField):
    def __init__(self, *, minimum: int, maximum: int | None = None, **kwargs: Any) -> None:
        self.minimum = minimum
        self.maximum = maximum
        if maximum is None:
            self.expected = f"an integer of {minimum} or more"
        else:
            self.expected = f"an integer from {minimum:,} to {maximum:,}"
        super().__init__(**kwargs)

    def accepts(self, data: Any) -> bool:
        return (
            isinstance(data, int)
            and not isinstance(data, bool)
            and data >= self.minimum
            and (self.maximum is None or data <= self.maximum)
        )


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBoolean(StrictField):
    expected = "true or false"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, bool)


@extend_schema_field(OpenApiTypes.NUMBER)
class StrictNumber(StrictField):
    expected = "a number"

    def accepts(self, data: Any) -> bool:
        return is_number(data)


@extend_schema_field(OpenApiTypes.STR)
class StrictString(StrictField):
    def __init__(self, *, max_length: int | None = None, allow_blank: bool = True, **kwargs: Any) -> None:
        self.max_length = max_length
        self.allow_blank_text = allow_blank
        self.expected = "a non-empty string" if not allow_blank else "a string"
        if max_length:
            self.expected += f" of at most {max_length} characters"
        super().__init__(**kwargs)

    def accepts(self, data: Any) -> bool:
        return (
            isinstance(data, str)
            and (self.allow_blank_text or bool(data.strip()))
            and (self.max_length is None or len(data) <= self.max_length)
        )


@extend_schema_field({"type": "array", "items": {}})
class StrictList(StrictField):
    expected = "a list"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, list)


@extend_schema_field(OpenApiTypes.OBJECT)
class StrictObject(StrictField):
    expected = "an object"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, dict)


@extend_schema_field(OpenApiTypes.STR)
class UtcDateTime(NamedMessages, serializers.Field):
    """A rawdata window bound: UTC, ``YYYY-MM-DD HH:MM:SS`` / ``THH:MM:SS``, optional fraction and Z.

    A date alone is accepted too: midnight for ``startDate``, the day's last instant for ``endDate``.
    """

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        try:
            return parse_utc(data, end_of_day=self.end_of_day)
        except DateFormatError as error:
            raise serializers.ValidationError(f"{self.field_name} {error}.", code="invalid") from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTime(NamedMessages, serializers.Field):
    """An ingested instant: ISO-8601 naming its zone (``Z`` or ``±HH:MM``)."""

    def to_internal_value(self, data: Any) -> datetime:
        try:
            return parse_aware(data)
        except DateFormatError as error:
            raise serializers.ValidationError(f"{self.field_name} {error}.", code="invalid") from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class Choice(NamedMessages, serializers.ChoiceField):
    pass
