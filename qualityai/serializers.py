"""Input validation of Quality AI: the rawdata request body and one ingested contact.

Every message names its field, so a client sees all that is wrong with a request at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.serializers import as_serializer_error

from analytics_api.kernel.ingestion import RecordInvalid
from analytics_api.kernel.text import unstorable_fields, unstorable_message
from qualityai.fields import (
    AwareDateTime,
    Choice,
    NamedMessages,
    StrictBoolean,
    StrictField,
    StrictInteger,
    StrictList,
    StrictNumber,
    StrictObject,
    StrictString,
    UtcDateTime,
    is_number,
)
from qualityai.models import QaContact, QaContactCustomField

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
# Bounds that keep records skipped well inside a 64-bit OFFSET (a bigger one would be a database error).
MAX_OFFSET = 1_000_000_000
MAX_PAGE = 10_000_000
# Each custom_fields key is one EXISTS subquery: a bound keeps every request cheap.
MAX_FILTER_KEYS = 20
MAX_FILTER_VALUES = 100
# Each custom field of an ingested contact is a row (filterable in rawdata): a bound per contact.
MAX_CONTACT_CUSTOM_FIELDS = 50
# A year: longer is a unit mistake, and it keeps durations far inside a 64-bit column.
MAX_DURATION_MS = 365 * 24 * 3600 * 1000
AUDIT_COMPLETE_STATUSES = frozenset({"audited", "completed"})
NOT_EVALUATED = "NA"
_DIRECTIONS = ("inbound", "outbound")
_CONVERSATION_ID_MAX = QaContact._meta.get_field("conversation_id").max_length
_CUSTOM_KEY_MAX = QaContactCustomField._meta.get_field("key").max_length
_CUSTOM_VALUE_MAX = QaContactCustomField._meta.get_field("value").max_length


@extend_schema_field({
    "type": "object",
    "maxProperties": MAX_FILTER_KEYS,
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_FILTER_VALUES},
        ]
    },
})
class CustomFieldsFilter(NamedMessages, serializers.Field):
    """``{"key": "value" | ["any", "of"]}`` → ``{"key": ["value"]}``; every problem named by its key."""

    def to_internal_value(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                "custom_fields must be an object mapping field names to a string or a list of strings.",
                code="invalid",
            )
        if len(data) > MAX_FILTER_KEYS:
            raise serializers.ValidationError(
                f"custom_fields may name at most {MAX_FILTER_KEYS} fields, not {len(data)}.", code="invalid"
            )
        # Compared with stored values in the query: text no database can hold would fail the query.
        if unstorable := unstorable_fields(data):
            raise serializers.ValidationError(
                {name: [unstorable_message(f"custom_fields.{name}")] for name in unstorable}, code="invalid_characters"
            )
        wanted: dict[str, list[str]] = {}
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            if isinstance(value, str):
                wanted[key] = [value]
            elif (
                isinstance(value, list)
                and 0 < len(value) <= MAX_FILTER_VALUES
                and all(isinstance(item, str) for item in value)
            ):
                wanted[key] = list(dict.fromkeys(value))
            else:
                errors[key] = [
                    f"custom_fields.{key} must be a string or a list of 1 to {MAX_FILTER_VALUES} strings "
                    "(any of them matches)."
                ]
        if errors:
            raise serializers.ValidationError(errors, code="invalid")
        return wanted

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_serializer(component_name="Rawdata")
class RawdataQuerySerializer(serializers.Serializer):
    """The rawdata request body (docs/contract.md#rawdata-body). Unknown fields are ignored."""

    offset = StrictInteger(
        minimum=0,
        maximum=MAX_OFFSET,
        error_messages={"required": "offset is required: the number of records to skip (0 or more)."},
        help_text="Records to skip (required). Records skipped = offset + (page − 1) × limit.",
    )
    startDate = UtcDateTime(
        error_messages={"required": "startDate is required (UTC, YYYY-MM-DD HH:MM:SS)."},
        help_text="Window start, UTC, inclusive: YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS[.fff][Z].",
    )
    endDate = UtcDateTime(
        end_of_day=True,
        error_messages={"required": "endDate is required (UTC, YYYY-MM-DD HH:MM:SS)."},
        help_text="Window end, UTC, inclusive; a date alone means the end of that day.",
    )
    limit = StrictInteger(
        minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT, help_text=f"1–{MAX_LIMIT}, default {DEFAULT_LIMIT}"
    )
    page = StrictInteger(minimum=1, maximum=MAX_PAGE, default=1, help_text=f"1 to {MAX_PAGE:,}, default 1")
    include_below_threshold = StrictBoolean(
        default=False, help_text="Also return contacts shorter than the stream's minimum duration"
    )
    custom_fields = CustomFieldsFilter(
        required=False,
        help_text=(
            "Each key must match: a string value exactly, a list value any of its items; at most "
            f"{MAX_FILTER_KEYS} keys, a list of 1 to {MAX_FILTER_VALUES} values."
        ),
    )
    contact_direction = Choice(
        choices=_DIRECTIONS,
        required=False,
        error_messages={"invalid_choice": "contact_direction must be inbound or outbound."},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["endDate"] < attrs["startDate"]:
            raise serializers.ValidationError(
                {"endDate": ["endDate must not be before startDate."]}, code="invalid"
            )
        return attrs


@extend_schema_field({
    "type": "object",
    "maxProperties": MAX_CONTACT_CUSTOM_FIELDS,
    "description": f"Strings, numbers, booleans or null; at most {MAX_CONTACT_CUSTOM_FIELDS} fields per contact.",
})
class CustomFieldsValues(NamedMessages, serializers.Field):
    """Ingested ``custom_fields``: scalar values, kept as text rows for filtering (nulls are skipped)."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                "custom_fields must be an object of field names to strings, numbers or booleans.",
                code="invalid",
            )
        if len(data) > MAX_CONTACT_CUSTOM_FIELDS:
            raise serializers.ValidationError(
                f"custom_fields may hold at most {MAX_CONTACT_CUSTOM_FIELDS} fields per contact, not {len(data)}.",
                code="too_many",
            )
        values: dict[str, str] = {}
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            name = f"custom_fields.{key}"
            if not key.strip() or len(key) > _CUSTOM_KEY_MAX:
                shown = key.strip() or '""'
                errors[shown] = [f"custom_fields.{shown}: field names must have 1 to {_CUSTOM_KEY_MAX} characters."]
            elif value is None:
                continue
            elif isinstance(value, str):
                values[key] = value
            elif isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
                values[key] = json.dumps(value)
            else:
                errors[key] = [f"{name} must be a string, a number, a boolean or null."]
                continue
            if key in values and len(values[key]) > _CUSTOM_VALUE_MAX:
                errors[key] = [f"{name} must have at most {_CUSTOM_VALUE_MAX} characters."]
        if errors:
            raise serializers.ValidationError(errors, code="invalid")
        return values

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": [NOT_EVALUATED]}]})
class EvaluationScore(StrictField):
    expected = 'a number, or "NA" when not evaluated'

    def accepts(self, data: Any) -> bool:
        return data == NOT_EVALUATED or is_number(data)


@extend_schema_field({"oneOf": [{"type": "string", "example": "99000 milliseconds"}, {"type": "integer"}]})
class DurationMs(NamedMessages, serializers.Field):
    """Milliseconds: an integer, or the documented ``"<ms> milliseconds"`` text; at most a year."""

    def to_internal_value(self, data: Any) -> int:
        value: int | None = None
        if isinstance(data, str):
            text = data.strip()
            number = text.removesuffix("milliseconds").strip()
            if number.isdigit() and number != text:
                value = int(number)
        elif isinstance(data, int) and not isinstance(data, bool):
            value = data
        if value is None or not 0 <= value <= MAX_DURATION_MS:
            raise serializers.ValidationError(
                'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number '
                f"of milliseconds, from 0 to {MAX_DURATION_MS} (a year).",
                code="invalid",
            )
        return value

    def to_representation(self, value: int) -> str:
        return f"{value} milliseconds"


@dataclass(frozen=True)
class ContactRecord:
    """One valid ingested contact: its indexed values and the document as it was sent."""

    conversation_id: str
    started_at: datetime
    ended_at: datetime | None
    direction: str
    direction_defaulted: bool
    duration_ms: int | None
    audit_complete: bool
    custom_fields: dict[str, str]
    document: dict[str, Any]


def _optional(field: serializers.Field) -> serializers.Field:
    field.required = False
    field.allow_null = True
    return field


# The documented shape of an ingested contact (its docstring is the OpenAPI description); ingestion
# validates with these same fields through ``contact_record_check``, which answers as it would.
class ContactRecordSerializer(serializers.Serializer):
    """A Quality AI contact in the rawdata result shape; other keys kept as sent (docs/contract.md#quality-ai-contacts).

    ``duration_status``, ``is_direction_defaulted`` and recording links are derived on every read,
    so whatever a record says about them is ignored.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        lists = ("Queues", "Agents", "Metrics", "Emotions", "Generated Intents", "Customer emotions",
                 "Agent emotions", "Speaking Rate")
        objects = ("Configured_Intents", "Sentiment Pattern", "Sentiment Ratio")
        numbers = ("Sentiment Score", "Fatal Errors", "Pass Score", "Audit Score")
        booleans = ("IsPassed", "IsChurnRiskObserved", "IsEscalationObserved")
        texts = ("src", "Language", "Audit Status", "Auditor Name", "Evaluation Form Name",
                 "Evaluation Form Scoring Type", "Taxonomy Resolution")
        fields: dict[str, serializers.Field] = {
            "Conversation ID": StrictString(
                max_length=_CONVERSATION_ID_MAX,
                allow_blank=False,
                error_messages={"required": "Conversation ID is required."},
            ),
            "Conversation Start Time": AwareDateTime(
                error_messages={"required": "Conversation Start Time is required."}
            ),
            "Conversation End Time": _optional(AwareDateTime()),
            "Audit Date": _optional(AwareDateTime()),
            "Duration": _optional(DurationMs()),
            "contactDirection": _optional(
                Choice(
                    choices=_DIRECTIONS,
                    error_messages={"invalid_choice": "contactDirection must be inbound or outbound."},
                )
            ),
            "customConversationId": _optional(StrictString(max_length=256)),
            "Kore Evaluation Score": _optional(EvaluationScore()),
            "custom_fields": _optional(CustomFieldsValues()),
        }
        fields.update({name: _optional(StrictList()) for name in lists})
        fields.update({name: _optional(StrictObject()) for name in objects})
        fields.update({name: _optional(StrictNumber()) for name in numbers})
        fields.update({name: _optional(StrictBoolean()) for name in booleans})
        fields.update({name: _optional(StrictString()) for name in texts})
        return fields

    def validate(self, attrs: dict[str, Any]) -> ContactRecord:  # type: ignore[override]
        return _contact_record(attrs, document=dict(self.initial_data))


def _contact_record(attrs: dict[str, Any], *, document: dict[str, Any]) -> ContactRecord:
    """The serializer's ``validate`` step: the rules across fields, then the record as stored."""
    started_at = attrs["Conversation Start Time"]
    ended_at = attrs.get("Conversation End Time")
    if ended_at is not None and ended_at < started_at:
        raise serializers.ValidationError(
            {"Conversation End Time": ["Conversation End Time must not be before Conversation Start Time."]},
            code="invalid",
        )
    direction = attrs.get("contactDirection")
    status = attrs.get("Audit Status")
    return ContactRecord(
        conversation_id=attrs["Conversation ID"],
        started_at=started_at,
        ended_at=ended_at,
        # Nothing in a contact says more about its direction: inferred as inbound (and flagged).
        direction=direction or "inbound",
        direction_defaulted=direction is None,
        duration_ms=attrs.get("Duration"),
        audit_complete=isinstance(status, str) and status.strip().lower() in AUDIT_COMPLETE_STATUSES,
        custom_fields=attrs.get("custom_fields") or {},
        document=document,
    )


@cache
def _contact_fields() -> tuple[tuple[str, serializers.Field, Callable[[Any], Any]], ...]:
    """The serializer's fields, built and bound once: (name, field, the conversion of a present value).

    For a present value DRF's ``Field.run_validation`` is ``to_internal_value`` then the validators;
    a field with validators, or its own ``run_validation``, keeps going through ``run_validation``.
    """

    def conversion(field: serializers.Field) -> Callable[[Any], Any]:
        plain = type(field).run_validation is serializers.Field.run_validation and not field.validators
        return field.to_internal_value if plain else field.run_validation

    return tuple((name, field, conversion(field)) for name, field in ContactRecordSerializer().fields.items())


def contact_record_check(data: dict[str, Any]) -> ContactRecord:
    """``ContactRecordSerializer(data=data)`` validated, without building a serializer per record.

    Building one (its ~30 fields, re-created and bound per instance) cost more than validating.

    1. Each field, in the serializer's order, as DRF's ``Serializer.to_internal_value`` does it: a
       present, non-null value goes to the field's conversion; an absent or null one through the
       field's ``run_validation`` (required / not null / skipped, with the field's own messages).
    2. If any field failed: :class:`RecordInvalid` with every field's errors, by name.
    3. Otherwise the serializer's ``validate`` step, whose errors are reported the way
       ``Serializer.run_validation`` reports them.
    """
    attrs: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, field, convert in _contact_fields():
        value = data.get(name, empty)
        try:
            attrs[name] = field.run_validation(value) if value is empty or value is None else convert(value)
        except SkipField:
            continue
        except serializers.ValidationError as error:
            errors[name] = error.detail
    if errors:
        raise RecordInvalid(errors)
    try:
        return _contact_record(attrs, document=dict(data))
    except serializers.ValidationError as error:
        raise RecordInvalid(as_serializer_error(error)) from None


def contact_record_validator(context: Mapping[str, Any]) -> Callable[[dict[str, Any]], ContactRecord]:
    """The check of one Quality AI contact (the same for every stream)."""
    return contact_record_check
