"""Small synchronous exports (docs/contract.md#small-exports): the transcript zip and the conversation CSV."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from analytics_api.kernel.csv_stream import csv_lines
from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.streams import zip_stream
from analytics_api.models import Account
from content import transcripts
from content.models import Conversation, ConversationAgent, Status, Transcript
from content.selectors import interaction_documents, started_within
from supervision.masking import Masker, account_obscures

# The transcript CSV of GET /api/v1/conversations/{sessionId}/transcript?format=csv (content.transcripts).
TRANSCRIPT_HEADER = list(transcripts.CSV_HEADER)
CONVERSATION_HEADER = [
    "sessionId", "startTime", "endTime", "durationSeconds", "channel", "status", "smartStatus", "language",
    "customerName", "customerPhone", "customerEmail", "userId", "agents", "csat", "nps", "like", "sentiment",
    "flagged", "dispositions",
]
# Rows read from the database per round trip while a CSV streams.
EXPORT_CHUNK = 500
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def transcripts_zip_name(at: datetime) -> str:
    """``transcripts-YYYY-MM-DD-HH24-mm-SS.zip`` at the export's UTC time."""
    return f"transcripts-{at:%Y-%m-%d-%H-%M-%S}.zip"


def transcript_entry_name(session_id: str) -> str:
    """``transcript-<sessionId>.csv``, characters a file name cannot hold replaced by ``_``."""
    return f"transcript-{_UNSAFE_NAME.sub('_', session_id)[:150]}.csv"


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def transcript_csv_rows(messages: Iterable[Mapping[str, Any]], masker: Masker | None) -> Iterator[list[Any]]:
    """The rows of the transcript's own CSV: what may be shown (hold suppressed), contacts masked when asked."""
    views = [transcripts.message_view(message) for message in transcripts.transcript_visible(messages)]
    if masker is not None:
        views = [masker.message(view) for view in views]
    return transcripts.transcript_csv_rows(views)


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    for line in lines:
        yield line.encode()


def _maskers(account: Account, session_ids: list[str], messages: Mapping[str, list[Any]]) -> dict[str, Masker]:
    """The masker of each conversation (two queries), when the account obscures customer info."""
    conversations = list(
        Conversation.objects.filter(account=account, session_id__in=session_ids)
        .only("session_id", "started_at", "sections")
    )
    documents = interaction_documents(account=account, conversations=conversations)
    sections = {row.session_id: row.sections for row in conversations}
    return {
        session_id: Masker.of(
            document=documents.get(session_id), sections=sections.get(session_id), messages=messages.get(session_id, ())
        )
        for session_id in session_ids
    }


def transcripts_zip(*, account: Account, session_ids: list[str], at: datetime) -> Iterator[bytes]:
    """The zip of 1–25 transcripts: one CSV per session id, header only when the conversation has no
    transcript or is not the account's (the answer never tells the two apart)."""
    messages = dict(
        Transcript.objects.filter(account=account, conversation__session_id__in=session_ids).values_list(
            "conversation__session_id", "messages"
        )
    )
    maskers = _maskers(account, session_ids, messages) if account_obscures(account=account) else {}
    names: set[str] = set()

    def unique(name: str) -> str:
        # Two ids may differ only by characters a file name cannot hold ("a/b", "a_b").
        stem, count = name[: -len(".csv")], 1
        while name in names:
            count += 1
            name = f"{stem}-{count}.csv"
        names.add(name)
        return name

    entries = (
        (
            unique(transcript_entry_name(session_id)),
            _encoded(csv_lines(
                TRANSCRIPT_HEADER, transcript_csv_rows(messages.get(session_id, ()), maskers.get(session_id))
            )),
        )
        for session_id in session_ids
    )
    return zip_stream(entries, at=at)


def _seconds(start: datetime | None, end: datetime | None) -> str:
    return "" if start is None or end is None else str(int((end - start).total_seconds()))


def _customer(document: Mapping[str, Any], sections: Mapping[str, Any]) -> tuple[str, str, str, str]:
    info = document.get("customerinfo") if isinstance(document.get("customerinfo"), Mapping) else {}
    customer = sections.get("customer") if isinstance(sections.get("customer"), Mapping) else {}
    name = " ".join(part for part in (info.get("CustomerFirstName"), info.get("CustomerLastName")) if part)
    return (
        name or _joined(customer.get("name")),
        _joined(info.get("CustomerPhone") or customer.get("phone")),
        _joined(info.get("CustomerEmail") or customer.get("email")),
        _joined(document.get("userId") or sections.get("userId") or customer.get("userId")),
    )


def conversation_csv_row(
    conversation: Conversation, document: Mapping[str, Any], agents: list[str], masker: Masker | None
) -> list[str]:
    name, phone, email, user_id = _customer(document, conversation.sections)
    if masker is not None:
        phone, email = masker.text(phone) if phone else "", masker.text(email) if email else ""
        name = masker.text(name)
    like = "" if conversation.liked is None else str(conversation.liked).lower()
    return [
        conversation.session_id,
        render_utc_ms(conversation.started_at),
        render_utc_ms(conversation.ended_at) if conversation.ended_at else "",
        _seconds(conversation.started_at, conversation.ended_at),
        _joined(conversation.channel),
        Status(conversation.status).label,
        _joined(conversation.smart_status),
        _joined(conversation.language),
        name, phone, email, user_id,
        ", ".join(agents),
        _joined(conversation.csat_score), _joined(conversation.nps_score), like,
        _joined(conversation.sentiment),
        str(conversation.flagged).lower(),
        _joined(conversation.sections.get("dispositions") or document.get("dispositions")),
    ]


def _chunks(rows: QuerySet[Conversation]) -> Iterator[list[Conversation]]:
    """``rows`` (ordered by start then session id) in keyset chunks: memory stays flat however many match."""
    last: tuple[datetime, str] | None = None
    while True:
        chunk_rows = rows if last is None else rows.filter(
            Q(started_at__gt=last[0]) | Q(started_at=last[0], session_id__gt=last[1])
        )
        chunk = list(chunk_rows.order_by("started_at", "session_id")[:EXPORT_CHUNK])
        if not chunk:
            return
        yield chunk
        if len(chunk) < EXPORT_CHUNK:
            return
        last = (chunk[-1].started_at, chunk[-1].session_id)


def conversations_csv(*, account: Account, rows: QuerySet[Conversation]) -> Iterator[bytes]:
    """The conversation-data CSV of ``rows`` in start order, streamed: three queries per chunk of rows."""
    obscure = account_obscures(account=account)

    def lines() -> Iterator[list[str]]:
        for chunk in _chunks(rows):
            documents = interaction_documents(account=account, conversations=chunk)
            agents: dict[int, list[str]] = {}
            for conversation_pk, agent_id in ConversationAgent.objects.filter(
                conversation__in=[row.pk for row in chunk], **started_within(conversations=chunk)
            ).order_by("conversation_id", "position").values_list("conversation_id", "agent_id"):
                agents.setdefault(conversation_pk, []).append(agent_id)
            for row in chunk:
                document = documents.get(row.session_id) or {}
                masker = Masker.of(document=document, sections=row.sections) if obscure else None
                yield conversation_csv_row(row, document, agents.get(row.pk, []), masker)

    return _encoded(csv_lines(CONVERSATION_HEADER, lines()))
