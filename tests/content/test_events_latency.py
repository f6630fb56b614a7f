"""GET …/events (complete flag, 30-day limit, CSV) and GET …/latency (the formulas, the statistics, CSV)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine

from content.latency import CSV_HEADER as LATENCY_HEADER
from content.latency import latency_report
from content.models import Status
from tests.conftest import Tenant
from tests.content.factories import BASE, ConversationFactory, EventLogFactory, VoiceTurnsFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/conversations/s-ev/events"
LATENCY = "/api/v1/conversations/s-voice/latency"
EXPIRED = {"errors": [{"msg": "Events can be downloaded only for conversations up to 30 days old.",
                       "code": "events_expired"}]}


def _csv(response: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]


@pytest.fixture
def logged(tenant: Tenant) -> Tenant:
    conversation = ConversationFactory(account=tenant.account, session_id="s-ev", started_at=BASE,
                                       status=Status.IN_PROGRESS)
    EventLogFactory(conversation=conversation, events=[
        {"id": "e1", "type": "routing_initiated", "time": "2025-09-30T06:00:01.000Z", "queueId": "qu-1"},
        {"id": "e2", "type": "agent_joined", "time": "2025-09-30T06:00:09.000Z", "agentId": "u-1",
         "details": {"via": "=cmd"}},
    ])
    return tenant


@time_machine.travel(BASE + timedelta(hours=1), tick=False)
def test_events_in_time_order_not_complete_while_in_progress(logged: Tenant) -> None:
    response = logged.get(EVENTS)
    assert response.status_code == 200, response.content
    assert response.json() == {"sessionId": "s-ev", "complete": False, "events": [
        {"id": "e1", "time": "2025-09-30T06:00:01.000Z", "type": "routing_initiated", "label": "Routing Initiation",
         "agentId": None, "queueId": "qu-1", "details": None},
        {"id": "e2", "time": "2025-09-30T06:00:09.000Z", "type": "agent_joined", "label": "Agent Join",
         "agentId": "u-1", "queueId": None, "details": {"via": "=cmd"}},
    ]}
    logged.account.conversations.update(status=Status.COMPLETED)
    assert logged.get(EVENTS).json()["complete"] is True


@time_machine.travel(BASE + timedelta(hours=1), tick=False)
def test_events_as_csv(logged: Tenant) -> None:
    response = logged.get(EVENTS + "?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="events-s-ev.csv"'
    assert _csv(response) == [
        ["id", "time", "type", "label", "agentId", "queueId", "details"],
        ["e1", "2025-09-30T06:00:01.000Z", "routing_initiated", "Routing Initiation", "", "qu-1", ""],
        ["e2", "2025-09-30T06:00:09.000Z", "agent_joined", "Agent Join", "u-1", "", '{"via":"=cmd"}'],
    ]


def test_events_are_served_up_to_30_days_after_the_start(logged: Tenant) -> None:
    with time_machine.travel(BASE + timedelta(days=30), tick=False):
        assert logged.get(EVENTS).status_code == 200
        assert logged.get(EVENTS + "?format=csv").status_code == 200
    with time_machine.travel(BASE + timedelta(days=30, seconds=1), tick=False):
        for path in (EVENTS, EVENTS + "?format=csv"):
            response = logged.get(path)
            assert response.status_code == 410
            assert response.json() == EXPIRED


REFERENCE_TURN = {
    "turn": 1,
    "userStoppedSpeaking": "2025-09-30T10:00:05.000Z",
    "asrTranscriptReturned": "2025-09-30T10:00:05.450Z",
    "transcriptSentToBot": "2025-09-30T10:00:05.450Z",
    "botResponseReceived": "2025-09-30T10:00:06.300Z",
    "ttsRequested": "2025-09-30T10:00:06.300Z",
    "firstAudioByteReceived": "2025-09-30T10:00:06.700Z",
    "firstAudioHeard": "2025-09-30T10:00:06.700Z",
}


def test_the_reference_example_gives_450_850_400_and_1700_ms() -> None:
    assert latency_report([REFERENCE_TURN])["turns"] == [
        {"turn": 1, "asrMs": 450, "botMs": 850, "ttsMs": 400, "endToEndMs": 1700}
    ]


def test_a_metric_with_a_missing_time_is_null_and_left_out_of_the_statistics() -> None:
    second = {**REFERENCE_TURN, "turn": 2, "asrTranscriptReturned": None, "firstAudioHeard": "2025-09-30T10:00:07.000Z"}
    del second["transcriptSentToBot"]
    third = {"turn": 3, "ttsRequested": "2025-09-30T10:00:08.000Z",
             "firstAudioByteReceived": "2025-09-30T10:00:08.201Z"}
    report = latency_report([REFERENCE_TURN, second, third])
    assert report["turns"] == [
        {"turn": 1, "asrMs": 450, "botMs": 850, "ttsMs": 400, "endToEndMs": 1700},
        {"turn": 2, "asrMs": None, "botMs": None, "ttsMs": 400, "endToEndMs": 2000},
        {"turn": 3, "asrMs": None, "botMs": None, "ttsMs": 201, "endToEndMs": None},
    ]
    assert report["summary"] == {
        "asrMs": {"min": 450, "average": 450, "p90": 450, "max": 450},
        "botMs": {"min": 850, "average": 850, "p90": 850, "max": 850},
        "ttsMs": {"min": 201, "average": 334, "p90": 400, "max": 400},
        "endToEndMs": {"min": 1700, "average": 1850, "p90": 2000, "max": 2000},
    }


def test_p90_is_the_nearest_rank() -> None:
    turns = [{"turn": n, "ttsRequested": "2025-09-30T10:00:00.000Z",
              "firstAudioByteReceived": f"2025-09-30T10:00:00.{n * 10:03d}Z"} for n in range(1, 21)]
    assert latency_report(turns)["summary"]["ttsMs"] == {"min": 10, "average": 105, "p90": 180, "max": 200}


def test_latency_endpoint_and_its_csv_report(tenant: Tenant) -> None:
    conversation = ConversationFactory(account=tenant.account, session_id="s-voice", channel="voice")
    VoiceTurnsFactory(conversation=conversation, turns=[REFERENCE_TURN])
    answer = tenant.get(LATENCY).json()
    assert answer["sessionId"] == "s-voice"
    assert answer["turns"] == [{"turn": 1, "asrMs": 450, "botMs": 850, "ttsMs": 400, "endToEndMs": 1700}]
    assert answer["summary"]["endToEndMs"] == {"min": 1700, "average": 1700, "p90": 1700, "max": 1700}
    rows = _csv(tenant.get(LATENCY + "?format=csv"))
    assert tuple(rows[0]) == LATENCY_HEADER
    assert rows[1] == ["1", *(REFERENCE_TURN[name] for name in LATENCY_HEADER[1:8]), "450", "850", "400", "1700"]
    assert [row[0] for row in rows[2:]] == ["min", "average", "p90", "max"]
    assert rows[3][8:] == ["450", "850", "400", "1700"]


def test_a_conversation_without_voice_turns_has_null_statistics(tenant: Tenant) -> None:
    ConversationFactory(account=tenant.account, session_id="s-voice", channel="rtm")
    answer = tenant.get(LATENCY).json()
    assert answer["turns"] == []
    assert answer["summary"]["asrMs"] == {"min": None, "average": None, "p90": None, "max": None}
