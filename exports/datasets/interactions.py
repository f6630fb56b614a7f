"""The ``interactions`` and ``calldetails`` datasets: records exactly as interactionDetails and
calldetails serve them (docs/contract.md#export-datasets), read with a server-side cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q
from rest_framework import serializers

from analytics_api.kernel.dates import UtcIsoText
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.read_ahead import rows_in_chunks
from analytics_api.kernel.validation import Invalid
from analytics_api.models import Account, Scope
from conversations.documents import SERVED_DOCUMENTS, document_render, page_needs_documents, served_lines
from conversations.models import Channel
from conversations.selectors import InteractionQuery, interaction_rows
from conversations.serializers import InteractionFilterSerializer
from exports.registry import Block, Column, Dataset, ExportWindow, blocks_of, field
from supervision.masking import Masker, account_obscures


class ExportInteractionFilters(InteractionFilterSerializer):
    """interactionDetails' body filters without its window (an export's window is its own, in UTC);
    ``timeZoneOffset`` defaults to 0 (local times rendered in UTC)."""

    startDate = None
    endDate = None


# A chunk's served texts are passed over and written this many records at a time: a text of ~200 kB
# is made from memory the allocator keeps, where one of a whole chunk (~2 MB) is mapped afresh and
# faulted in page by page every time (measured: 1.7 instead of 2.4 ms of CPU per 1,000 records).
TEXT_RECORDS = 100


def interaction_filters_check(data: Any, account: Account) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid([serializers.ErrorDetail("filters must be an object.", "invalid")])
    filters = ExportInteractionFilters(data=data, context={"header_offset": 0})
    if not filters.is_valid():
        raise Invalid(filters.errors)
    valid = filters.validated_data
    return {
        "channels": list(valid.get("channels") or []),
        "queues": list(dict.fromkeys(valid.get("queues") or [])),
        "bots": list(dict.fromkeys(valid.get("bots") or [])),
        "selectedFields": valid["selectedFields"],
        "timeZoneOffset": valid["timeZoneOffset"],
    }


def _blocks(window: ExportWindow, chunk: int, *, channel: str | None) -> Iterator[Block]:
    """1. The rows of :func:`conversations.selectors.interaction_rows` (the endpoint's filter and
    order), after the resume key. 2. Read them through a server-side cursor in chunks. 3. Render
    each chunk exactly as a page is rendered: the pre-rendered texts joined into one text and passed
    over once (sections and local times), or the documents when sections are filtered by name or
    contacts masked."""
    filters = window.filters
    offset, sections = filters["timeZoneOffset"], filters["selectedFields"]
    query = InteractionQuery(
        start=window.start, end=window.end, offset_minutes=offset, channels=tuple(filters["channels"]),
        queues=tuple(filters["queues"]), bots=tuple(filters["bots"]), sections=sections, skip=0, limit=0,
    )
    rows = interaction_rows(account=window.account, query=query, channel=channel)
    if rows is None:
        return
    if window.after:
        start, session_id = datetime.fromisoformat(window.after[0]), window.after[1]
        rows = rows.filter(Q(session_start__gt=start) | Q(session_start=start, session_id__gt=session_id))
    # Customer contacts are masked per document when the account obscures them (supervision.masking).
    obscure = account_obscures(account=window.account)
    if obscure or page_needs_documents(sections):
        documents = rows.values_list("session_start", "session_id", "document").iterator(chunk_size=chunk)
        yield from blocks_of(((
            [started.isoformat(), session_id],
            json_text(document_render(Masker.of(document=document).value(document) if obscure else document,
                                      offset=offset, sections=sections)),
        ) for started, session_id, document in documents), chunk)
        return
    columns = rows.values_list("pk", UtcIsoText("session_start"), "session_id", SERVED_DOCUMENTS.current_text())
    for batch in rows_in_chunks(columns, chunk=chunk):
        unrendered = SERVED_DOCUMENTS.unrendered((pk, text) for pk, _start, _sid, text in batch)
        texts = [
            text if text is not None
            else json_text(document_render(unrendered[pk].document, offset=offset, sections=sections))
            for pk, _start, _sid, text in batch
        ]
        for begin in range(0, len(batch), TEXT_RECORDS):
            part = batch[begin : begin + TEXT_RECORDS]
            text = served_lines(texts[begin : begin + TEXT_RECORDS], offset=offset, sections=sections)
            yield Block(len(part), text, _key_of(part))


def _key_of(batch: list[tuple[Any, ...]]) -> Callable[[int], list[Any]]:
    return lambda i: [batch[i][1], batch[i][2]]


_COLUMNS: tuple[Column, ...] = (
    field("sessionId", "The session id"),
    field("conversationId", "The conversation id (agent-handled conversations only)"),
    field("channel", "rtm, voice or email"),
    field("botId", "The bot/app id"),
    field("userId", "The user id"),
    field("channelSpecificUserId", "The user id on the channel"),
    field("orgId", "The org id"),
    field("sessionStartTime", "Session start, local time at timeZoneOffset (YYYY-MM-DDTHH:MM:SS)"),
    field("sessionEndTime", "Session end, local time at timeZoneOffset"),
    field("Direction", "Direction (agent-handled conversations)"),
    field("isVoicemail", "true or false (agent-handled conversations)"),
    field("finalStatus", "Final status"),
    field("smartStatus", "Smart status"),
    field("reason", "Reason"),
    field("disconnectingEvent", "Disconnecting event"),
)

INTERACTIONS = Dataset(
    name="interactions",
    read_scope=Scope.ANALYTICS.value,
    description="Records as interactionDetails serves them",
    filters_check=interaction_filters_check,
    blocks=lambda window, chunk: _blocks(window, chunk, channel=None),
    columns=_COLUMNS,
)

CALLDETAILS = Dataset(
    name="calldetails",
    read_scope=Scope.ANALYTICS.value,
    description="Voice records as calldetails serves them",
    filters_check=interaction_filters_check,
    blocks=lambda window, chunk: _blocks(window, chunk, channel=Channel.VOICE.value),
    columns=_COLUMNS,
)
