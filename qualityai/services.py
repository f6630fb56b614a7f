"""Writes for Quality AI: contact ingestion (the shared batch steps of analytics_api.kernel.ingestion) and
stream settings."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import IO, Any

from django.db import transaction

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.imports import IMPORT_WRITERS, ImportReport, import_jsonl
from analytics_api.kernel.ingestion import IngestResult, batch_upsert, batch_validate, children_replace, rows_upsert
from analytics_api.metrics import ingestion_count
from analytics_api.models import Bot
from changes.services import changes_record, changes_record_qa_contacts
from qualityai.day_counts import contact_days_mark, stream_days_mark
from qualityai.models import MAX_MIN_DURATION_SECONDS, QaContact, QaContactCustomField, StreamSettings
from qualityai.rendering import SERVED_RESULTS, contact_prerender
from qualityai.serializers import ContactRecord, contact_record_check


def contacts_upsert(records: list[ContactRecord], *, stream: Bot) -> tuple[int, int]:
    """Insert or update contacts on (stream, Conversation ID) in a fixed number of statements.

    1. Insert-or-update every contact in one statement (:func:`rows_upsert`, which also says which
       contacts were new).
    2. Replace the custom-field rows: delete those of the updated contacts (new ones have none),
       then insert the batch's rows in one statement.
    3. Record the changes for the feed (one statement).
    4. Mark the UTC days the batch wrote for the kept day counts: each contact's day, and the day an
       updated contact had before (one statement).
    """
    rows = []
    for record in records:
        row = {
            "account_id": stream.account_id,
            "stream_id": stream.pk,
            "conversation_id": record.conversation_id,
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "direction": record.direction,
            "direction_defaulted": record.direction_defaulted,
            "duration_ms": record.duration_ms,
            "audit_complete": record.audit_complete,
            "document": record.document,
        }
        row["served"] = contact_prerender(QaContact(**row))
        row["served_version"] = SERVED_RESULTS.version
        rows.append(row)
    stored = rows_upsert(QaContact, rows, scope="stream_id", key="conversation_id")
    updated = children_replace(
        QaContactCustomField,
        [
            {
                "contact_id": stored[record.conversation_id].pk,
                "stream_id": stream.pk,
                "key": key,
                "value": value,
                "started_at": record.started_at,
                "direction": record.direction,
                "duration_ms": record.duration_ms,
            }
            for record in records
            for key, value in record.custom_fields.items()
        ],
        parent="contact_id",
        stored=stored,
    )
    changes_record(
        account_id=stream.account_id,
        dataset="qa_contacts",
        keys=[f"{stream.bot_id}/{record.conversation_id}" for record in records],
    )
    contact_days_mark(stream_days=[
        *((stream.pk, record.started_at) for record in records),
        *((stream.pk, row.previous_start) for row in stored.values() if row.previous_start is not None),
    ])
    return len(stored) - updated, updated


def contacts_ingest(*, stream: Bot, records: list[Any]) -> IngestResult:
    """Validate ``records`` (raw, as sent) and upsert the valid ones of ``stream`` by Conversation ID.

    What ``POST /api/v1/ingest/qualityai/{streamId}/contacts``, ``import_qualityai`` and ``seed_demo`` call.
    """
    batch = batch_validate(records, check=contact_record_check, key=lambda record: record.conversation_id)
    result = batch_upsert(batch, upsert=partial(contacts_upsert, stream=stream))
    ingestion_count(dataset="qa_contacts", records=len(records), rejected=len(result.rejected))
    return result


def contacts_import(
    *, stream: Bot, path: Path, progress: IO[str] | None = None, writers: int = IMPORT_WRITERS
) -> ImportReport:
    return import_jsonl(
        path=path, ingest=lambda records: contacts_ingest(stream=stream, records=records),
        keys=("Conversation ID",), progress=progress, writers=writers,
    )


def stream_settings_set(*, stream: Bot, min_duration_seconds: int) -> StreamSettings:
    if not 0 <= min_duration_seconds <= MAX_MIN_DURATION_SECONDS:
        raise ApiError(
            f"The minimum duration must be 0 to {MAX_MIN_DURATION_SECONDS} seconds, "
            f"not {min_duration_seconds}.",
            code="invalid",
            field="min_duration_seconds",
        )
    with transaction.atomic():
        settings, _created = StreamSettings.objects.update_or_create(
            stream=stream, defaults={"min_duration_seconds": min_duration_seconds}
        )
        # Every contact's duration_status may have changed: the feed serves them again, and the
        # kept day counts of contacts not below the minimum are counted again.
        changes_record_qa_contacts(account_id=stream.account_id, stream_id=stream.pk)
        stream_days_mark(stream_id=stream.pk)
    return settings
