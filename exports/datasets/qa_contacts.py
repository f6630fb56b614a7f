"""The ``qa_contacts`` dataset: results exactly as rawdata serves them (docs/contract.md#export-datasets),
every stream of the account (or the one named by ``streamId``), read with a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q
from rest_framework import serializers

from analytics_api.kernel.fields import json_text
from analytics_api.kernel.read_ahead import rows_in_chunks
from analytics_api.kernel.validation import Invalid
from analytics_api.models import Account, Scope
from analytics_api.tenancy.access import account_bot
from exports.registry import Column, Dataset, ExportWindow, Record, blocks_of, field
from qualityai.rendering import SERVED_RESULTS, contact_result, served_result
from qualityai.selectors import RawdataQuery, contact_queryset, stream_min_duration_ms
from qualityai.serializers import RawdataQuerySerializer
from qualityai.statements import PAGE_ORDER
from recordings.selectors import recording_links


class ExportContactFilters(RawdataQuerySerializer):
    """rawdata's body filters without its window and paging; ``streamId`` narrows to one stream."""

    offset = None
    startDate = None
    endDate = None
    limit = None
    page = None
    streamId = serializers.CharField(required=False, max_length=64, help_text="One stream; default every stream")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


def contact_filters_check(data: Any, account: Account) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid([serializers.ErrorDetail("filters must be an object.", "invalid")])
    filters = ExportContactFilters(data=data)
    if not filters.is_valid():
        raise Invalid(filters.errors)
    valid = filters.validated_data
    stream_id = valid.get("streamId")
    if stream_id is not None:
        account_bot(account, stream_id, field="filters.streamId")
    return {
        "custom_fields": valid.get("custom_fields", {}),
        "contact_direction": valid.get("contact_direction"),
        "include_below_threshold": valid["include_below_threshold"],
        "streamId": stream_id,
    }


def _records(window: ExportWindow, chunk: int) -> Iterator[Record]:
    """Stream by stream (in bot id order), each stream's contacts in rawdata's page order after the
    resume key, completed in chunks exactly as a rawdata page completes them (duration status at the
    stream's current minimum, recording links)."""
    filters = window.filters
    query = RawdataQuery(
        start=window.start, end=window.end, skip=0, limit=1,
        include_below_threshold=filters["include_below_threshold"], direction=filters["contact_direction"],
        custom_fields=filters["custom_fields"],
    )
    streams = window.account.bots.order_by("bot_id")
    if filters["streamId"] is not None:
        streams = streams.filter(bot_id=filters["streamId"])
    after = window.after
    if after:
        streams = streams.filter(bot_id__gte=after[0])
    for stream in streams:
        min_duration_ms = stream_min_duration_ms(stream_id=stream.pk)
        contacts = contact_queryset(stream=stream, query=query, min_duration_ms=min_duration_ms)
        if after and after[0] == stream.bot_id:
            started, conversation_id = datetime.fromisoformat(after[1]), after[2]
            contacts = contacts.filter(
                Q(started_at__gt=started) | Q(started_at=started, conversation_id__gt=conversation_id)
            )
        columns = contacts.order_by(*PAGE_ORDER).values_list(
            "pk", "conversation_id", "started_at", "duration_ms", SERVED_RESULTS.current_text()
        )
        for batch in rows_in_chunks(columns, chunk=chunk):
            links = recording_links(account=window.account, conversation_ids=[row[1] for row in batch])
            unrendered = SERVED_RESULTS.unrendered((row[0], row[4]) for row in batch)
            for pk, cid, started, duration_ms, text in batch:
                if text is not None:
                    result = served_result(
                        text, duration_ms=duration_ms, min_duration_ms=min_duration_ms, recordings=links.get(cid)
                    )
                else:
                    result = json_text(
                        contact_result(unrendered[pk], min_duration_ms=min_duration_ms, recordings=links.get(cid))
                    )
                yield [stream.bot_id, started.isoformat(), cid], result


QA_CONTACTS = Dataset(
    name="qa_contacts",
    read_scope=Scope.QUALITYAI.value,
    description="Contacts as rawdata serves them, every stream of the account unless streamId names one",
    filters_check=contact_filters_check,
    blocks=lambda window, chunk: blocks_of(_records(window, chunk), chunk),
    columns=(
        Column("streamId", "The stream (bot/app) id", lambda key, _record: key[0]),
        field("conversationId", "Conversation ID", "Conversation ID"),
        field("customConversationId", "customConversationId, when set at ingestion"),
        field("contactDirection", "inbound or outbound"),
        field("conversationStartTime", "Conversation Start Time (UTC, ms, Z)", "Conversation Start Time"),
        field("conversationEndTime", "Conversation End Time (UTC, ms, Z)", "Conversation End Time"),
        field("duration", "Duration (\"<ms> milliseconds\")", "Duration"),
        field("durationStatus", "duration_status", "duration_status"),
        field("koreEvaluationScore", "Kore Evaluation Score (a number, or NA)", "Kore Evaluation Score"),
        field("auditStatus", "Audit Status", "Audit Status"),
        field("language", "Language", "Language"),
    ),
)


