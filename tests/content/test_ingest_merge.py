"""Content ingestion over stored content: sections replace or are kept, append merges by id, events append."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content.checks import MAX_STORED_MESSAGES
from content.models import EventLog, Status, Transcript, VoiceTurns
from tests.conftest import Tenant
from tests.content.factories import BASE, utc_ms
from tests.content.ingest_helpers import (
    ContentRecordFactory,
    document_start_updates,
    event,
    message,
    send,
    stored,
)


def _ids(tenant: Tenant, session_id: str) -> list[str]:
    return [item["id"] for item in Transcript.objects.get(conversation=stored(tenant, session_id)).messages]


def test_append_stores_the_same_message_once_and_ends_in_time_order(tenant: Tenant) -> None:
    record = {"sessionId": "live", "transcriptMode": "append", "transcript": [message(5), message(1)]}
    assert send(tenant, [record]).json() == {"created": 1, "updated": 0, "rejected": []}
    # Out of order, and one message again with a corrected text.
    later = {**record, "transcript": [message(3), message(5, text="edited"), message(2, seconds=3)]}
    assert send(tenant, [later]).json() == {"created": 0, "updated": 1, "rejected": []}
    assert send(tenant, [later]).json() == {"created": 0, "updated": 1, "rejected": []}
    # m2 and m3 share a time: then id order.
    assert _ids(tenant, "live") == ["m1", "m2", "m3", "m5"]
    messages = Transcript.objects.get().messages
    assert messages[-1]["text"] == "edited"
    assert stored(tenant, "live").message_count == 4
    assert Transcript.objects.count() == 1


def test_the_batch_sets_the_default_mode_and_a_record_overrides_it(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "a", "transcript": [message(1)]}, {"sessionId": "b", "transcript": [message(1)]}])
    response = send(tenant, [
        {"sessionId": "a", "transcript": [message(2)]},
        {"sessionId": "b", "transcript": [message(2)], "transcriptMode": "replace"},
    ], transcriptMode="append")
    assert response.json() == {"created": 0, "updated": 2, "rejected": []}
    assert _ids(tenant, "a") == ["m1", "m2"]
    assert _ids(tenant, "b") == ["m2"]


def test_a_batch_mode_other_than_replace_or_append_is_a_400(tenant: Tenant) -> None:
    response = send(tenant, [{"sessionId": "a"}], transcriptMode="merge")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"msg": 'transcriptMode must be "replace" or "append".', "code": "invalid_choice", "field": "transcriptMode"}
    ]


def test_replace_mode_replaces_the_transcript(tenant: Tenant) -> None:
    record = ContentRecordFactory(sessionId="r")
    send(tenant, [record])
    send(tenant, [{"sessionId": "r", "transcript": [message(9)]}])
    assert _ids(tenant, "r") == ["m9"]
    assert stored(tenant, "r").message_count == 1


def test_a_section_absent_is_kept(tenant: Tenant) -> None:
    first = ContentRecordFactory(
        sessionId="k", status="error", errorMessage="LLM down", smartStatus="llm", language="de",
        csat={"score": 2}, like=True, sentiment={"overall": "negative"},
        flags=[{"id": "f1", "source": "ai_review"}], notes=[{"id": "n1", "text": "n"}],
        events=[event(1)], voiceTurns=[{"turn": 1}],
    )
    send(tenant, [first])
    before = stored(tenant, "k")
    assert send(tenant, [{"sessionId": "k", "nps": {"score": 9}}]).json()["updated"] == 1
    after = stored(tenant, "k")
    for name in ("status", "error_message", "smart_status", "language", "csat_score", "liked", "sentiment",
                 "flagged", "message_count", "started_at"):
        assert getattr(after, name) == getattr(before, name), name
    assert after.sections == {**before.sections, "nps": {"score": 9}}
    assert (after.nps_score, after.nps_asked) == (9, True)
    assert _ids(tenant, "k") == ["m1", "m2", "m3"]
    assert len(EventLog.objects.get().events) == 1
    assert VoiceTurns.objects.get().turns == [{"turn": 1}]
    # A status section present replaces the whole of it.
    send(tenant, [{"sessionId": "k", "status": "completed"}])
    after = stored(tenant, "k")
    assert (after.status, after.smart_status, after.error_message) == ("completed", None, None)
    send(tenant, [{"sessionId": "k", "flags": []}])
    assert stored(tenant, "k").flagged is False


def test_events_are_always_appended_by_id(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "e", "events": [event(3), event(1)]}])
    send(tenant, [{"sessionId": "e", "events": [event(2, "agent_joined"), event(3, "agent_left")]}])
    events = EventLog.objects.get().events
    assert [(item["id"], item["type"]) for item in events] == [
        ("e1", "routing_initiated"), ("e2", "agent_joined"), ("e3", "agent_left")]


def test_append_merges_voice_turns_by_number(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "v", "transcriptMode": "append", "voiceTurns": [{"turn": 2}]}])
    send(tenant, [{"sessionId": "v", "transcriptMode": "append",
                   "voiceTurns": [{"turn": 1}, {"turn": 2, "firstAudioHeard": "2025-09-30T06:00:00Z"}]}])
    assert VoiceTurns.objects.get().turns == [{"turn": 1}, {"turn": 2, "firstAudioHeard": "2025-09-30T06:00:00.000Z"}]
    send(tenant, [{"sessionId": "v", "voiceTurns": [{"turn": 3}]}])
    assert VoiceTurns.objects.get().turns == [{"turn": 3}]


def test_a_content_only_conversation_is_in_progress_from_its_first_message_or_event(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "c", "transcriptMode": "append", "transcript": [message(30)],
                   "events": [event(20)]}])
    row = stored(tenant, "c")
    assert (row.status, row.started_at, row.ended_at, row.start_from_interaction) == (
        Status.IN_PROGRESS, BASE + timedelta(seconds=20), None, False)
    # An earlier message moves the start back; a completed status gives the end (the last time known).
    send(tenant, [{"sessionId": "c", "transcriptMode": "append", "transcript": [message(10), message(40)],
                   "status": "completed_user_hangup"}])
    row = stored(tenant, "c")
    assert (row.started_at, row.ended_at) == (BASE + timedelta(seconds=10), BASE + timedelta(seconds=40))


@time_machine.travel("2025-10-01T09:00:00Z", tick=False)
def test_a_record_without_times_starts_at_its_ingestion(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "t", "status": "completed"}])
    row = stored(tenant, "t")
    assert utc_ms(row.started_at) == "2025-10-01T09:00:00.000Z"
    assert not Transcript.objects.exists()


def test_an_append_that_would_pass_the_stored_cap_is_rejected_alone(tenant: Tenant, settings: object) -> None:
    chunk = 2000
    for start in range(0, MAX_STORED_MESSAGES, chunk):
        batch = [message(number) for number in range(start, start + chunk)]
        assert send(tenant, [{"sessionId": "big", "transcriptMode": "append", "transcript": batch}]).json()[
            "rejected"] == []
    response = send(tenant, [
        {"sessionId": "big", "transcriptMode": "append", "transcript": [message(MAX_STORED_MESSAGES + 1)],
         "status": "completed"},
        {"sessionId": "other", "transcript": [message(1)]},
    ])
    assert response.json() == {"created": 1, "updated": 0, "rejected": [{"index": 0, "errors": [{
        "msg": "This would make the conversation's transcript longer than 10,000 items: nothing of the record was "
               "stored.", "code": "too_many", "field": "transcript"}]}]}
    row = stored(tenant, "big")
    assert (row.message_count, row.status) == (MAX_STORED_MESSAGES, Status.IN_PROGRESS)
    # The same message again is no growth: accepted.
    again = send(tenant, [{"sessionId": "big", "transcriptMode": "append", "transcript": [message(5)]}])
    assert again.json()["updated"] == 1


def test_an_earlier_message_moves_the_start_and_the_documents_the_batch_does_not_carry(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "moving", "transcript": [message(5)], "events": [event(6)]}])
    assert stored(tenant, "moving").started_at == BASE + timedelta(seconds=5)
    response = send(tenant, [{"sessionId": "moving", "transcriptMode": "append", "transcript": [message(2)]}])
    assert response.json() == {"created": 0, "updated": 1, "rejected": []}
    row = stored(tenant, "moving")
    assert row.started_at == BASE + timedelta(seconds=2)
    # The event log was not in this batch: it follows the start (its partition key) all the same.
    assert EventLog.objects.get(conversation=row).started_at == row.started_at
    assert Transcript.objects.get(conversation=row).started_at == row.started_at


def test_content_sent_again_at_the_same_start_rewrites_no_document_start(tenant: Tenant) -> None:
    record = {"sessionId": "again", "transcript": [message(1)], "events": [event(2)]}
    send(tenant, [record])
    with CaptureQueriesContext(connection) as queries:
        response = send(tenant, [{**record, "status": "completed"}])
    assert response.json() == {"created": 0, "updated": 1, "rejected": []}
    assert document_start_updates(queries) == []
    row = stored(tenant, "again")
    assert row.status == Status.COMPLETED
    assert EventLog.objects.get(conversation=row).started_at == row.started_at == BASE + timedelta(seconds=1)
