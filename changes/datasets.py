"""The datasets of the change feed and of counts (docs/contract.md#change-feed): one registry.

A dataset names its read scope (that of its documented endpoint), how to serve the current
records of a page of keys, and what counts read (the records, their key and their time). Adding
a dataset is adding one :class:`Dataset` to :data:`DATASETS` (its writes call
``changes.services.changes_record``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat

from analytics_api.kernel.fields import json_text
from analytics_api.kernel.partitions import keyed
from analytics_api.models import Account, Bot, Scope
from content.models import Conversation
from content.selectors import conversation_details
from conversations.documents import SECTIONS, SERVED_DOCUMENTS, document_render, served_record
from conversations.models import Interaction
from qualityai.models import DEFAULT_MIN_DURATION_SECONDS, QaContact, StreamSettings
from qualityai.rendering import SERVED_RESULTS, contact_result, served_result
from recordings.selectors import recording_links
from supervision.masking import Masker, account_obscures

# Every optional section, unfiltered: the feed serves whole records.
_ALL_SECTIONS: Mapping[str, list[str]] = {name: [] for name in SECTIONS}


@dataclass(frozen=True)
class Dataset:
    name: str
    read_scope: str
    # (account, keys) → {key: the current record as JSON text}; a key left out no longer exists.
    records: Callable[[Account, list[str]], dict[str, str]]
    # (account, validated filters) → the records counted, with ``key`` and ``time`` annotated.
    counted: Callable[[Account, Mapping[str, Any]], QuerySet[Any]]
    # The filters counts accept for this dataset (name → description, for the docs).
    filters: Mapping[str, str]
    # The key (dotted path) of the served record whose time places it in a counts bucket (UTC).
    time_key: str


def keys_table() -> str:
    """SQL of a table ``k(key)`` of the keys of a JSON array passed as one parameter: a page's 10,000
    keys as 10,000 placeholders (or an array) cost more to send than the query takes to run."""
    if connection.vendor == "postgresql":
        return "jsonb_array_elements_text(%s::jsonb) AS k(key)"
    return "(SELECT value AS key FROM json_each(%s)) AS k"


def interaction_records(account: Account, keys: list[str]) -> dict[str, str]:
    """The records as interactionDetails serves them with every section, at offset 0 (UTC); customer
    contacts masked when the account obscures them (supervision.masking), as interactionDetails does."""
    if account_obscures(account=account):
        documents = Interaction.objects.filter(account=account, session_id__in=keys).values_list(
            "session_id", "document"
        )
        return {
            key: json_text(document_render(Masker.of(document=document).value(document), offset=0,
                                           sections=_ALL_SECTIONS))
            for key, document in documents
        }
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.id, k.key, CASE WHEN i.served_version = %s THEN i.served END FROM {keys_table()} "
            + _interaction_join(),
            [SERVED_DOCUMENTS.version, json_text(keys), account.pk],
        )
        rows = cursor.fetchall()
    unrendered = SERVED_DOCUMENTS.unrendered((pk, text) for pk, _key, text in rows)
    return {
        key: served_record(text) if text is not None
        else json_text(document_render(unrendered[pk].document, offset=0, sections=_ALL_SECTIONS))
        for pk, key, text in rows
    }


def _interaction_join() -> str:
    """SQL joining ``k(key)`` to the account's interactions ``i`` of those session ids.

    On PostgreSQL through the key table (analytics_api.kernel.partitions): one probe of it gives
    each record's row id and start, so the record is then read from its one monthly partition
    instead of searched for in every one (a page of 10,000: 49 ms instead of 72 ms, EXPLAIN ANALYZE).
    """
    spec = keyed(Interaction._meta.db_table)
    if spec is None:
        return f"JOIN {Interaction._meta.db_table} i ON i.account_id = %s AND i.session_id = k.key"
    return (
        f"JOIN {spec.key_table} x ON x.{spec.scope} = %s AND x.{spec.key} = k.key "
        f"JOIN {Interaction._meta.db_table} i ON i.id = x.row_id AND i.{spec.column} = x.start"
    )


def interactions_counted(account: Account, filters: Mapping[str, Any]) -> QuerySet[Any]:
    rows = Interaction.objects.filter(account=account)
    if filters.get("channels"):
        rows = rows.filter(channel__in=filters["channels"])
    if filters.get("bots"):
        rows = rows.filter(bot_id__in=filters["bots"])
    return rows.annotate(key=F("session_id"), time=F("session_start"))


def qa_contact_key(stream_id: str, conversation_id: str) -> str:
    return f"{stream_id}/{conversation_id}"


def qa_contact_records(account: Account, keys: list[str]) -> dict[str, str]:
    """The results as rawdata serves them (duration status and recording links of now).

    1. Split the keys by stream (``<streamId>/<Conversation ID>``; a stream id holds no ``/``).
    2. One query for the streams, one for their minimum durations, one per stream for the
       contacts, one for the recording links.
    """
    wanted: dict[str, list[str]] = {}
    for key in keys:
        stream_id, _slash, conversation_id = key.partition("/")
        wanted.setdefault(stream_id, []).append(conversation_id)
    streams = {bot.bot_id: bot for bot in Bot.objects.filter(account=account, bot_id__in=list(wanted))}
    settings = StreamSettings.objects.filter(stream__in=list(streams.values()))
    minimum = dict(settings.values_list("stream_id", "min_duration_seconds"))
    rows: list[tuple[Bot, Any]] = []
    for stream_id, stream in streams.items():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.id, c.conversation_id, c.duration_ms, CASE WHEN c.served_version = %s THEN c.served END "
                f"FROM {keys_table()} JOIN {QaContact._meta.db_table} c "
                "ON c.stream_id = %s AND c.conversation_id = k.key",
                [SERVED_RESULTS.version, json_text(wanted[stream_id]), stream.pk],
            )
            rows.extend((stream, row) for row in cursor.fetchall())
    links = recording_links(account=account, conversation_ids=[row[1] for _stream, row in rows])
    unrendered = SERVED_RESULTS.unrendered((row[0], row[3]) for _stream, row in rows)
    out: dict[str, str] = {}
    for stream, (pk, conversation_id, duration_ms, text) in rows:
        min_ms = minimum.get(stream.pk, DEFAULT_MIN_DURATION_SECONDS) * 1000
        found = links.get(conversation_id)
        out[qa_contact_key(stream.bot_id, conversation_id)] = (
            served_result(text, duration_ms=duration_ms, min_duration_ms=min_ms, recordings=found)
            if text is not None
            else json_text(contact_result(unrendered[pk], min_duration_ms=min_ms, recordings=found))
        )
    return out


def qa_contacts_counted(account: Account, filters: Mapping[str, Any]) -> QuerySet[Any]:
    rows = QaContact.objects.filter(account=account)
    if filters.get("streamId"):
        rows = rows.filter(stream__bot_id=filters["streamId"])
    return rows.annotate(key=Concat(F("stream__bot_id"), Value("/"), F("conversation_id")), time=F("started_at"))


def conversation_records(account: Account, keys: list[str]) -> dict[str, str]:
    """The conversations as ``GET /api/v1/conversations/{sessionId}`` serves them (masked when the
    account obscures customer contacts), through the endpoint's own rendering: three queries a page."""
    rows = list(Conversation.objects.filter(account=account, session_id__in=keys))
    details = conversation_details(account=account, conversations=rows)
    return {row.session_id: json_text(detail) for row, detail in zip(rows, details, strict=True)}


def conversations_counted(account: Account, filters: Mapping[str, Any]) -> QuerySet[Any]:
    rows = Conversation.objects.filter(account=account)
    if filters.get("channels"):
        rows = rows.filter(channel__in=filters["channels"])
    return rows.annotate(key=F("session_id"), time=F("started_at"))


DATASETS: dict[str, Dataset] = {
    "interactions": Dataset(
        name="interactions",
        read_scope=Scope.ANALYTICS.value,
        records=interaction_records,
        counted=interactions_counted,
        filters={"channels": "channel codes (rtm, voice, email)", "bots": "bot ids"},
        time_key="sessionStartTime",
    ),
    "qa_contacts": Dataset(
        name="qa_contacts",
        read_scope=Scope.QUALITYAI.value,
        records=qa_contact_records,
        counted=qa_contacts_counted,
        filters={"streamId": "one stream (bot/app id)"},
        time_key="Conversation Start Time",
    ),
    "conversations": Dataset(
        name="conversations",
        read_scope=Scope.CONVERSATIONS_READ.value,
        records=conversation_records,
        counted=conversations_counted,
        filters={"channels": "channel codes (rtm, voice, email)"},
        time_key="details.start",
    ),
}


def record_time(record: Mapping[str, Any], *, dataset: Dataset) -> datetime:
    """The UTC time of a served record that places it in a counts bucket."""
    value: Any = record
    for part in dataset.time_key.split("."):
        value = value[part]
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
