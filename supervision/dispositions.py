"""Editing a conversation's dispositions after it ended (docs/contract.md#dispositions)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from changes.services import changes_record
from content.models import ConversationAgent, EventLog, Status
from conversations.documents import SERVED_DOCUMENTS, document_prerender
from search.services import search_index_refresh
from supervision.actors import Actor
from supervision.models import DispositionChange
from supervision.selectors import Target, conversation_target
from webhooks.services import webhook_enqueue

IN_PROGRESS_MESSAGE = "Dispositions can be edited once the conversation has ended."
EVENT_TYPE = "disposition_updated"


def conversation_in_progress(target: Target) -> bool:
    """Still going: its content says in progress and nothing says it ended (no end time anywhere)."""
    interaction_ended = target.interaction is not None and target.interaction.session_end is not None
    if target.conversation is None:
        return not interaction_ended
    conversation = target.conversation
    return conversation.status == Status.IN_PROGRESS and conversation.ended_at is None and not interaction_ended


def current_dispositions(target: Target) -> dict[str, Any]:
    """``{"dispositions": [...], "remarks": "..."}`` as read today: the interaction record's, else the content's."""
    source: dict[str, Any] = {}
    if target.interaction is not None:
        source = target.interaction.document
    elif target.conversation is not None:
        source = target.conversation.sections
    remarks = source.get("dispositionRemarks") or []
    return {
        "dispositions": list(source.get("dispositions") or []),
        "remarks": "\n".join(remarks) if isinstance(remarks, list) else str(remarks),
    }


def conversation_agent_ids(target: Target) -> list[str]:
    """The conversation's agents, in the order they joined (content), then the interaction's handling agents."""
    agents: list[str] = []
    if target.conversation is not None:
        agents.extend(
            ConversationAgent.objects.filter(conversation=target.conversation)
            .order_by("position")
            .values_list("agent_id", flat=True)
        )
    if target.interaction is not None:
        for destination in target.interaction.document.get("destinations") or ():
            agent = destination.get("respondingAgent", destination) if isinstance(destination, dict) else None
            if isinstance(agent, dict) and agent.get("agentId"):
                agents.append(agent["agentId"])
    return list(dict.fromkeys(agents))


def dispositions_update(
    *, account: Account, session_id: str, actor: Actor, dispositions: list[str], remarks: str
) -> DispositionChange:
    """Replace the dispositions and remarks of an ended conversation, in one transaction.

    1. Lock the conversation's rows (404 when unknown; 409 while it is in progress).
    2. Write the new values into the interaction record's document (``dispositions``,
       ``dispositionRemarks``) and re-render its served text, so interactionDetails and calldetails
       show them at once (and the change feed serves the record again); and into the content's
       sections for the conversation reads.
    3. Append a ``disposition_updated`` event to the conversation's events; refresh its search index
       (remarks are searched).
    4. Log the change (time, client, acting user, before, after).
    5. Queue the notification of the conversation's agents to the account's webhook (the outbox of
       webhooks: signed, retried, delivered once the transaction commits; nothing without a URL).
    """
    with transaction.atomic():
        target = conversation_target(account=account, session_id=session_id, lock=True)
        if conversation_in_progress(target):
            raise ApiError(IN_PROGRESS_MESSAGE, code="conversation_in_progress", status_code=409)
        now = timezone.now()
        before = current_dispositions(target)
        after = {"dispositions": dispositions, "remarks": remarks}
        served_remarks = [remarks] if remarks else []
        if target.interaction is not None:
            interaction = target.interaction
            interaction.document = {
                **interaction.document, "dispositions": dispositions, "dispositionRemarks": served_remarks,
            }
            interaction.served = document_prerender(interaction.document)
            interaction.served_version = SERVED_DOCUMENTS.version
            interaction.save(update_fields=["document", "served", "served_version", "updated_at"])
            changes_record(account_id=account.pk, dataset="interactions", keys=[session_id])
        change = DispositionChange.objects.create(
            account=account, session_id=session_id, at=now, client_id=actor.client.client_id,
            acting_user=actor.acting_user, before=before, after=after,
        )
        if target.conversation is not None:
            conversation = target.conversation
            conversation.sections = {
                **conversation.sections, "dispositions": dispositions, "dispositionRemarks": served_remarks,
            }
            conversation.save(update_fields=["sections", "updated_at"])
            changes_record(account_id=account.pk, dataset="conversations", keys=[session_id])
            _event_append(target, change=change, actor=actor)
            # The remarks are searched (docs/contract.md#search-index).
            search_index_refresh(account_id=account.pk, conversation_ids=[conversation.pk])
        webhook_enqueue(
            account_id=account.pk,
            event=EVENT_TYPE,
            payload={
                "sessionId": session_id,
                "agents": conversation_agent_ids(target),
                "time": render_utc_ms(now),
                "changedBy": actor.as_dict(),
                "before": before,
                "after": after,
            },
            api_client_id=actor.client.pk,
        )
    return change


def _event_append(target: Target, *, change: DispositionChange, actor: Actor) -> None:
    """The ``disposition_updated`` event, in time order (then id) among the conversation's events."""
    conversation = target.conversation
    assert conversation is not None
    event = {
        "id": f"disposition-{change.pk}",
        "type": EVENT_TYPE,
        "time": render_utc_ms(change.at),
        "details": {**change.after, "changedBy": actor.as_dict()},
    }
    # By key and start: on PostgreSQL the conversation's month only (as content.selectors.conversation_document_get).
    log = EventLog.objects.select_for_update().filter(
        conversation=conversation, started_at=conversation.started_at
    ).first()
    if log is None:
        EventLog.objects.create(
            conversation=conversation, account_id=conversation.account_id, started_at=conversation.started_at,
            events=[event],
        )
        return
    log.events = sorted([*log.events, event], key=lambda item: (item.get("time", ""), item.get("id", "")))
    log.save(update_fields=["events", "updated_at"])
