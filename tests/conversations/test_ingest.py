"""POST /api/v1/ingest/interactions: records checked alone, upserts, mixed batches (docs/contract.md#ingestion)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics_api.models import ApiClient
from content.models import Conversation
from conversations.models import Interaction, InteractionQueue
from recordings.models import Recording, RecordingFile
from recordings.services import SourceRegistration
from recordings.source_rules import CONTROL_CHARACTERS_IN_URL
from tests.conftest import Tenant
from tests.conversations.conftest import INGEST, details
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory, SessionRecordFactory


def send(tenant: Tenant, records: Any) -> Any:
    return tenant.post(INGEST, {"records": records})


def test_records_are_created_then_updated_never_duplicated(tenant: Tenant, window: dict[str, Any]) -> None:
    records = [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(3)]
    first = send(tenant, records)
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 3, "updated": 0, "rejected": []}

    records[0]["finalStatus"] = "ABANDONED"
    again = send(tenant, [records[0], ConversationRecordFactory(botId=tenant.bot.bot_id)])
    assert again.json() == {"created": 1, "updated": 1, "rejected": []}
    assert Interaction.objects.filter(account=tenant.account).count() == 4
    stored = Interaction.objects.get(account=tenant.account, session_id=records[0]["sessionId"])
    assert stored.document["finalStatus"] == "ABANDONED"
    assert send(tenant, records).json() == {"created": 0, "updated": 3, "rejected": []}
    assert Interaction.objects.count() == 4


def test_duplicates_inside_a_batch_behave_as_if_sent_in_turn(tenant: Tenant) -> None:
    record = SessionRecordFactory(botId=tenant.bot.bot_id)
    response = send(tenant, [record, {**record, "finalStatus": "last"}])
    assert response.json() == {"created": 1, "updated": 0, "rejected": []}
    assert Interaction.objects.get().document["finalStatus"] == "last"


def test_columns_are_indexed_from_the_record(tenant: Tenant) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, sessionStartTime="2025-09-30T11:40:31.5+05:30",
                                       sessionEndTime="2025-09-30T06:20:00Z", channel="Voice")
    assert send(tenant, [record]).json()["created"] == 1
    stored = Interaction.objects.get()
    assert (stored.session_id, stored.conversation_id, stored.channel, stored.bot_id) == (
        record["sessionId"], record["conversationId"], "voice", tenant.bot.bot_id)
    assert stored.session_start.isoformat() == "2025-09-30T06:10:31.500000+00:00"
    assert stored.document["sessionStartTime"] == "2025-09-30T06:10:31.500Z"
    assert stored.document["channel"] == "Voice"


def test_a_mixed_batch_stores_the_valid_records_and_reports_the_others(tenant: Tenant, outsider: Tenant) -> None:
    good = SessionRecordFactory(botId=tenant.bot.bot_id)
    naive = SessionRecordFactory(botId=tenant.bot.bot_id, sessionStartTime="2025-09-30T06:10:31")
    foreign = SessionRecordFactory(botId=outsider.bot.bot_id)
    nested = ConversationRecordFactory(botId=tenant.bot.bot_id)
    nested["destinations"][0]["EnterTime"] = "2025-09-30 06:10:31"
    nested["destinations"][0]["respondingAgent"]["ConsultingAgents"][0]["acceptedTime"] = "yesterday"
    response = send(tenant, [good, naive, foreign, "not an object", nested, {}])
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"]) == (1, 0)
    assert body["rejected"] == [
        {"index": 1, "errors": [
            {"msg": "The time '2025-09-30T06:10:31' has no time zone: add Z (UTC) or an explicit offset such as "
                    "+05:30.", "code": "invalid_time", "field": "sessionStartTime"}]},
        {"index": 2, "errors": [
            {"msg": f"{outsider.bot.bot_id!r} is not a bot of this account.", "code": "unknown_bot",
             "field": "botId"}]},
        {"index": 3, "errors": [{"msg": "A record must be a JSON object.", "code": "invalid_type"}]},
        {"index": 4, "errors": [
            {"msg": "The time '2025-09-30 06:10:31' has no time zone: add Z (UTC) or an explicit offset such as "
                    "+05:30.", "code": "invalid_time", "field": "destinations[0].EnterTime"},
            {"msg": "The time 'yesterday' must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.",
             "code": "invalid_time", "field": "destinations[0].respondingAgent.ConsultingAgents[0].acceptedTime"}]},
        {"index": 5, "errors": [
            {"msg": "This field is required.", "code": "required", "field": "sessionId"},
            {"msg": "This field is required.", "code": "required", "field": "channel"},
            {"msg": "This field is required.", "code": "required", "field": "botId"},
            {"msg": "This field is required.", "code": "required", "field": "sessionStartTime"}]},
    ]
    assert list(Interaction.objects.values_list("session_id", flat=True)) == [good["sessionId"]]


@pytest.mark.parametrize(
    ("change", "field", "msg"),
    [
        ({"channel": "sms"}, "channel",
         "Unknown channel 'sms': use rtm (Web/Mobile Client), voice (Voice) or email (System Mail)."),
        ({"sessionEndTime": "2025-09-30T05:00:00Z"}, "sessionEndTime", "sessionEndTime is before sessionStartTime."),
        ({"destinations": [{"queueId": "qu-1"}]}, "destinations[0].destinationType",
         "A destination needs destinationType QueueEntry or AgentSegment."),
        ({"destinations": [{"destinationType": "QueueEntry"}]}, "destinations[0].queueId", "This field is required."),
        ({"userleveltags": [{"value": "1"}]}, "userleveltags[0].name", "This field is required."),
        ({"dispositions": "Resolved"}, "dispositions", 'Expected a list of items but got type "str".'),
        ({"recordingSources": [{"url": "https://r.example/a.wav", "channel": "mixed"}]}, "recordingSources",
         "Only voice records carry recordingSources."),
    ],
)
def test_invalid_records_are_rejected_with_their_reason(tenant: Tenant, change: dict[str, Any], field: str,
                                                        msg: str) -> None:
    record = {**SessionRecordFactory(botId=tenant.bot.bot_id), **change}
    body = send(tenant, [record]).json()
    assert [(error["field"], error["msg"]) for error in body["rejected"][0]["errors"]] == [(field, msg)]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("source", "field", "msg"),
    [
        ({"url": "file:///etc/passwd", "channel": "mixed"}, "recordingSources[0].url",
         "A recording source must be an http, https or s3 address."),
        ({"url": "https://r.example/a.wav", "channel": "stereo"}, "recordingSources[0].channel",
         "channel must be mixed, agent or customer, not 'stereo'."),
        ({"url": "https://r.example/a.wav\r\n2026-03-02 10:00:00 CRITICAL forged", "channel": "mixed"},
         "recordingSources[0].url", CONTROL_CHARACTERS_IN_URL),
        ({"url": "https://r.example/a\x1b[2J.wav", "channel": "mixed"}, "recordingSources[0].url",
         CONTROL_CHARACTERS_IN_URL),
        ({"url": "https://r.example/a\u2028b\u202e.wav", "channel": "mixed"}, "recordingSources[0].url",
         CONTROL_CHARACTERS_IN_URL),
    ],
)
def test_invalid_recording_sources_are_rejected(tenant: Tenant, source: dict[str, str], field: str, msg: str) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, recordingSources=[source])
    body = send(tenant, [record]).json()
    assert [(error["field"], error["msg"]) for error in body["rejected"][0]["errors"]] == [(field, msg)]
    assert not Interaction.objects.exists()
    assert not Recording.objects.exists()


def test_recording_sources_are_stored_registered_and_never_served(
    tenant: Tenant, window: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "conversations.services.recording_sources_register_batch", lambda **kwargs: calls.append(kwargs)
    )
    sources = [{"url": "https://rec.example/call.wav", "channel": "mixed"}]
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, recordingSources=sources)
    assert send(tenant, [record]).json()["created"] == 1
    stored = Interaction.objects.get()
    assert stored.recording_sources == sources
    assert "recordingSources" not in stored.document
    assert calls == [{"account": tenant.account, "registrations": [
        SourceRegistration(conversation_id=record["conversationId"], call_ended_at=stored.session_end, sources=sources)
    ]}]
    assert "recordingSources" not in details(tenant, window).json()["data"][0]


def test_recording_sources_reach_the_recordings_app(tenant: Tenant) -> None:
    record = ConversationRecordFactory(
        botId=tenant.bot.bot_id, recordingSources=[{"url": "https://rec.example/call.wav", "channel": "agent"}]
    )
    del record["conversationId"]
    assert send(tenant, [record]).json()["created"] == 1
    assert Recording.objects.filter(account=tenant.account, conversation_id=record["sessionId"]).exists()


def test_update_replaces_the_queue_links(tenant: Tenant, window: dict[str, Any]) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, destinations=[QueueEntryFactory(queueId="qu-old")])
    send(tenant, [record])
    record["destinations"] = [QueueEntryFactory(queueId="qu-new"), QueueEntryFactory(queueId="qu-new")]
    send(tenant, [record])
    assert list(InteractionQueue.objects.values_list("queue_id", flat=True)) == ["qu-new"]
    assert details(tenant, {**window, "queues": ["qu-old"]}).json()["numResults"] == 0
    assert details(tenant, {**window, "queues": ["qu-new"]}).json()["numResults"] == 1


def test_nulls_are_dropped_and_unknown_fields_kept(tenant: Tenant, window: dict[str, Any]) -> None:
    record = SessionRecordFactory(botId=tenant.bot.bot_id, reason=None, customField={"a": 1})
    send(tenant, [record])
    served = details(tenant, window).json()["data"][0]
    assert "reason" not in served
    assert served["customField"] == {"a": 1}


def test_sending_the_same_session_in_two_accounts_keeps_them_apart(tenant: Tenant, outsider: Tenant) -> None:
    send(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, sessionId="same")])
    assert send(outsider, [SessionRecordFactory(botId=outsider.bot.bot_id, sessionId="same")]).json()["created"] == 1
    assert Interaction.objects.filter(session_id="same").count() == 2


def test_batch_size_limits(tenant: Tenant) -> None:
    record = SessionRecordFactory(botId=tenant.bot.bot_id)
    too_many = tenant.post(INGEST, {"records": [record] * 1001})
    assert too_many.status_code == 400
    assert too_many.json()["errors"] == [
        {"msg": "A batch holds at most 1000 records: split it into several requests.", "code": "too_many",
         "field": "records"}
    ]
    empty = tenant.post(INGEST, {"records": []})
    assert empty.json()["errors"] == [{"msg": "Send at least one record.", "code": "empty", "field": "records"}]
    assert tenant.post(INGEST, {"record": [record]}).json()["errors"][0]["field"] == "records"
    assert not Interaction.objects.exists()


def test_a_batch_is_a_constant_number_of_queries(tenant: Tenant, django_assert_max_num_queries: Any) -> None:
    records = [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(200)]
    # The interactions' conversations (content.Conversation, their agents, their documents' start) and
    # their search index (a savepoint, two deletes, three reads, two inserts) are written in the same
    # transaction; SQLite splits each insert of 200 wide rows in a few statements.
    with django_assert_max_num_queries(36):
        assert send(tenant, records).json()["created"] == 200
    with django_assert_max_num_queries(36):
        assert send(tenant, records).json()["updated"] == 200


def test_a_batch_with_recording_sources_is_a_constant_number_of_queries(
    tenant: Tenant, django_assert_num_queries: Any
) -> None:
    def voice(count: int) -> list[dict[str, Any]]:
        return [
            ConversationRecordFactory(
                botId=tenant.bot.bot_id,
                recordingSources=[{"url": f"https://rec.example/{index}.wav", "channel": "mixed"}],
            )
            for index in range(count)
        ]

    # Warm-up: the API client is read once per process, then served from the client cache.
    assert send(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)]).json()["created"] == 1
    with CaptureQueriesContext(connection) as one:
        assert send(tenant, voice(1)).json()["created"] == 1
    # On SQLite Django splits an insert into batches within its 999-variable limit; on PostgreSQL
    # each insert is one statement.
    batch = connection.ops.bulk_batch_size(RecordingFile._meta.concrete_fields, [None] * 50)
    # So are the interactions' conversations (content.Conversation, written in the same transaction).
    conversations = connection.ops.bulk_batch_size(Conversation._meta.concrete_fields, [None] * 50)
    with django_assert_num_queries(len(one) + math.ceil(50 / batch) - 1 + math.ceil(50 / conversations) - 1):
        assert send(tenant, voice(50)).json()["created"] == 50
    assert RecordingFile.objects.count() == 51


def test_ingestion_needs_the_ingest_scope(tenant: Tenant) -> None:
    ApiClient.objects.filter(pk=tenant.api_client.pk).update(scopes=["smartassist.analytics"])
    tenant.api_client.refresh_from_db()
    response = send(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    assert response.status_code == 403
    assert response.json()["errors"][0]["msg"] == "This API client lacks the scope 'ingest'."
    assert not Interaction.objects.exists()
