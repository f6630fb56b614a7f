"""The conversation's events (docs/contract.md#conversation-events): the twelve types, their labels, CSV."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from analytics_api.kernel.errors import ApiError
from content.models import Conversation, Status

# Events can be downloaded for conversations up to this age (counted from their start).
EVENTS_KEPT = timedelta(days=30)
EVENTS_EXPIRED = "Events can be downloaded only for conversations up to 30 days old."
# The reference's names of the events it exports.
LABELS = {
    "routing_initiated": "Routing Initiation",
    "conversation_accepted": "Conversation Acceptance",
    "conversation_rejected": "Conversation Rejection",
    "conversation_transferred": "Conversation Transfer",
    "transfer_failed": "Transfer Failure",
    "agent_joined": "Agent Join",
    "agent_left": "Agent Left",
    "agent_consulted": "Agent Consultation",
    "skill_changed": "Skill Change",
    "disposition_updated": "Disposition Update",
    "after_call_work": "After-Call Work (ACW)",
    "conversation_closed": "Conversation Closure",
}
CSV_HEADER = ("id", "time", "type", "label", "agentId", "queueId", "details")


def events_available(conversation: Conversation, *, now: datetime) -> None:
    """410 ``events_expired`` for a conversation that started more than 30 days before ``now``."""
    if now - conversation.started_at > EVENTS_KEPT:
        raise ApiError(EVENTS_EXPIRED, code="events_expired", status_code=410)


def events_complete(conversation: Conversation) -> bool:
    """Whether the events are final: no more arrive once the conversation is no longer in progress."""
    return conversation.status != Status.IN_PROGRESS


def event_view(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": event.get("id"),
        "time": event.get("time"),
        "type": event.get("type"),
        "label": LABELS.get(event.get("type", "")),
        "agentId": event.get("agentId"),
        "queueId": event.get("queueId"),
        "details": event.get("details"),
    }


def events_csv_rows(views: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
    for view in views:
        yield [view[name] for name in CSV_HEADER]
