"""Writes of interaction records: the bulk upsert behind ingestion, the import command and seed_demo."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from analytics_api.kernel.imports import IMPORT_WRITERS, ImportReport, import_jsonl
from analytics_api.kernel.ingestion import IngestResult, batch_upsert, batch_validate, children_replace, rows_upsert
from analytics_api.metrics import ingestion_count
from analytics_api.models import Account
from changes.services import changes_record
from content.services import conversations_from_interactions
from conversations.documents import SERVED_DOCUMENTS, document_prerender
from conversations.models import Channel, Interaction, InteractionQueue
from conversations.records import channel_code, interaction_record_validator
from recordings.services import SourceRegistration, recording_sources_register_batch


def interactions_ingest(*, account: Account, records: list[Any]) -> IngestResult:
    """Validate ``records`` (raw, as sent) and upsert the valid ones of ``account`` by sessionId.

    What ``POST /api/v1/ingest/interactions``, ``import_interactions`` and ``seed_demo`` call. The
    check is built once per batch, with the account's bot ids read once.
    """
    check = interaction_record_validator(bot_ids=frozenset(account.bots.values_list("bot_id", flat=True)))
    batch = batch_validate(records, check=check, key=lambda record: record["sessionId"])
    result = batch_upsert(batch, upsert=partial(interactions_upsert, account=account))
    ingestion_count(dataset="interactions", records=len(records), rejected=len(result.rejected))
    return result


# What an interaction record writes under: its session, and its recording's conversationId.
IMPORT_KEYS = ("sessionId", "conversationId")


def interactions_import(
    *, account: Account, path: Path, progress: IO[str] | None = None, writers: int = IMPORT_WRITERS
) -> ImportReport:
    """``import_interactions``: a JSON-lines file through :func:`interactions_ingest`, chunk by chunk."""
    return import_jsonl(
        path=path, ingest=lambda records: interactions_ingest(account=account, records=records),
        keys=IMPORT_KEYS, progress=progress, writers=writers,
    )


def _instant(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


def _queue_ids(document: dict[str, Any]) -> Iterable[str]:
    for destination in document.get("destinations", ()):
        if destination.get("destinationType") == "QueueEntry":
            yield destination["queueId"]


def interactions_upsert(records: list[dict[str, Any]], *, account: Account) -> tuple[int, int]:
    """Insert or update validated records on (account, sessionId); returns (created, updated).

    Runs inside the batch's transaction, in a fixed number of statements whatever the batch size:

    1. Upsert every row in one statement (:func:`rows_upsert`, which also says which rows were new);
       it stays correct when two batches race on the same new session.
    2. Replace the queue links: delete those of the updated interactions (new ones have none), then
       insert the batch's links in one statement.
    3. Upsert each interaction's conversation (content.models.Conversation: start, channel, end,
       agents), in a fixed number of statements too.
    4. Register the recording sources of the batch's voice conversations with the recordings worker
       (in a fixed number of statements too).
    5. Record the changes for the feed (one statement).
    """
    rows = []
    for record in records:
        document = {key: value for key, value in record.items() if key != "recordingSources"}
        rows.append(
            {
                "account_id": account.pk,
                "session_id": record["sessionId"],
                "conversation_id": record.get("conversationId"),
                "channel": channel_code(record["channel"]),
                "bot_id": record["botId"],
                "session_start": _instant(record["sessionStartTime"]),
                "session_end": _instant(record.get("sessionEndTime")),
                "document": document,
                "served": document_prerender(document),
                "served_version": SERVED_DOCUMENTS.version,
                "recording_sources": [dict(source) for source in record.get("recordingSources", ())],
            }
        )
    stored = rows_upsert(Interaction, rows, scope="account_id", key="session_id")
    updated = children_replace(
        InteractionQueue,
        [
            {
                "interaction_id": stored[row["session_id"]].pk,
                "account_id": account.pk,
                "queue_id": queue_id,
                "session_start": row["session_start"],
                "session_id": row["session_id"],
                "channel": row["channel"],
                "bot_id": row["bot_id"],
            }
            for row in rows
            for queue_id in dict.fromkeys(_queue_ids(row["document"]))
        ],
        parent="interaction_id",
        stored=stored,
    )
    conversations_from_interactions(account=account, rows=rows)
    recording_sources_register_batch(
        account=account,
        registrations=[
            SourceRegistration(
                conversation_id=row["conversation_id"] or row["session_id"],
                call_ended_at=row["session_end"],
                sources=row["recording_sources"],
            )
            for row in rows
            if row["channel"] == Channel.VOICE and row["recording_sources"]
        ],
    )
    changes_record(account_id=account.pk, dataset="interactions", keys=[row["session_id"] for row in rows])
    return len(stored) - updated, updated
