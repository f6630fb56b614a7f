"""A conversation as the Conversations table and the Insights to Logs panel show it (docs/contract.md#conversation-row).

Two sources meet here: the ``Conversation`` row (status, scores, sentiment, flags and the small
sections as ingested) and the interaction record of the same session (customer, direction, agents,
queues, skills, dispositions, tags). Either may be missing: a conversation known only from its
content has no interaction yet, and its parts from the record are empty until it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from analytics_api.kernel.dates import render_utc_ms
from content.models import Conversation, Status

Document = Mapping[str, Any]
_EMPTY: Document = {}


def utc_or_none(moment: datetime | None) -> str | None:
    return render_utc_ms(moment) if moment is not None else None


def text_or_none(value: Any) -> str | None:
    """A non-empty text, or None (records send "" for unknown values)."""
    return value.strip() or None if isinstance(value, str) else None


def status_of(conversation: Conversation) -> dict[str, str]:
    return {"value": conversation.status, "label": Status(conversation.status).label}


def duration_seconds(conversation: Conversation) -> int | None:
    """Whole seconds from start to end; None while the conversation has no end."""
    if conversation.ended_at is None:
        return None
    return max(0, int((conversation.ended_at - conversation.started_at).total_seconds()))


def customer_of(document: Document) -> dict[str, str | None]:
    """Name, phone and e-mail of the customer, from ``customerinfo`` first, then ``metaInfo``; the user id.

    A voice call's phone is its caller when inbound and its callee when outbound.
    """
    info = document.get("customerinfo") or _EMPTY
    meta = document.get("metaInfo") or _EMPTY
    first = text_or_none(info.get("CustomerFirstName")) or text_or_none(meta.get("firstName"))
    last = text_or_none(info.get("CustomerLastName")) or text_or_none(meta.get("lastName"))
    name = " ".join(part for part in (first, last) if part) or None
    outbound = direction_of(document) == "outbound"
    phone = (
        text_or_none(info.get("CustomerPhone"))
        or text_or_none(meta.get("phoneNumber"))
        or text_or_none(meta.get("callee" if outbound else "caller"))
    )
    email = text_or_none(info.get("CustomerEmail")) or text_or_none(meta.get("email"))
    return {"name": name, "phone": phone, "email": email, "userId": text_or_none(document.get("userId"))}


def direction_of(document: Document) -> str | None:
    """``inbound`` / ``outbound`` from the record's ``Direction``; None when it does not say."""
    direction = text_or_none(document.get("Direction"))
    return direction.lower() if direction else None


def agent_segments(document: Document) -> Iterable[Document]:
    """Every agent segment of the record's destinations, in the order of the destinations."""
    for destination in document.get("destinations") or ():
        if destination.get("destinationType") == "AgentSegment":
            yield destination
        elif responding := destination.get("respondingAgent"):
            yield responding


def agents_of(document: Document, linked: Iterable[str] = ()) -> list[dict[str, str | None]]:
    """The agents in the order they joined, each once: ``{"id", "name"}``.

    ``linked`` is the content's own order (``ConversationAgent`` rows by position), which wins; the
    record's agent segments (responding agents and direct transfers) give the names, and any agent
    the content does not list.
    """
    names: dict[str, str | None] = {}
    for segment in agent_segments(document):
        agent_id = text_or_none(segment.get("agentId"))
        if agent_id:
            names.setdefault(agent_id, text_or_none(segment.get("name")))
    order = list(dict.fromkeys([*linked, *names]))
    return [{"id": agent_id, "name": names.get(agent_id)} for agent_id in order]


def queues_of(document: Document) -> list[dict[str, str | None]]:
    """The queues in the order the conversation entered them (a queue entered twice appears twice)."""
    return [
        {"id": destination.get("queueId"), "name": text_or_none(destination.get("queueName"))}
        for destination in document.get("destinations") or ()
        if destination.get("destinationType") == "QueueEntry"
    ]


def skills_of(document: Document) -> list[Any]:
    return list(document.get("skills") or ())


def _scored(asked: bool, score: int | None) -> dict[str, int | None] | None:
    """None: not asked; ``{"score": None}``: asked, not answered."""
    return {"score": score} if asked else None


def scores_of(conversation: Conversation) -> dict[str, Any]:
    """CSAT, NPS and like as the table shows them: null when never asked, a null answer when unanswered."""
    return {
        "csat": _scored(conversation.csat_asked, conversation.csat_score),
        "nps": _scored(conversation.nps_asked, conversation.nps_score),
        "like": {"value": conversation.liked} if conversation.like_asked else None,
    }


def sentiment_of(conversation: Conversation) -> dict[str, Any] | None:
    if conversation.sentiment is None:
        return None
    emotions = (conversation.sections.get("sentiment") or _EMPTY).get("emotions") or []
    return {"overall": conversation.sentiment, "emotions": list(emotions)}


def flags_of(conversation: Conversation) -> list[Any]:
    return list(conversation.sections.get("flags") or ())


def conversation_row(
    conversation: Conversation, *, document: Document | None, linked_agents: Iterable[str] = ()
) -> dict[str, Any]:
    """One row of ``POST /api/v1/conversations/query``."""
    record = document or _EMPTY
    agents = agents_of(record, linked_agents)
    return {
        "sessionId": conversation.session_id,
        "customer": customer_of(record),
        "direction": direction_of(record),
        "language": conversation.language,
        "channel": conversation.channel,
        # The agent who handled the conversation: the last one to join.
        "supportAgent": agents[-1] if agents else None,
        "startTime": utc_or_none(conversation.started_at),
        "endTime": utc_or_none(conversation.ended_at),
        "durationSeconds": duration_seconds(conversation),
        "agents": agents,
        "queues": queues_of(record),
        "skills": skills_of(record),
        "status": status_of(conversation),
        "smartStatus": conversation.smart_status or text_or_none(record.get("smartStatus")),
        **scores_of(conversation),
        "sentiment": conversation.sentiment,
        "flagged": conversation.flagged,
        "flags": flags_of(conversation),
    }
