"""The stored interaction document and how it is served (DESIGN §5).

A document is the record exactly as interactionDetails serves it, except that every time is kept in
UTC as ``YYYY-MM-DDTHH:MM:SS.mmmZ``. Serving a page is therefore a pure walk over each document:
keys come out in the documented order (PostgreSQL's jsonb does not keep the order they were sent
in), local times are shifted to the caller's offset, and the optional sections are filtered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

from analytics_api.dates import render_local, render_utc_ms

# Optional sections a caller asks for with ``selectedFields``.
SECTIONS = ("skills", "userleveltags", "sessionleveltags", "customerinfo")


@dataclass(frozen=True)
class Shape:
    """One level of the document: key order, which keys are times, and nested levels."""

    order: tuple[str, ...]
    local_times: frozenset[str] = frozenset()
    # UTC times are stored in their served form (``…mmmZ``) and pass through unchanged.
    utc_times: frozenset[str] = frozenset()
    children: Mapping[str, Union[Shape, Callable[[Mapping[str, Any]], Shape]]] = field(default_factory=dict)  # noqa: UP007

    def ordered_keys(self, obj: Mapping[str, Any]) -> list[str]:
        known = [key for key in self.order if key in obj]
        if len(known) == len(obj):
            return known
        return known + [key for key in obj if key not in self.order]


CONSULTING_AGENT = Shape(
    order=("isMerged", "name", "acceptedTime", "assignedAt", "consultingEndTime"),
    local_times=frozenset({"acceptedTime", "assignedAt", "consultingEndTime"}),
)

AGENT_SEGMENT = Shape(
    order=(
        "agentId", "agentNotes", "destinationType", "status", "firstResponseTime", "firstResponseDuration",
        "interactionEndTime", "interactionDuration", "afterCallWorkDuration", "afterCallWorkEndTime",
        "ConsultingAgents", "JoinedUsers", "email", "name", "acceptedTime", "assignedAt", "nonResponseEvent",
    ),
    local_times=frozenset(
        {"firstResponseTime", "interactionEndTime", "afterCallWorkEndTime", "acceptedTime", "assignedAt"}
    ),
    children={"ConsultingAgents": CONSULTING_AGENT},
)

QUEUE_ENTRY = Shape(
    order=(
        "destinationType", "queueId", "queueName", "CallbackOpted", "CallbackOptedTime",
        "userCallbackAcceptTime", "EnterTime", "respondingAgent", "nonRespondingAgents",
    ),
    local_times=frozenset({"EnterTime"}),
    utc_times=frozenset({"CallbackOptedTime", "userCallbackAcceptTime"}),
    children={"respondingAgent": AGENT_SEGMENT, "nonRespondingAgents": AGENT_SEGMENT},
)


def destination_shape(destination: Mapping[str, Any]) -> Shape:
    """A destination is a queue entry or a direct transfer to an agent (``AgentSegment``)."""
    return AGENT_SEGMENT if destination.get("destinationType") == "AgentSegment" else QUEUE_ENTRY


_RECORD_TIMES = frozenset({"sessionStartTime", "sessionEndTime"})

# An agent-handled conversation, in the order of the reference sample.
CONVERSATION = Shape(
    order=(
        "conversationId", "sessionId", "channel", "isVoicemail", "Direction", "skills", "finalStatus",
        "smartStatus", "reason", "disconnectingEvent", "errorDetails", "botId", "dispositions",
        "dispositionRemarks", "metaInfo", "customerinfo", "sessionStartTime", "sessionEndTime",
        "channelSpecificUserId", "userId", "orgId", "destinations", "automationBotIDs", "userleveltags",
        "sessionleveltags",
    ),
    local_times=_RECORD_TIMES,
    children={"destinations": destination_shape},
)

# A bot-only session (no conversationId): the short form of the reference sample.
SESSION = Shape(
    order=(
        "sessionId", "channel", "sessionStartTime", "sessionEndTime", "botId", "userId",
        "channelSpecificUserId", "orgId", "smartStatus", "reason", "disconnectingEvent", "errorDetails",
        "finalStatus", "automationBotIDs", "isVoicemail", "Direction", "skills", "dispositions",
        "dispositionRemarks", "metaInfo", "customerinfo", "destinations", "userleveltags", "sessionleveltags",
    ),
    local_times=_RECORD_TIMES,
    children={"destinations": destination_shape},
)


def stored_time(instant: datetime) -> str:
    """How a time is kept in a document: UTC with milliseconds and ``Z``."""
    return render_utc_ms(instant)


def _local(value: Any, offset: int) -> Any:
    if not isinstance(value, str):
        return value
    return render_local(datetime.fromisoformat(value), offset)


def _render(obj: Mapping[str, Any], shape: Shape, offset: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in shape.ordered_keys(obj):
        value = obj[key]
        if key in shape.local_times:
            value = _local(value, offset)
        elif key in shape.children:
            value = _render_child(value, shape.children[key], offset)
        out[key] = value
    return out


def _render_child(value: Any, child: Shape | Callable[[Mapping[str, Any]], Shape], offset: int) -> Any:
    def one(item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        return _render(item, child if isinstance(child, Shape) else child(item), offset)

    return [one(item) for item in value] if isinstance(value, list) else one(value)


def _keep_section(name: str, value: Any, wanted: list[str]) -> Any:
    """A selected section, restricted to the wanted names when the caller listed some."""
    if not wanted:
        return value
    names = set(wanted)
    if name == "customerinfo":
        return {key: item for key, item in value.items() if key in names} if isinstance(value, Mapping) else value
    if not isinstance(value, list):
        return value
    if name == "skills":
        return [
            skill for skill in value
            if (skill in names if isinstance(skill, str) else isinstance(skill, Mapping)
                and (skill.get("name") in names or skill.get("id") in names))
        ]
    return [tag for tag in value if isinstance(tag, Mapping) and tag.get("name") in names]


def document_render(document: Mapping[str, Any], *, offset: int, sections: Mapping[str, list[str]]) -> dict:
    """The served form of one stored document.

    1. Walk the keys in the documented order of its form (conversation or bot-only session).
    2. Drop the optional sections the caller did not select; filter the selected ones by name.
    3. Render local times as ``YYYY-MM-DDTHH:MM:SS`` at ``offset`` (UTC − local, in minutes), at
       every level; callback times stay UTC with milliseconds and ``Z``.
    """
    shape = CONVERSATION if "conversationId" in document else SESSION
    out: dict[str, Any] = {}
    for key in shape.ordered_keys(document):
        value = document[key]
        if key in SECTIONS:
            if key not in sections:
                continue
            value = _keep_section(key, value, sections[key])
        elif key in shape.local_times:
            value = _local(value, offset)
        elif key in shape.children:
            value = _render_child(value, shape.children[key], offset)
        out[key] = value
    return out
