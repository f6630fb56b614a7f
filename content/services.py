"""Writes of conversation content (docs/contract.md#content-ingestion): the bulk path behind
``POST /api/v1/ingest/conversations``, ``import_conversations`` and ``seed_demo``.

A batch is a fixed number of statements whatever its size (no per-record query):

1. Claim the batch's conversations in one upsert (:func:`rows_upsert` with an empty ``update``):
   new ones are inserted complete, with what the record says over the defaults; existing ones
   are only locked (their row lock is held until the batch commits, so two batches writing the
   same conversation take turns, and the stored state read next is the latest).
2. For the existing conversations: read their row, and the documents a merge needs (the transcript
   in append mode, the events, the voice turns in append mode), one query per kind.
3. Merge each record over its stored state (a section present replaces, an absent one is kept;
   messages, events and appended turns merge by id) and write the existing rows in one upsert.
4. Replace each document the records carry: delete the stored ones, insert the new ones.

The start of a conversation is the interaction's ``sessionStartTime`` once its interaction record
has arrived (:func:`conversations_from_interactions`, called by interaction ingestion); until then
the earliest message or event time known (the ingestion time for a record with neither).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from analytics_api.kernel.errors import error_item
from analytics_api.kernel.imports import IMPORT_WRITERS, ImportReport, import_jsonl
from analytics_api.kernel.ingestion import (
    IngestResult,
    Stored,
    batch_upsert,
    batch_validate,
    children_replace,
    rows_upsert,
)
from analytics_api.models import Account
from changes.services import changes_record
from content.checks import (
    MAX_STORED_EVENTS,
    MAX_STORED_MESSAGES,
    MAX_TURNS,
    STORED_SECTIONS,
    content_record_check,
    record_key,
)
from content.models import Conversation, ConversationAgent, EventLog, Status, Transcript, VoiceTurns
from diagnostics.models import CallDiagnostics
from diagnostics.services import diagnostics_replace
from search.services import search_index_refresh
from search.units import IndexedRow, InteractionText

# The Conversation columns a record sets (besides the keys and the automatic times).
_STATE = (
    "started_at", "start_from_interaction", "ended_at", "channel", "status", "smart_status", "error_message",
    "language", "csat_score", "csat_asked", "nps_score", "nps_asked", "liked", "like_asked", "sentiment",
    "flagged", "sections", "message_count",
)
_NEW = {
    "start_from_interaction": False, "ended_at": None, "channel": None, "status": Status.IN_PROGRESS.value,
    "smart_status": None, "error_message": None, "language": None, "csat_score": None, "csat_asked": False,
    "nps_score": None, "nps_asked": False, "liked": None, "like_asked": False, "sentiment": None,
    "flagged": False, "message_count": 0,
}
DOCUMENTS = (
    (Transcript, "transcript", "messages"), (EventLog, "events", "events"), (VoiceTurns, "voiceTurns", "turns"),
)


# Writers of the sections of content.checks.OTHER_SECTIONS, by name: called once per batch, inside its
# transaction, as writer(account_id=…, sections={conversation pk: (its start, the validated section)}),
# they replace the section of each conversation given.
OTHER_WRITERS: dict[str, Callable[..., None]] = {"diagnostics": diagnostics_replace}


@dataclass
class _Pending:
    """A validated record and what the batch learned about its conversation."""

    record: dict[str, Any]
    append: bool
    row: dict[str, Any]
    documents: dict[str, list[dict[str, Any]]]


def conversations_ingest(*, account: Account, records: list[Any], transcript_mode: str = "replace") -> IngestResult:
    """Validate ``records`` (raw, as sent) and store the valid ones of ``account`` by sessionId.

    ``transcript_mode`` is the batch's default for records without their own ``transcriptMode``.
    A record whose merged transcript or events would pass their stored caps is rejected alone.
    """
    batch = batch_validate(records, check=content_record_check, key=record_key)
    index_of = {record["sessionId"]: index for index, record in batch.valid}
    refused: dict[str, dict[str, str]] = {}
    result = batch_upsert(
        batch, upsert=partial(content_upsert, account=account, transcript_mode=transcript_mode, refused=refused)
    )
    if refused:
        known = {item["index"] for item in result.rejected}
        result.rejected = sorted(
            [*result.rejected, *({"index": index_of[key], "errors": [error]}
                                 for key, error in refused.items() if index_of[key] not in known)],
            key=lambda item: item["index"],
        )
    return result


def conversations_import(
    *, account: Account, path: Path, progress: IO[str] | None = None, writers: int = IMPORT_WRITERS
) -> ImportReport:
    return import_jsonl(
        path=path, ingest=lambda records: conversations_ingest(account=account, records=records),
        keys=("sessionId",), progress=progress, writers=writers,
    )


def content_upsert(
    records: list[dict[str, Any]], *, account: Account, transcript_mode: str, refused: dict[str, dict[str, str]]
) -> tuple[int, int]:
    """Store validated records of ``account`` (inside the batch's transaction); returns (created, updated)."""
    now = timezone.now()
    pending = [_pending(record, transcript_mode=transcript_mode, now=now, account=account) for record in records]
    # 1. Claim: insert the new conversations as they are, lock the existing ones.
    stored = rows_upsert(Conversation, [item.row for item in pending], scope="account_id", key="session_id", update=())
    existing = [item for item in pending if not stored[item.row["session_id"]].created]
    if existing:
        # 2-3. Merge the existing ones over their stored state, and write them.
        kept = _merge_existing(existing, stored=stored, refused=refused)
        if kept:
            rows_upsert(Conversation, [item.row for item in kept], scope="account_id", key="session_id")
            documents_start_sync(conversation_ids=_starts_moved(
                written=[(stored[item.row["session_id"]], item.row["started_at"]) for item in kept]
            ))
        existing = kept
    written = [item for item in pending if item.row["session_id"] not in refused]
    # 4. The documents the records carry.
    for model, section, field in DOCUMENTS:
        carrying = [item for item in written if section in item.documents]
        if not carrying:
            continue
        children_replace(
            model,
            [
                {
                    "conversation_id": stored[item.row["session_id"]].pk,
                    "account_id": account.pk,
                    "started_at": item.row["started_at"],
                    field: item.documents[section],
                }
                for item in carrying
            ],
            parent="conversation_id",
            stored={item.row["session_id"]: stored[item.row["session_id"]] for item in carrying},
        )
    for name, writer in OTHER_WRITERS.items():
        writer(account_id=account.pk, sections={
            stored[item.row["session_id"]].pk: (item.row["started_at"], item.record[name])
            for item in written if name in item.record
        })
    # 5. The search index of the written conversations (docs/contract.md#search-index).
    search_index_refresh(
        account_id=account.pk,
        conversation_ids=[stored[item.row["session_id"]].pk for item in written],
        transcripts={
            stored[item.row["session_id"]].pk: item.documents["transcript"]
            for item in written if "transcript" in item.documents
        },
        created={
            stored[item.row["session_id"]].pk: IndexedRow(
                stored[item.row["session_id"]].pk, item.row["session_id"], item.row["started_at"], item.row["sections"]
            )
            for item in written if stored[item.row["session_id"]].created
        },
    )
    # 6. The change feed (docs/contract.md#change-feed): one statement for the batch.
    changes_record(account_id=account.pk, dataset="conversations", keys=[item.row["session_id"] for item in written])
    created = len(written) - len(existing)
    return created, len(existing)


def _by_time(items: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Items merged by ``key`` (a later copy wins), in time order then key order."""
    merged = {item[key]: item for item in items}
    return sorted(merged.values(), key=lambda item: (item["time"], item[key]))


def _pending(record: dict[str, Any], *, transcript_mode: str, now: datetime, account: Account) -> _Pending:
    """The record as a new conversation's row (its sections over the defaults) and its documents."""
    documents: dict[str, list[dict[str, Any]]] = {}
    if "transcript" in record:
        documents["transcript"] = _by_time(record["transcript"], "id")
    if "events" in record:
        documents["events"] = _by_time(record["events"], "id")
    if "voiceTurns" in record:
        documents["voiceTurns"] = sorted({turn["turn"]: turn for turn in record["voiceTurns"]}.values(),
                                         key=lambda turn: turn["turn"])
    row = {"account_id": account.pk, "session_id": record["sessionId"], **_NEW, "sections": {}}
    _apply(row, record, documents)
    first, last = _times(documents)
    row["started_at"] = datetime.fromisoformat(first) if first else now
    if row["status"] != Status.IN_PROGRESS and last:
        row["ended_at"] = datetime.fromisoformat(last)
    return _Pending(
        record=record,
        append=record.get("transcriptMode", transcript_mode) == "append",
        row=row,
        documents=documents,
    )


def _times(documents: dict[str, list[dict[str, Any]]]) -> tuple[str | None, str | None]:
    """The earliest and latest message or event time of ``documents`` (each in time order)."""
    times = [items[index]["time"] for name in ("transcript", "events") if (items := documents.get(name))
             for index in (0, -1)]
    return (min(times), max(times)) if times else (None, None)


def _apply(row: dict[str, Any], record: dict[str, Any], documents: dict[str, list[dict[str, Any]]]) -> None:
    """Set the columns and sections ``record`` carries on ``row``; the others are left as they are."""
    if "status" in record:
        row["status"] = record["status"]
        row["smart_status"] = record.get("smartStatus")
        row["error_message"] = record.get("errorMessage")
    if "language" in record:
        row["language"] = record["language"]
    if "like" in record:
        row["like_asked"], row["liked"] = True, record["like"]
    sections = dict(row["sections"])
    for name in STORED_SECTIONS:
        if name in record:
            sections[name] = record[name]
    if "csat" in record:
        row["csat_asked"], row["csat_score"] = True, record["csat"].get("score")
        sections["csat"] = {"score": None, **record["csat"]}
    if "nps" in record:
        row["nps_asked"], row["nps_score"] = True, record["nps"].get("score")
        sections["nps"] = {"score": None, **record["nps"]}
    if "sentiment" in record:
        row["sentiment"] = record["sentiment"]["overall"]
    if "flags" in record:
        row["flagged"] = bool(record["flags"])
    row["sections"] = sections
    if "transcript" in documents:
        row["message_count"] = len(documents["transcript"])
    if row["channel"] is None:
        if documents.get("voiceTurns"):
            row["channel"] = "voice"
        elif any("email" in message for message in documents.get("transcript", ())):
            row["channel"] = "email"


def _merge_existing(
    existing: list[_Pending], *, stored: dict[str, Stored], refused: dict[str, dict[str, str]]
) -> list[_Pending]:
    """Merge each record over its stored conversation; those over a stored cap go to ``refused``."""
    pk_of = {item.row["session_id"]: stored[item.row["session_id"]].pk for item in existing}
    state = {
        row.pop("id"): row
        for row in Conversation.objects.filter(pk__in=list(pk_of.values())).values("id", *_STATE)
    }
    # The stored documents a merge needs: appended transcripts and turns, and events (always appended).
    stored_docs: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for model, section, field in DOCUMENTS:
        pks = [
            pk_of[item.row["session_id"]] for item in existing
            if section in item.record and (item.append or section == "events")
        ]
        rows = model.objects.filter(conversation_id__in=pks).values_list("conversation_id", field) if pks else ()
        stored_docs[section] = dict(rows)
    kept = []
    for item in existing:
        session = item.row["session_id"]
        pk = pk_of[session]
        documents = dict(item.documents)
        if pk in stored_docs["transcript"]:
            documents["transcript"] = _by_time([*stored_docs["transcript"][pk], *documents["transcript"]], "id")
        if pk in stored_docs["events"]:
            documents["events"] = _by_time([*stored_docs["events"][pk], *documents["events"]], "id")
        if pk in stored_docs["voiceTurns"]:
            turns = {turn["turn"]: turn for turn in [*stored_docs["voiceTurns"][pk], *documents["voiceTurns"]]}
            documents["voiceTurns"] = [turns[number] for number in sorted(turns)]
        if error := _over_cap(documents):
            refused[session] = error
            continue
        before = state[pk]
        row = {"account_id": item.row["account_id"], "session_id": session, **before}
        _apply(row, item.record, documents)
        first, last = _times(documents)
        if not before["start_from_interaction"]:
            if first and datetime.fromisoformat(first) < before["started_at"]:
                row["started_at"] = datetime.fromisoformat(first)
            if row["status"] == Status.IN_PROGRESS:
                row["ended_at"] = None
            elif last and (before["ended_at"] is None or datetime.fromisoformat(last) > before["ended_at"]):
                row["ended_at"] = datetime.fromisoformat(last)
        item.row, item.documents = row, documents
        kept.append(item)
    return kept


def _over_cap(documents: dict[str, list[dict[str, Any]]]) -> dict[str, str] | None:
    for section, cap in (("transcript", MAX_STORED_MESSAGES), ("events", MAX_STORED_EVENTS), ("voiceTurns", MAX_TURNS)):
        if len(documents.get(section, ())) > cap:
            return error_item(
                f"This would make the conversation's {section} longer than {cap:,} items: nothing of the record "
                "was stored.",
                "too_many",
                section,
            )
    return None


def documents_start_sync(*, conversation_ids: list[int]) -> None:
    """Give the documents of these conversations their conversation's start (the key of monthly partitions).

    Callers pass only the conversations whose start their write moved (:func:`_starts_moved`): the
    documents of the others already carry it. Looking for out-of-step documents instead would join
    the partitioned conversations table by id alone, which PostgreSQL answers by reading that
    table's whole primary key (BENCHMARKS.md, "Records sent again").

    Agent links need none: only an interaction record moves a start that links exist for, and its
    ingestion writes the links anew. Search rows need none either, though their start is in the
    index the search's window reads (search.engines): both callers refresh the search index of the
    same conversations right after, which writes the rows anew with the moved start.
    """
    if not conversation_ids:
        return
    start = Subquery(Conversation.objects.filter(pk=OuterRef("conversation_id")).values("started_at")[:1])
    for model in (Transcript, EventLog, VoiceTurns, CallDiagnostics):
        model.objects.filter(conversation_id__in=conversation_ids).update(started_at=start)


def _starts_moved(*, written: Iterable[tuple[Stored, datetime]]) -> list[int]:
    """The conversations among ``written`` (stored row, start just written) whose start that write changed.

    A new conversation has no documents yet; an existing one reports the start it had before
    (``Stored.previous_start``, read under its row lock).
    """
    return [row.pk for row, start in written if not row.created and row.previous_start != start]


# --- From interaction records --------------------------------------------------------------------


def _agent_ids(document: dict[str, Any]) -> list[str]:
    """The agents who handled the conversation, in the order of its destinations, each once."""
    agents: list[str] = []
    for destination in document.get("destinations", ()):
        agent = destination.get("respondingAgent", destination) if destination.get(
            "destinationType") == "QueueEntry" else destination
        if destination.get("destinationType") in ("QueueEntry", "AgentSegment") and agent.get("agentId"):
            agents.append(agent["agentId"])
    return list(dict.fromkeys(agents))


def conversations_from_interactions(*, account: Account, rows: list[dict[str, Any]]) -> None:
    """Upsert the Conversation of each interaction row (``interactions_upsert``'s, same transaction).

    The interaction gives the start (``start_from_interaction``), the channel and the end; what the
    content said (status, scores, transcript…) is kept. The agents who answered, in the order of the
    destinations, replace the conversation's agent links. A fixed number of statements.
    """
    if not rows:
        return
    now = timezone.now()
    conversations = [
        {
            "account_id": account.pk,
            "session_id": row["session_id"],
            **_NEW,
            "sections": {},
            "started_at": row["session_start"],
            "start_from_interaction": True,
            "channel": row["channel"],
            "ended_at": row["session_end"],
            "status": Status.COMPLETED.value if row["session_end"] and row["session_end"] <= now
            else Status.IN_PROGRESS.value,
        }
        for row in rows
    ]
    stored = rows_upsert(
        Conversation, conversations, scope="account_id", key="session_id",
        update=("started_at", "start_from_interaction", "channel", "ended_at"),
    )
    agents = []
    for row in rows:
        for position, agent_id in enumerate(_agent_ids(row["document"])):
            agents.append({
                "conversation_id": stored[row["session_id"]].pk,
                "account_id": account.pk,
                "agent_id": agent_id,
                "position": position,
                "started_at": row["session_start"],
            })
    children_replace(ConversationAgent, agents, parent="conversation_id", stored=stored)
    documents_start_sync(
        conversation_ids=_starts_moved(written=[(stored[row["session_id"]], row["session_start"]) for row in rows])
    )
    # The interaction record brings searched text and identifiers (remarks, user ids).
    search_index_refresh(
        account_id=account.pk,
        conversation_ids=[item.pk for item in stored.values()],
        interactions={row["session_id"]: InteractionText(row["conversation_id"], row["document"]) for row in rows},
        created={
            stored[row["session_id"]].pk: IndexedRow(stored[row["session_id"]].pk, row["session_id"],
                                                      row["session_start"], {})
            for row in rows if stored[row["session_id"]].created
        },
    )
    changes_record(account_id=account.pk, dataset="conversations", keys=[row["session_id"] for row in rows])

