"""Writes for Quality AI: contact ingestion (through the shared batch mechanism) and stream settings."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import IO, Any

from analytics_api.errors import ApiError
from analytics_api.ingestion import ImportReport, IngestResult, RecordKind, batch_ingest, import_jsonl
from analytics_api.models import Bot
from qualityai.models import MAX_MIN_DURATION_SECONDS, QaContact, QaContactCustomField, StreamSettings
from qualityai.rendering import contact_prerender
from qualityai.serializers import ContactRecord, ContactRecordSerializer

_UPDATED_COLUMNS = [
    "started_at", "ended_at", "direction", "direction_defaulted", "duration_ms", "audit_complete",
    "document", "served", "updated_at",
]


def contacts_upsert(records: list[ContactRecord], *, stream: Bot) -> tuple[int, int]:
    """Insert or update contacts on (stream, Conversation ID) in a fixed number of statements.

    1. Find which conversation ids the stream already has (they are the updates).
    2. Insert-or-update every contact in one ``INSERT ... ON CONFLICT DO UPDATE``.
    3. Replace the custom-field rows of all these contacts: delete theirs, insert the new ones.
    """
    ids = [record.conversation_id for record in records]
    existing = set(
        QaContact.objects.filter(stream=stream, conversation_id__in=ids).values_list("conversation_id", flat=True)
    )
    contacts = [
        QaContact(
            account_id=stream.account_id,
            stream=stream,
            conversation_id=record.conversation_id,
            started_at=record.started_at,
            ended_at=record.ended_at,
            direction=record.direction,
            direction_defaulted=record.direction_defaulted,
            duration_ms=record.duration_ms,
            audit_complete=record.audit_complete,
            document=record.document,
        )
        for record in records
    ]
    for contact in contacts:
        contact.served = contact_prerender(contact)
    QaContact.objects.bulk_create(
        contacts,
        update_conflicts=True,
        unique_fields=["stream", "conversation_id"],
        update_fields=_UPDATED_COLUMNS,
    )
    pks = dict(
        QaContact.objects.filter(stream=stream, conversation_id__in=ids).values_list("conversation_id", "pk")
    )
    QaContactCustomField.objects.filter(contact_id__in=pks.values()).delete()
    QaContactCustomField.objects.bulk_create(
        [
            QaContactCustomField(
                contact_id=pks[record.conversation_id], stream=stream, key=key, value=value,
                started_at=record.started_at,
            )
            for record in records
            for key, value in record.custom_fields.items()
        ]
    )
    return len(records) - len(existing), len(existing)


def contact_kind(*, stream: Bot) -> RecordKind[ContactRecord]:
    """Quality AI contacts of one stream, for :func:`analytics_api.ingestion.batch_ingest`."""
    return RecordKind(
        validator=ContactRecordSerializer,
        upsert=partial(contacts_upsert, stream=stream),
        key=lambda record: record.conversation_id,
    )


def contacts_ingest(*, stream: Bot, records: list[Any]) -> IngestResult:
    return batch_ingest(kind=contact_kind(stream=stream), records=records, context={"stream": stream})


def contacts_import(*, stream: Bot, path: Path, progress: IO[str] | None = None) -> ImportReport:
    return import_jsonl(path=path, kind=contact_kind(stream=stream), context={"stream": stream}, progress=progress)


def stream_settings_set(*, stream: Bot, min_duration_seconds: int) -> StreamSettings:
    if not 0 <= min_duration_seconds <= MAX_MIN_DURATION_SECONDS:
        raise ApiError(
            f"The minimum duration must be 0 to {MAX_MIN_DURATION_SECONDS} seconds, "
            f"not {min_duration_seconds}.",
            code="invalid",
            field="min_duration_seconds",
        )
    settings, _created = StreamSettings.objects.update_or_create(
        stream=stream, defaults={"min_duration_seconds": min_duration_seconds}
    )
    return settings
