"""The ``conversations``, ``transcripts`` and ``events`` datasets (docs/contract.md#export-datasets).

All three read the conversations of the window that meet the Conversations table's criteria
(content.criteria) in (start, session id) order, a chunk at a time through a server-side cursor,
and render each chunk with the endpoints' own functions: ``conversations`` one row per conversation
as ``POST /api/v1/conversations/query`` serves it; ``transcripts`` one row per message the
transcript endpoint shows (hold suppression, masking); ``events`` one row per event, of the
conversations whose events the events endpoint still serves (up to 30 days after their start).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from analytics_api.kernel.fields import json_text
from analytics_api.kernel.read_ahead import rows_in_chunks
from analytics_api.models import Account, Scope
from content import events as content_events
from content import transcripts as content_transcripts
from content.criteria import conversations_matching, criteria_check
from content.models import Conversation, EventLog, Transcript
from content.selectors import conversation_rows, interaction_documents, started_within
from exports.registry import Column, Dataset, ExportWindow, Kept, Record, blocks_of, field
from supervision.masking import Masker, account_obscures


def conversation_filters_check(data: Any, account: Account) -> dict[str, Any]:
    """The Conversations table's criteria (``ids``, ``queues``, ``channels``, ``agents``, ``status``,
    ``csat``, ``flagged``, ``sentiment``, ``customTags``), validated as the query endpoint does."""
    return criteria_check({} if data is None else data)


def _chunks(window: ExportWindow, chunk: int) -> Iterator[list[Conversation]]:
    """The matching conversations in (start, session id) order from the resume key's conversation
    (included: a transcript or events row resumes inside it), ``chunk`` at a time."""
    rows: QuerySet[Conversation] = conversations_matching(
        account=window.account, start=window.start, end=window.end, criteria=window.filters
    )
    if window.after:
        started, session_id = datetime.fromisoformat(window.after[0]), window.after[1]
        rows = rows.filter(Q(started_at__gt=started) | Q(started_at=started, session_id__gte=session_id))
    yield from rows_in_chunks(rows.order_by("started_at", "session_id"), chunk=chunk)


def _done(window: ExportWindow, key: list[Any]) -> bool:
    """Whether ``key`` is at or before the resume key (already written)."""
    return bool(window.after) and key <= window.after


def conversation_records(window: ExportWindow, chunk: int) -> Iterator[Record]:
    for batch in _chunks(window, chunk):
        for conversation, row in zip(batch, conversation_rows(account=window.account, conversations=batch),
                                     strict=True):
            key = [conversation.started_at.isoformat(), conversation.session_id]
            if not _done(window, key):
                yield key, json_text(row)


def transcript_records(window: ExportWindow, chunk: int) -> Iterator[Record]:
    """Per chunk: the transcripts in one query, the interaction records (for masking) in one more."""
    obscure = account_obscures(account=window.account)
    for batch in _chunks(window, chunk):
        messages = dict(
            Transcript.objects.filter(pk__in=[row.pk for row in batch], **started_within(conversations=batch))
            .values_list("pk", "messages")
        )
        documents = interaction_documents(account=window.account, conversations=batch) if obscure else {}
        for conversation in batch:
            stored = messages.get(conversation.pk) or []
            views = [content_transcripts.message_view(message)
                     for message in content_transcripts.transcript_visible(stored)]
            if obscure:
                masker = Masker.of(
                    document=documents.get(conversation.session_id), sections=conversation.sections, messages=stored
                )
                views = [masker.message(view) for view in views]
            for position, view in enumerate(views):
                key = [conversation.started_at.isoformat(), conversation.session_id, position]
                if not _done(window, key):
                    yield key, json_text({"sessionId": conversation.session_id, "position": position, **view})


def event_records(window: ExportWindow, chunk: int) -> Iterator[Record]:
    """Per chunk: the event logs in one query; each event as the events endpoint serves it."""
    for batch in _chunks(window, chunk):
        logs = dict(
            EventLog.objects.filter(pk__in=[row.pk for row in batch], **started_within(conversations=batch))
            .values_list("pk", "events")
        )
        for conversation in batch:
            for position, event in enumerate(logs.get(conversation.pk) or []):
                key = [conversation.started_at.isoformat(), conversation.session_id, position]
                if not _done(window, key):
                    view = content_events.event_view(event)
                    yield key, json_text({"sessionId": conversation.session_id, "position": position, **view})


def _nested(name: str, description: str, *path: str) -> Column:
    def value(_key: list[Any], record: dict[str, Any]) -> str | None:
        found: Any = record
        for part in path:
            found = found.get(part) if isinstance(found, dict) else None
        return None if found is None else str(found)

    return Column(name, description, value)


CONVERSATIONS = Dataset(
    name="conversations",
    read_scope=Scope.CONVERSATIONS_READ.value,
    description="Conversations as POST /api/v1/conversations/query serves its rows",
    filters_check=conversation_filters_check,
    blocks=lambda window, chunk: blocks_of(conversation_records(window, chunk), chunk),
    columns=(
        field("sessionId", "The session id"),
        field("channel", "rtm, voice or email"),
        field("direction", "inbound or outbound"),
        field("language", "Language"),
        field("startTime", "Start (UTC, ms, Z)"),
        field("endTime", "End (UTC, ms, Z)"),
        field("durationSeconds", "Whole seconds from start to end"),
        _nested("customerName", "The customer's name (masked when the account obscures customer info)",
                "customer", "name"),
        _nested("customerPhone", "The customer's phone (masked likewise)", "customer", "phone"),
        _nested("customerEmail", "The customer's e-mail (masked likewise)", "customer", "email"),
        _nested("supportAgentId", "The agent who handled it (the last to join)", "supportAgent", "id"),
        _nested("status", "Status value", "status", "value"),
        field("smartStatus", "Smart status"),
        field("sentiment", "Overall sentiment"),
        field("flagged", "true or false"),
    ),
)

TRANSCRIPTS = Dataset(
    name="transcripts",
    read_scope=Scope.CONVERSATIONS_READ.value,
    description="One row per message the transcript endpoint shows (hold suppressed, masked when obscured)",
    filters_check=conversation_filters_check,
    blocks=lambda window, chunk: blocks_of(transcript_records(window, chunk), chunk),
    columns=(
        field("sessionId", "The session id"),
        field("position", "The message's position in the shown transcript, from 0"),
        *(field(name, f"The message's {name}") for name in content_transcripts.CSV_HEADER[:7]),
        field("text", "The text (masked when the account obscures customer info)"),
    ),
)

EVENTS = Dataset(
    name="events",
    read_scope=Scope.CONVERSATIONS_READ.value,
    description="One row per event of the conversation as the events endpoint serves it",
    filters_check=conversation_filters_check,
    blocks=lambda window, chunk: blocks_of(event_records(window, chunk), chunk),
    columns=(
        field("sessionId", "The session id"),
        field("position", "The event's position in the conversation's events, from 0"),
        *(field(name, f"The event's {name}") for name in content_events.CSV_HEADER),
    ),
    # As GET …/{sessionId}/events: a conversation that started more than 30 days ago is 410 there.
    kept=Kept(content_events.EVENTS_KEPT, "events_expired", content_events.EVENTS_EXPIRED),
)
