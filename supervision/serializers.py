"""Input serializers (validation only) of the supervisor endpoints, with the validation kit's checks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer

from analytics_api.kernel.request_fields import CheckField, InputSerializer
from analytics_api.kernel.text import is_storable, unstorable_message
from analytics_api.kernel.validation import Invalid, invalid, list_of, strict, strict_text, then
from content.criteria import MAX_TAG_CLAUSES, criteria_check

MAX_DISPOSITIONS = 20
MAX_DISPOSITION_LENGTH = 200
MAX_REMARKS_LENGTH = 2000
MAX_FLAG_REASON_LENGTH = 500
MAX_FILTER_NAME_LENGTH = 200
MAX_EXPORT_SESSION_IDS = 25
MAX_SESSION_ID_LENGTH = 128

DISPOSITIONS_TOO_MANY = f"dispositions holds at most {MAX_DISPOSITIONS} values."
SESSION_IDS_TOO_MANY = f"sessionIds holds at most {MAX_EXPORT_SESSION_IDS} conversations per export."


def _texts(name: str, *, max_items: int, max_length: int, too_many: str) -> Any:
    return lambda _field: list_of(
        strict_text(f"{name}[]", max_length=max_length, allow_blank=False),
        max_length=max_items,
        too_many=too_many,
        not_a_list=f"{name} must be a list of strings.",
    )


def _storable_id(value: str) -> str:
    # No stored id holds NUL or a lone surrogate, and PostgreSQL refuses them in a query's text.
    if not is_storable(value):
        raise invalid(unstorable_message("sessionIds[]"))
    return value


_SESSION_ID = then(strict_text("sessionIds[]", max_length=MAX_SESSION_ID_LENGTH, allow_blank=False), _storable_id)


def _session_ids(_field: str) -> Any:
    """1–25 session ids (strings), duplicates kept once in the order sent."""
    check = list_of(
        _SESSION_ID,
        max_length=MAX_EXPORT_SESSION_IDS,
        too_many=SESSION_IDS_TOO_MANY,
        not_a_list="sessionIds must be a list of session ids.",
    )

    def validated(data: Any) -> list[str]:
        ids = check(data)
        if not ids:
            raise invalid("sessionIds must name at least one conversation.")
        return list(dict.fromkeys(ids))

    return validated


@extend_schema_serializer(component_name="DispositionsUpdate")
class DispositionsIn(InputSerializer):
    dispositions = CheckField(
        check=_texts("dispositions", max_items=MAX_DISPOSITIONS, max_length=MAX_DISPOSITION_LENGTH,
                     too_many=DISPOSITIONS_TOO_MANY),
        schema={"type": "array", "maxItems": MAX_DISPOSITIONS,
                "items": {"type": "string", "maxLength": MAX_DISPOSITION_LENGTH}},
        help_text="The conversation's dispositions, replacing the current ones (may be empty).",
    )
    remarks = CheckField(
        check=lambda name: strict_text(name, max_length=MAX_REMARKS_LENGTH),
        schema={"type": "string", "maxLength": MAX_REMARKS_LENGTH},
        required=False,
        default="",
        help_text="The disposition remarks (empty: none).",
    )


@extend_schema_serializer(component_name="FlagCreate")
class FlagIn(InputSerializer):
    reason = CheckField(
        check=lambda name: strict_text(name, max_length=MAX_FLAG_REASON_LENGTH, allow_blank=False),
        schema={"type": "string", "minLength": 1, "maxLength": MAX_FLAG_REASON_LENGTH},
        help_text="Why the conversation is flagged.",
    )


@extend_schema_serializer(component_name="PrivacySettingsUpdate")
class PrivacyIn(InputSerializer):
    obscureCustomerInfo = CheckField(
        check=lambda name: strict(name, lambda value: isinstance(value, bool), "true or false"),
        schema={"type": "boolean"},
        help_text="true: customer e-mail addresses and phone numbers are replaced by the internal user id.",
    )


def _customer(name: str) -> Any:
    """Exactly one of phone, email, userId: a non-empty string."""
    keys = ("phone", "email", "userId")
    text = strict_text("", max_length=254, allow_blank=False)

    def check(data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            raise invalid("customer must be an object with one of phone, email or userId.")
        given = [key for key in keys if data.get(key) is not None]
        if len(given) != 1 or set(data) - set(keys):
            raise invalid("customer must name exactly one of phone, email or userId.")
        key = given[0]
        try:
            value = text(data[key])
        except Invalid:
            raise invalid(f"customer.{key} must be a non-empty string of at most 254 characters.") from None
        return {key: value.strip()}

    return check


@extend_schema_serializer(component_name="ErasureRequest")
class ErasureIn(InputSerializer):
    customer = CheckField(
        check=_customer,
        schema={
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {key: {"type": "string"} for key in ("phone", "email", "userId")},
        },
        help_text="The customer, by exactly one of: phone, email, userId (the internal user id).",
    )


@extend_schema_serializer(component_name="TranscriptExportRequest")
class TranscriptExportIn(InputSerializer):
    sessionIds = CheckField(
        check=_session_ids,
        schema={"type": "array", "minItems": 1, "maxItems": MAX_EXPORT_SESSION_IDS, "items": {"type": "string"}},
        help_text=f"1 to {MAX_EXPORT_SESSION_IDS} session ids.",
    )


@extend_schema_serializer(component_name="SavedFilterName")
class FilterNameIn(InputSerializer):
    name = CheckField(
        check=lambda name: strict_text(name, max_length=MAX_FILTER_NAME_LENGTH, allow_blank=False),
        schema={"type": "string", "minLength": 1, "maxLength": MAX_FILTER_NAME_LENGTH},
        help_text="Unique among the owner's filters.",
    )


@extend_schema_serializer(component_name="SavedFilterWrite")
class FilterIn(FilterNameIn):
    criteria = CheckField(
        check=lambda name: criteria_check,
        schema={"type": "object", "additionalProperties": True},
        help_text="The Conversations table's criteria (ids, queues, channels, agents, status, csat, flagged, "
        f"sentiment, customTags of at most {MAX_TAG_CLAUSES} clauses).",
    )


MAX_SELECTED_CONVERSATIONS = 1000


@extend_schema_serializer(component_name="ConversationExportRequest")
class SessionIdsIn(InputSerializer):
    sessionIds = CheckField(
        check=lambda name: _selected,
        schema={"type": "array", "minItems": 1, "maxItems": MAX_SELECTED_CONVERSATIONS, "items": {"type": "string"}},
        help_text=f"The selected conversations (1 to {MAX_SELECTED_CONVERSATIONS:,} session ids).",
    )


def _selected(data: Any) -> list[str]:
    ids = list_of(
        _SESSION_ID,
        max_length=MAX_SELECTED_CONVERSATIONS,
        too_many=f"sessionIds holds at most {MAX_SELECTED_CONVERSATIONS:,} conversations per export.",
        not_a_list="sessionIds must be a list of session ids.",
    )(data)
    if not ids:
        raise invalid("sessionIds must name at least one conversation.")
    return list(dict.fromkeys(ids))


FILTER_ID_MESSAGE = "filterId must be the id of one of your saved filters (a positive integer)."


def filter_id_check(_name: str) -> Any:
    """A saved filter's id, as a JSON integer or its digits; answered as text."""

    def check(data: Any) -> str:
        text = str(data) if data.__class__ is int else data
        if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
            raise invalid(FILTER_ID_MESSAGE)
        return text

    return check
