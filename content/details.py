"""One conversation as the Insights to Logs panel shows it (docs/contract.md#conversation-details).

The header icons, the Details tab, the User tab and the Identifiers tab, from the ``Conversation``
row's sections and the interaction record of the same session.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from content.models import Conversation
from content.rows import (
    Document,
    agent_segments,
    agents_of,
    customer_of,
    direction_of,
    duration_seconds,
    flags_of,
    queues_of,
    scores_of,
    sentiment_of,
    status_of,
    text_or_none,
    utc_or_none,
)

_EMPTY: Document = {}
IDENTIFIERS = ("callId", "callConversationId", "agentConversationId", "externalCallId", "caller", "callee")


def _consulting_agents(document: Document) -> list[str]:
    names = [
        text_or_none(consulting.get("name"))
        for segment in agent_segments(document)
        for consulting in segment.get("ConsultingAgents") or ()
    ]
    return list(dict.fromkeys(name for name in names if name))


def _joined_users(conversation: Conversation, document: Document) -> list[Any]:
    if (joined := conversation.sections.get("joinedUsers")) is not None:
        return list(joined)
    return [user for segment in agent_segments(document) for user in segment.get("JoinedUsers") or ()]


def _notes(conversation: Conversation, document: Document) -> list[dict[str, Any]]:
    """The notes ingested with the content, then the agents' notes of the interaction record."""
    notes = [dict(note) for note in conversation.sections.get("notes") or ()]
    for segment in agent_segments(document):
        for note in segment.get("agentNotes") or ():
            notes.append({"id": None, "time": None, "author": text_or_none(segment.get("name")), "text": note})
    return notes


def _csat(conversation: Conversation) -> dict[str, Any] | None:
    if not conversation.csat_asked:
        return None
    feedback = (conversation.sections.get("csat") or _EMPTY).get("feedback")
    return {"score": conversation.csat_score, "feedback": feedback}


def _snooze(conversation: Conversation) -> dict[str, Any] | None:
    snooze = conversation.sections.get("snooze")
    if not snooze:
        return None
    return {"count": snooze.get("count"), "durationSeconds": snooze.get("durationSeconds")}


def _campaign(conversation: Conversation) -> dict[str, Any] | None:
    campaign = conversation.sections.get("campaign")
    if not campaign:
        return None
    return {"name": campaign.get("name"), "instanceId": campaign.get("instanceId")}


def _identifiers(conversation: Conversation, document: Document) -> dict[str, Any]:
    given = conversation.sections.get("identifiers") or _EMPTY
    meta = document.get("metaInfo") or _EMPTY
    fallbacks = {
        "callConversationId": text_or_none(document.get("conversationId")),
        "caller": text_or_none(meta.get("caller")),
        "callee": text_or_none(meta.get("callee")),
    }
    found = {name: given.get(name) or fallbacks.get(name) for name in IDENTIFIERS}
    return {
        "sessionId": conversation.session_id,
        "channelUserId": text_or_none(document.get("channelSpecificUserId")),
        "userId": text_or_none(document.get("userId")),
        "campaignInstanceId": (_campaign(conversation) or _EMPTY).get("instanceId"),
        **found,
    }


def conversation_detail(
    conversation: Conversation, *, document: Document | None, linked_agents: Iterable[str] = ()
) -> dict[str, Any]:
    """``GET /api/v1/conversations/{sessionId}``: header, Details, User and Identifiers."""
    record = document or _EMPTY
    customer = customer_of(record)
    return {
        "sessionId": conversation.session_id,
        "header": {
            "direction": direction_of(record),
            "language": conversation.language,
            "sentiment": sentiment_of(conversation),
            "channel": conversation.channel,
        },
        "details": {
            "start": utc_or_none(conversation.started_at),
            "end": utc_or_none(conversation.ended_at),
            "durationSeconds": duration_seconds(conversation),
            "agents": agents_of(record, linked_agents),
            "consultingAgents": _consulting_agents(record),
            "joinedUsers": _joined_users(conversation, record),
            "queues": queues_of(record),
            "status": status_of(conversation),
            "smartStatus": conversation.smart_status or text_or_none(record.get("smartStatus")),
            "errorMessage": conversation.error_message,
            "mode": conversation.sections.get("mode"),
            "csat": _csat(conversation),
            "nps": scores_of(conversation)["nps"],
            "like": scores_of(conversation)["like"],
            "dispositions": list(record.get("dispositions") or ()),
            "dispositionRemarks": list(record.get("dispositionRemarks") or ()),
            "notes": _notes(conversation, record),
            "snooze": _snooze(conversation),
            "campaign": _campaign(conversation),
            "sessionLevelTags": list(record.get("sessionleveltags") or ()),
            "flagged": conversation.flagged,
            "flags": flags_of(conversation),
        },
        "user": {
            "customerPhone": customer["phone"],
            "customerName": customer["name"],
            "customerEmail": customer["email"],
            "channelUserId": text_or_none(record.get("channelSpecificUserId")),
            "userId": text_or_none(record.get("userId")),
            "userLevelTags": list(record.get("userleveltags") or ()),
        },
        "identifiers": _identifiers(conversation, record),
    }
