"""DRF fields of Quality AI's bodies (rawdata, the documented contact): the kit's checks, with their OpenAPI types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics_api.kernel.dates import DateFormatError, parse_utc
from analytics_api.kernel.request_fields import CheckField, NamedMessages
from analytics_api.kernel.validation import Check, aware_time, is_number, strict, strict_text


class StrictField(CheckField):
    """A field taking one JSON type as it is (the kit's :func:`~analytics_api.kernel.validation.strict`)."""

    expected = "a value"

    def accepts(self, data: Any) -> bool:
        raise NotImplementedError

    def check(self, name: str) -> Check:
        return strict(name, self.accepts, self.expected)


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
class StrictString(CheckField):
    def __init__(self, *, max_length: int | None = None, allow_blank: bool = True, **kwargs: Any) -> None:
        self.max_length = max_length
        self.allow_blank_text = allow_blank
        super().__init__(**kwargs)

    def check(self, name: str) -> Check:
        return strict_text(name, max_length=self.max_length, allow_blank=self.allow_blank_text)


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
class AwareDateTime(CheckField):
    """An ingested instant: ISO-8601 naming its zone (``Z`` or ``±HH:MM``)."""

    def check(self, name: str) -> Check:
        return aware_time(name=name)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class Choice(NamedMessages, serializers.ChoiceField):
    pass
