"""Input validation of Quality AI: the rawdata request body and one ingested contact.

Every message names its field, so a client sees all that is wrong with a request at once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from analytics_api.kernel.request_fields import CheckField, InputSerializer, NamedMessages, NumberField
from analytics_api.kernel.text import unstorable_fields, unstorable_message
from analytics_api.kernel.validation import (
    Check,
    Invalid,
    aware_time,
    choice,
    invalid,
    is_number,
    obj,
    strict,
    strict_text,
)
from qualityai.fields import (
    AwareDateTime,
    Choice,
    StrictBoolean,
    StrictList,
    StrictNumber,
    StrictObject,
    StrictString,
    UtcDateTime,
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
                f"custom_fields may name at most {MAX_FILTER_KEYS} fields, not {len(data)}.", code="too_many"
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
class RawdataQuerySerializer(InputSerializer):
    """The rawdata request body (docs/contract.md#rawdata-body). Unknown fields are ignored."""

    offset = NumberField(
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
    limit = NumberField(
        minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT, help_text=f"1–{MAX_LIMIT}, default {DEFAULT_LIMIT}"
    )
    page = NumberField(minimum=1, maximum=MAX_PAGE, default=1, help_text=f"1 to {MAX_PAGE:,}, default 1")
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


def _custom_fields_values(data: Any) -> dict[str, str]:
    """Ingested ``custom_fields``: scalar values, kept as text rows for filtering (nulls are skipped)."""
    if not isinstance(data, dict):
        raise invalid("custom_fields must be an object of field names to strings, numbers or booleans.")
    if len(data) > MAX_CONTACT_CUSTOM_FIELDS:
        raise invalid(
            f"custom_fields may hold at most {MAX_CONTACT_CUSTOM_FIELDS} fields per contact, not {len(data)}.",
            "too_many",
        )
    values: dict[str, str] = {}
    errors: dict[str, list[ErrorDetail]] = {}
    for key, value in data.items():
        name = f"custom_fields.{key}"
        if not key.strip() or len(key) > _CUSTOM_KEY_MAX:
            shown = key.strip() or '""'
            msg = f"custom_fields.{shown}: field names must have 1 to {_CUSTOM_KEY_MAX} characters."
            errors[shown] = [ErrorDetail(msg, "invalid")]
        elif value is None:
            continue
        elif isinstance(value, str):
            values[key] = value
        elif isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
            values[key] = json.dumps(value)
        else:
            errors[key] = [ErrorDetail(f"{name} must be a string, a number, a boolean or null.", "invalid")]
            continue
        if key in values and len(values[key]) > _CUSTOM_VALUE_MAX:
            errors[key] = [ErrorDetail(f"{name} must have at most {_CUSTOM_VALUE_MAX} characters.", "invalid")]
    if errors:
        raise Invalid(errors)
    return values


@extend_schema_field({
    "type": "object",
    "maxProperties": MAX_CONTACT_CUSTOM_FIELDS,
    "description": f"Strings, numbers, booleans or null; at most {MAX_CONTACT_CUSTOM_FIELDS} fields per contact.",
})
class CustomFieldsValues(CheckField):
    def check(self, name: str) -> Check:
        return _custom_fields_values


def _evaluation_score(name: str) -> Check:
    return strict(name, lambda data: data == NOT_EVALUATED or is_number(data), 'a number, or "NA" when not evaluated')


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": [NOT_EVALUATED]}]})
class EvaluationScore(CheckField):
    def check(self, name: str) -> Check:
        return _evaluation_score(name)


def _duration_ms(data: Any) -> int:
    """Milliseconds: an integer, or the documented ``"<ms> milliseconds"`` text; at most a year."""
    value: int | None = None
    if isinstance(data, str):
        text = data.strip()
        number = text.removesuffix("milliseconds").strip()
        if number.isascii() and number.isdigit() and number != text:
            value = int(number)
    elif isinstance(data, int) and not isinstance(data, bool):
        value = data
    if value is None or not 0 <= value <= MAX_DURATION_MS:
        raise invalid(
            'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number '
            f"of milliseconds, from 0 to {MAX_DURATION_MS} (a year)."
        )
    return value


@extend_schema_field({"oneOf": [{"type": "string", "example": "99000 milliseconds"}, {"type": "integer"}]})
class DurationMs(CheckField):
    def check(self, name: str) -> Check:
        return _duration_ms

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


_CONTACT_LISTS = ("Queues", "Agents", "Metrics", "Emotions", "Generated Intents", "Customer emotions",
                  "Agent emotions", "Speaking Rate")
_CONTACT_OBJECTS = ("Configured_Intents", "Sentiment Pattern", "Sentiment Ratio")
_CONTACT_NUMBERS = ("Sentiment Score", "Fatal Errors", "Pass Score", "Audit Score")
_CONTACT_BOOLEANS = ("IsPassed", "IsChurnRiskObserved", "IsEscalationObserved")
_CONTACT_TEXTS = ("src", "Language", "Audit Status", "Auditor Name", "Evaluation Form Name",
                  "Evaluation Form Scoring Type", "Taxonomy Resolution")
_CONTACT_REQUIRED = ("Conversation ID", "Conversation Start Time")


def _optional(field: serializers.Field) -> serializers.Field:
    field.required = False
    field.allow_null = True
    return field


# The documented shape of an ingested contact (its docstring is the OpenAPI description). Ingestion
# checks contacts with ``CONTACT_FIELDS`` below, the same rules; a test holds the two in agreement.
class ContactRecordSerializer(InputSerializer):
    """A Quality AI contact in the rawdata result shape; other keys kept as sent (docs/contract.md#quality-ai-contacts).

    ``duration_status``, ``is_direction_defaulted`` and recording links are derived on every read,
    so whatever a record says about them is ignored.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
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
        fields.update({name: _optional(StrictList()) for name in _CONTACT_LISTS})
        fields.update({name: _optional(StrictObject()) for name in _CONTACT_OBJECTS})
        fields.update({name: _optional(StrictNumber()) for name in _CONTACT_NUMBERS})
        fields.update({name: _optional(StrictBoolean()) for name in _CONTACT_BOOLEANS})
        fields.update({name: _optional(StrictString()) for name in _CONTACT_TEXTS})
        return fields

    def validate(self, attrs: dict[str, Any]) -> ContactRecord:  # type: ignore[override]
        try:
            return _contact_record(attrs, document=dict(self.initial_data))
        except Invalid as error:
            raise serializers.ValidationError(error.detail) from None


def _is_list(data: Any) -> bool:
    return isinstance(data, list)


def _is_object(data: Any) -> bool:
    return isinstance(data, dict)


def _is_boolean(data: Any) -> bool:
    return isinstance(data, bool)


def _contact_fields() -> dict[str, Check]:
    """The checks of a contact's fields, in the documented order (the order errors are reported in)."""
    fields: dict[str, Check] = {
        "Conversation ID": strict_text("Conversation ID", max_length=_CONVERSATION_ID_MAX, allow_blank=False),
        "Conversation Start Time": aware_time(name="Conversation Start Time"),
        "Conversation End Time": aware_time(name="Conversation End Time"),
        "Audit Date": aware_time(name="Audit Date"),
        "Duration": _duration_ms,
        "contactDirection": choice(*_DIRECTIONS, message="contactDirection must be inbound or outbound."),
        "customConversationId": strict_text("customConversationId", max_length=256),
        "Kore Evaluation Score": _evaluation_score("Kore Evaluation Score"),
        "custom_fields": _custom_fields_values,
    }
    fields.update({name: strict(name, _is_list, "a list") for name in _CONTACT_LISTS})
    fields.update({name: strict(name, _is_object, "an object") for name in _CONTACT_OBJECTS})
    fields.update({name: strict(name, is_number, "a number") for name in _CONTACT_NUMBERS})
    fields.update({name: strict(name, _is_boolean, "true or false") for name in _CONTACT_BOOLEANS})
    fields.update({name: strict_text(name) for name in _CONTACT_TEXTS})
    return fields


CONTACT_FIELDS = obj(_contact_fields(), required=_CONTACT_REQUIRED, named=True, keep_unknown=False)


def _contact_record(attrs: dict[str, Any], *, document: dict[str, Any]) -> ContactRecord:
    """The rules across fields, then the record as stored."""
    started_at = attrs["Conversation Start Time"]
    ended_at = attrs.get("Conversation End Time")
    if ended_at is not None and ended_at < started_at:
        raise Invalid(
            {"Conversation End Time": [
                ErrorDetail("Conversation End Time must not be before Conversation Start Time.", "invalid")
            ]}
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


def contact_record_check(data: Any) -> ContactRecord:
    """One ingested contact: its fields (every error at once, by name), then the rules across them."""
    return _contact_record(CONTACT_FIELDS(data), document=dict(data))
