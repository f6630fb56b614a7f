"""POST /api/v1/ingest/conversations: every section stored, and refused with its exact message and path."""

from __future__ import annotations

from typing import Any

import pytest

from content.checks import RECORD_FIELDS
from content.models import Conversation, EventLog, Status, Transcript, VoiceTurns
from tests.conftest import Tenant
from tests.content.ingest_helpers import ContentRecordFactory, event, message, rejected_errors, send, stored

NO_ZONE = "time has no time zone: add Z (UTC) or an explicit offset such as +05:30."


@pytest.mark.parametrize("status", Status.values)
def test_each_status_is_stored_with_its_label(tenant: Tenant, status: str) -> None:
    record = ContentRecordFactory(status=status, smartStatus="Fine-grained")
    if status == Status.ERROR:
        record["errorMessage"] = "The LLM timed out"
    assert send(tenant, [record]).json() == {"created": 1, "updated": 0, "rejected": []}
    row = stored(tenant, record["sessionId"])
    assert (row.status, row.smart_status) == (status, "Fine-grained")
    assert row.error_message == ("The LLM timed out" if status == Status.ERROR else None)
    assert row.get_status_display() == {
        "in_progress": "In Progress", "error": "Error", "completed_drop_off": "Completed (Drop Off)",
        "completed_user_hangup": "Completed (User Hangup)",
        "completed_ai_agent_hangup": "Completed (AI Agents Hangup)", "completed": "Completed",
    }[status]


def test_every_small_section_is_stored(tenant: Tenant) -> None:
    record = ContentRecordFactory(
        language="fr",
        csat={"score": 4, "feedback": "Quick"},
        nps={"score": 0},
        like=False,
        sentiment={"overall": "mixed", "emotions": ["gratitude", "frustration"]},
        flags=[{"id": "f1", "reason": "Promise", "source": "ai_review", "time": "2025-09-30T08:00:00+02:00"}],
        notes=[{"id": "n1", "time": "2025-09-30T06:01:00Z", "author": "Jane", "text": "Call back"}],
        snooze={"count": 2, "durationSeconds": 600},
        campaign={"name": "Spring", "instanceId": "ci-1"},
        mode="voice",
        joinedUsers=["u-1", {"id": "u-2", "name": "Sam"}],
        identifiers={"callId": "c1", "callConversationId": "cc1", "agentConversationId": "ac1",
                     "externalCallId": "x1", "caller": "+1415", "callee": "+1800"},
    )
    assert send(tenant, [record]).json()["created"] == 1
    row = stored(tenant, record["sessionId"])
    assert (row.language, row.csat_score, row.csat_asked, row.nps_score, row.nps_asked) == ("fr", 4, True, 0, True)
    assert (row.liked, row.like_asked, row.sentiment, row.flagged) == (False, True, "mixed", True)
    assert row.status == Status.IN_PROGRESS
    assert row.sections == {
        "csat": {"score": 4, "feedback": "Quick"},
        "nps": {"score": 0},
        "sentiment": {"overall": "mixed", "emotions": ["gratitude", "frustration"]},
        "flags": [{"id": "f1", "reason": "Promise", "source": "ai_review", "time": "2025-09-30T06:00:00.000Z"}],
        "notes": [{"id": "n1", "time": "2025-09-30T06:01:00.000Z", "author": "Jane", "text": "Call back"}],
        "snooze": {"count": 2, "durationSeconds": 600},
        "campaign": {"name": "Spring", "instanceId": "ci-1"},
        "mode": "voice",
        "joinedUsers": ["u-1", {"id": "u-2", "name": "Sam"}],
        "identifiers": {"callId": "c1", "callConversationId": "cc1", "agentConversationId": "ac1",
                        "externalCallId": "x1", "caller": "+1415", "callee": "+1800"},
    }


def test_null_scores_and_like_mean_asked_without_answer(tenant: Tenant) -> None:
    record = ContentRecordFactory(csat={"score": None}, nps={"score": None}, like=None)
    assert send(tenant, [record]).json()["created"] == 1
    row = stored(tenant, record["sessionId"])
    assert (row.csat_asked, row.csat_score, row.nps_asked, row.nps_score) == (True, None, True, None)
    assert (row.like_asked, row.liked) == (True, None)
    assert row.sections["csat"] == {"score": None}
    unasked = ContentRecordFactory()
    send(tenant, [unasked])
    row = stored(tenant, unasked["sessionId"])
    assert (row.csat_asked, row.nps_asked, row.like_asked, row.sentiment, row.flagged) == (False, False, False,
                                                                                          None, False)


def test_transcript_events_and_turns_are_stored_in_utc_and_time_order(tenant: Tenant) -> None:
    email = {"subject": "Refund", "from": "a@example.com", "to": ["b@example.com"], "cc": ["c@example.com"],
             "bcc": ["d@example.com"]}
    record = ContentRecordFactory(
        transcript=[
            message(2, role="agent", agentId="a-1", agentName="Jane", email=email, kind="message"),
            {"id": "m1", "time": "2025-09-30T11:30:01+05:30", "role": "system", "kind": "transfer_to_agent",
             "text": "User transferred to Agent"},
            message(3, seconds=2, role="supervisor", kind="whisper"),
        ],
        events=[event(5, "conversation_closed", agentId="a-1", details={"disposition": "Resolved"}),
                event(4, "agent_joined", agentId="a-1", queueId="qu-1")],
        voiceTurns=[{"turn": 2, "userStoppedSpeaking": "2025-09-30T06:00:09Z"},
                    {"turn": 1, "userStoppedSpeaking": "2025-09-30T06:00:05Z",
                     "asrTranscriptReturned": "2025-09-30T06:00:05.450Z"}],
    )
    assert send(tenant, [record]).json()["created"] == 1
    row = stored(tenant, record["sessionId"])
    messages = Transcript.objects.get(conversation=row).messages
    assert [item["id"] for item in messages] == ["m1", "m2", "m3"]
    assert messages[0] == {"id": "m1", "time": "2025-09-30T06:00:01.000Z", "role": "system",
                           "kind": "transfer_to_agent", "text": "User transferred to Agent"}
    assert messages[1]["email"] == email and messages[1]["agentName"] == "Jane"
    assert messages[2]["kind"] == "whisper"
    assert [item["id"] for item in EventLog.objects.get(conversation=row).events] == ["e4", "e5"]
    assert VoiceTurns.objects.get(conversation=row).turns == [
        {"turn": 1, "userStoppedSpeaking": "2025-09-30T06:00:05.000Z",
         "asrTranscriptReturned": "2025-09-30T06:00:05.450Z"},
        {"turn": 2, "userStoppedSpeaking": "2025-09-30T06:00:09.000Z"},
    ]
    assert (row.message_count, row.channel) == (3, "voice")
    assert row.started_at.isoformat() == "2025-09-30T06:00:01+00:00"


INVALID = [
    ({"sessionId": ""}, [("sessionId must be a non-empty string of at most 128 characters.", "invalid", "sessionId")]),
    ({"status": "done"}, [("status must be one of in_progress, error, completed_drop_off, completed_user_hangup, "
                           "completed_ai_agent_hangup or completed, not 'done'.", "invalid_choice", "status")]),
    ({"smartStatus": "x"}, [("smartStatus belongs to the status section: send it with status.", "invalid",
                             "smartStatus")]),
    ({"status": "completed", "errorMessage": "boom"},
     [('errorMessage goes with status "error", not \'completed\'.', "invalid", "errorMessage")]),
    ({"language": ""}, [("language must be a non-empty string of at most 32 characters.", "invalid", "language")]),
    ({"csat": {"score": 6}}, [("csat.score must be an integer from 1 to 5, or null (asked, not answered).",
                               "out_of_range", "csat.score")]),
    ({"csat": {"score": "4"}}, [("csat.score must be an integer from 1 to 5, or null (asked, not answered).",
                                 "invalid", "csat.score")]),
    ({"nps": {"score": 11}}, [("nps.score must be an integer from 0 to 10, or null (asked, not answered).",
                               "out_of_range", "nps.score")]),
    ({"like": "yes"}, [("like must be true, false or null (asked, not answered).", "invalid", "like")]),
    ({"sentiment": {"overall": "happy"}}, [("sentiment.overall must be one of positive, neutral, negative or mixed, "
                                            "not 'happy'.", "invalid_choice", "sentiment.overall")]),
    ({"sentiment": {"emotions": ["joy"]}}, [("overall is required.", "required", "sentiment.overall")]),
    ({"flags": [{"id": "f1", "source": "robot"}]},
     [("source must be one of ai_review or supervisor, not 'robot'.", "invalid_choice", "flags[0].source")]),
    ({"flags": [{"id": "f", "source": "supervisor"}] * 51}, [("flags holds at most 50 items.", "too_many", "flags")]),
    ({"notes": [{"id": "n1"}]}, [("text is required.", "required", "notes[0].text")]),
    ({"notes": [{"id": "n1", "text": "x" * 4001}]},
     [("text must be a string of at most 4000 characters.", "invalid", "notes[0].text")]),
    ({"snooze": {"count": -1}}, [("snooze.count must be an integer from 0 to 1,000,000.", "out_of_range",
                                  "snooze.count")]),
    ({"campaign": {"name": 5}}, [("campaign.name must be a string of at most 200 characters.", "invalid",
                                  "campaign.name")]),
    ({"mode": ["chat"]}, [("mode must be a string of at most 200 characters.", "invalid", "mode")]),
    ({"joinedUsers": [5]}, [("A joined user is an object {id, name} or a string of at most 200 characters.",
                             "invalid", "joinedUsers[0]")]),
    ({"identifiers": {"callId": 1, "pin": "1"}},
     [("identifiers.callId must be a string of at most 200 characters.", "invalid", "identifiers.callId"),
      ("Unknown field 'pin': expected callId, callConversationId, agentConversationId, externalCallId, caller, "
       "callee.", "unknown_field", "identifiers.pin")]),
    ({"transcript": [{"id": "m1", "time": "2025-09-30T06:00:00", "role": "user", "kind": "chat"}]},
     [(NO_ZONE, "invalid", "transcript[0].time"),
      ("role must be one of customer, bot, agent, supervisor or system, not 'user'.", "invalid_choice",
       "transcript[0].role"),
      ("kind must be one of message, whisper, agent_ai, transfer_to_agent, transfer_to_automation, max_no_input, "
       "llm_error, hold_start or hold_end, not 'chat'.", "invalid_choice", "transcript[0].kind")]),
    ({"transcript": [message(1, role=["bot"])]},
     [("role must be one of customer, bot, agent, supervisor or system, not ['bot'].", "invalid_choice",
       "transcript[0].role")]),
    ({"transcript": [{**message(1), "time": "2025-02-30T06:00:00.000Z"}]},
     [("time must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.", "invalid", "transcript[0].time")]),
    ({"transcript": [message(1, agentId="")], "events": [event(1, agentId=5)]},
     [("agentId must be a string of at most 128 characters.", "invalid", "events[0].agentId")]),
    ({"transcript": [message(1, text="x" * 20_001)]},
     [("text must be a string of at most 20000 characters.", "invalid", "transcript[0].text")]),
    ({"transcript": [message(1, email={"subject": "s", "to": "b@example.com"})]},
     [("email.to must be a list of at most 100 items.", "invalid", "transcript[0].email.to")]),
    ({"transcript": [message(1, sender="x")]},
     [("Unknown field 'sender': expected id, time, role, kind, text, agentId, agentName, email.", "unknown_field",
       "transcript[0].sender")]),
    ({"transcript": [message(n) for n in range(2001)]},
     [("transcript holds at most 2,000 items.", "too_many", "transcript")]),
    ({"transcript": "hello"}, [("transcript must be a list of at most 2,000 items.", "invalid", "transcript")]),
    ({"events": [{"id": "e1", "type": "agent_dance", "time": "2025-09-30T06:00:00Z"}]},
     [("type must be one of routing_initiated, conversation_accepted, conversation_rejected, "
       "conversation_transferred, transfer_failed, agent_joined, agent_left, agent_consulted, skill_changed, "
       "disposition_updated, after_call_work or conversation_closed, not 'agent_dance'.", "invalid_choice",
       "events[0].type")]),
    ({"events": [{"id": "e1", "type": "agent_left"}]}, [("time is required.", "required", "events[0].time")]),
    ({"events": [event(1, details=5)]},
     [("details must be an object or a string of at most 4,000 characters.", "invalid", "events[0].details")]),
    ({"events": [event(n) for n in range(1001)]}, [("events holds at most 1,000 items.", "too_many", "events")]),
    ({"voiceTurns": [{"turn": 0}]}, [("turn must be an integer from 1 to 1,000,000.", "out_of_range",
                                      "voiceTurns[0].turn")]),
    ({"voiceTurns": [{"turn": 1, "firstAudioHeard": "soon"}]},
     [("firstAudioHeard must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.", "invalid",
       "voiceTurns[0].firstAudioHeard")]),
    ({"voiceTurns": [{"turn": n} for n in range(1, 1002)]},
     [("voiceTurns holds at most 1,000 items.", "too_many", "voiceTurns")]),
    ({"transcriptMode": "merge"}, [('transcriptMode must be one of replace or append, not \'merge\'.',
                                    "invalid_choice", "transcriptMode")]),
    ({"transcipt": []}, [(f"Unknown field 'transcipt': expected {', '.join(RECORD_FIELDS)}.", "unknown_field",
                          "transcipt")]),
]


@pytest.mark.parametrize(("fields", "expected"), INVALID, ids=[str(list(fields))[:40] for fields, _ in INVALID])
def test_an_invalid_section_is_refused_with_its_message_and_path(
    tenant: Tenant, fields: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    record = {"sessionId": "s-bad", **fields}
    good = ContentRecordFactory()
    response = send(tenant, [good, record])
    assert response.json()["created"] == 1
    assert rejected_errors(response) == [{"msg": msg, "code": code, "field": field} for msg, code, field in expected]
    assert response.json()["rejected"][0]["index"] == 1
    assert list(Conversation.objects.values_list("session_id", flat=True)) == [good["sessionId"]]


def test_the_record_has_the_sessions_of_the_contract() -> None:
    assert list(RECORD_FIELDS)[:20] == [
        "sessionId", "transcriptMode", "status", "smartStatus", "errorMessage", "language", "like", "csat", "nps",
        "sentiment", "flags", "notes", "snooze", "campaign", "mode", "joinedUsers", "identifiers", "transcript",
        "events", "voiceTurns",
    ]


def test_a_record_must_have_a_session_id_and_be_an_object(tenant: Tenant) -> None:
    response = send(tenant, [{"status": "completed"}, "text"])
    assert response.json()["rejected"] == [
        {"index": 0, "errors": [{"msg": "sessionId is required.", "code": "required", "field": "sessionId"}]},
        {"index": 1, "errors": [{"msg": "A record must be a JSON object.", "code": "invalid_type"}]},
    ]
    assert not Conversation.objects.exists()


def test_times_of_any_supported_year_are_stored_with_four_digits_and_sort(tenant: Tenant) -> None:
    record = {"sessionId": "old", "transcript": [
        {"id": "b", "time": "2025-01-01T00:00:00Z", "role": "bot"},
        {"id": "a", "time": "0002-01-01T00:00:02+00:00", "role": "customer"},
    ]}
    assert send(tenant, [record]).json()["created"] == 1
    messages = Transcript.objects.get().messages
    assert [(m["id"], m["time"]) for m in messages] == [
        ("a", "0002-01-01T00:00:02.000Z"), ("b", "2025-01-01T00:00:00.000Z")]
    assert stored(tenant, "old").started_at.year == 2
