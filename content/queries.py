"""The body of ``POST /api/v1/conversations/query`` (docs/contract.md#conversation-query) and its keyset cursor.

The cursor is opaque to the caller: the last row's (start, session id) and the sort, signed with the
server's secret so that a cursor changed by hand, or built by the caller, is refused with a 400
rather than silently moving the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.request_fields import CheckField, ChoiceParam, InputSerializer, NumberField
from analytics_api.kernel.validation import Invalid, flag, invalid, strict_text
from content.criteria import (
    CHANNELS,
    MAX_AGENTS,
    MAX_IDS,
    MAX_QUEUES,
    MAX_TAG_CLAUSES,
    PREDICATES,
    SENTIMENTS,
    STATUSES,
    criteria_check,
)
from qualityai.fields import UtcDateTime
from search.openapi import Q_DESCRIPTION
from search.text import MAX_QUERY_LENGTH
from supervision.serializers import filter_id_check

MAX_WINDOW_DAYS = 92
LIMIT_MAX = 100
LIMIT_DEFAULT = 25
Q_MAX_LENGTH = MAX_QUERY_LENGTH
CURSOR_MAX_LENGTH = 1000
START_DESC = "start_desc"
START_ASC = "start_asc"
RELEVANCE = "relevance"
SORTS = (RELEVANCE, START_DESC, START_ASC)
_CURSOR_SALT = "content.conversation-query.cursor"
_BAD_CURSOR = (
    "cursor is not one this service returned (changed, truncated or from another server): send the "
    "nextCursor of the previous page unchanged, or leave cursor out for the first page."
)


@dataclass(frozen=True)
class Position:
    """The last row of a page: where the next one starts (exclusive)."""

    started_at: datetime
    session_id: str


def cursor_encode(*, sort: str, position: Position) -> str:
    payload = {"o": sort, "t": position.started_at.isoformat(), "s": position.session_id}
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def cursor_decode(text: str, *, sort: str) -> Position:
    """The position a cursor holds, or :class:`Invalid` naming what is wrong."""
    try:
        payload = signing.loads(text, salt=_CURSOR_SALT)
        started_at = datetime.fromisoformat(payload["t"])
        session_id = payload["s"]
        cursor_sort = payload["o"]
    except (signing.BadSignature, ValueError, KeyError, TypeError):
        raise invalid(_BAD_CURSOR, "invalid_cursor") from None
    if cursor_sort != sort:
        raise invalid(
            f"This cursor continues a query sorted by {cursor_sort}: send sort {cursor_sort} with it, "
            "or leave cursor out to start again.",
            "invalid_cursor",
        )
    return Position(started_at=started_at, session_id=session_id)


_CRITERIA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ids": {"type": "array", "maxItems": MAX_IDS, "items": {"type": "string"},
                "description": "Session ids."},
        "queues": {"type": "array", "maxItems": MAX_QUEUES, "items": {"type": "string"},
                   "description": "Queue ids: conversations that entered any of them."},
        "channels": {"type": "array", "items": {"type": "string", "enum": list(CHANNELS)}},
        "agents": {"type": "array", "maxItems": MAX_AGENTS, "items": {"type": "string"},
                   "description": "Agent ids: conversations any of them joined."},
        "status": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
        "csat": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 5}},
        "flagged": {"type": "boolean"},
        "sentiment": {"type": "array", "items": {"type": "string", "enum": list(SENTIMENTS)}},
        "customTags": {
            "type": "array",
            "maxItems": MAX_TAG_CLAUSES,
            "description": "All clauses must hold. A conversation CONTAINS a clause when it has a session- or "
            "user-level tag of that name whose value contains `value` (case-insensitive).",
            "items": {
                "type": "object",
                "required": ["tag", "predicate", "value"],
                "properties": {
                    "tag": {"type": "string"},
                    "predicate": {"type": "string", "enum": list(PREDICATES)},
                    "value": {"type": "string"},
                },
            },
        },
    },
}


@extend_schema_serializer(component_name="ConversationQuery")
class ConversationQuerySerializer(InputSerializer):
    """The query body; unknown fields are ignored."""

    startDate = UtcDateTime(
        help_text="Window start, UTC, inclusive: YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS[.fff][Z]."
    )
    endDate = UtcDateTime(
        end_of_day=True,
        help_text=f"Window end, UTC, inclusive; a date alone means the end of that day. At most {MAX_WINDOW_DAYS} "
        "days after startDate.",
    )
    q = CheckField(
        required=False,
        check=lambda name: strict_text(name, max_length=Q_MAX_LENGTH, allow_blank=False),
        schema={"type": "string", "maxLength": Q_MAX_LENGTH},
        help_text=Q_DESCRIPTION,
    )
    excludeAgentAi = CheckField(
        required=False, check=flag, schema={"type": "boolean"},
        help_text="With q: leave the agent-assist logs (agent_ai messages) out of the search. Default false.",
    )
    filters = CheckField(
        required=False,
        check=lambda name: criteria_check,
        schema=_CRITERIA_SCHEMA,
        help_text="Criteria, all of which must hold; an empty list filters nothing.",
    )
    filterId = CheckField(
        required=False,
        check=filter_id_check,
        schema={"type": "integer", "minimum": 1},
        help_text="A saved filter of the caller (/api/v1/filters): its criteria apply, narrowed by filters.",
    )
    sort = ChoiceParam(
        choices=SORTS,
        required=False,
        message="sort must be relevance (with q), start_desc or start_asc.",
        help_text="relevance (the default with q), start_desc (the default otherwise) or start_asc.",
    )
    limit = NumberField(
        minimum=1, maximum=LIMIT_MAX, default=LIMIT_DEFAULT, help_text=f"1–{LIMIT_MAX}, default {LIMIT_DEFAULT}."
    )
    cursor = CheckField(
        required=False,
        check=lambda name: strict_text(name, max_length=CURSOR_MAX_LENGTH, allow_blank=False),
        schema={"type": "string"},
        help_text="The previous answer's nextCursor; absent for the first page.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[Any]] = {}
        if attrs["endDate"] < attrs["startDate"]:
            errors["endDate"] = ["endDate must not be before startDate."]
        elif attrs["endDate"] - attrs["startDate"] > timedelta(days=MAX_WINDOW_DAYS):
            errors["endDate"] = [f"The window from startDate to endDate must be at most {MAX_WINDOW_DAYS} days."]
        sort = attrs.get("sort") or (RELEVANCE if attrs.get("q") else START_DESC)
        if sort == RELEVANCE and not attrs.get("q"):
            errors["sort"] = [
                "sort relevance ranks search results: send q with it, or sort by start_desc or start_asc."
            ]
        attrs["sort"] = sort
        if "cursor" in attrs and "sort" not in errors:
            try:
                # A search's cursor is the search's own (search.selectors), whatever the sort.
                attrs["position"] = cursor_decode(attrs["cursor"], sort=sort) if not attrs.get("q") else None
            except Invalid as error:
                errors["cursor"] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
