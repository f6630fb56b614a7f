"""GET /api/v1/conversations/{sessionId}: header, Details, User, Identifiers; tenancy of every read."""

from __future__ import annotations

from typing import Any

import pytest

from content.models import Sentiment, Status
from tests.conftest import Tenant, make_tenant
from tests.content.conftest import QUERY, conversation_of, voice_record
from tests.content.factories import BASE, ConversationAgentFactory, ConversationFactory, TranscriptFactory

pytestmark = pytest.mark.django_db

SECTIONS = {
    "csat": {"score": 4, "feedback": "Quick and helpful"},
    "sentiment": {"overall": "positive", "emotions": ["gratitude", "relief"]},
    "notes": [{"id": "n1", "time": "2025-09-30T06:03:00.000Z", "author": "Ann", "text": "Card updated"}],
    "snooze": {"count": 2, "durationSeconds": 600},
    "campaign": {"name": "Renewals", "instanceId": "ci-7"},
    "mode": "voice",
    "joinedUsers": ["Jane Roe"],
    "identifiers": {"callId": "call-1", "agentConversationId": "ac-1", "externalCallId": "x-1"},
}


def test_the_panel_has_its_header_and_three_tabs(tenant: Tenant) -> None:
    record = voice_record(
        BASE, sessionId="s-1", conversationId="c-1", userId="u-cust", channelSpecificUserId="+1555",
        dispositions=["Paid"], dispositionRemarks=["By card"], metaInfo={"caller": "+1555", "callee": "+1666"},
        sessionleveltags=[{"name": "Region", "value": "EU"}], userleveltags=[{"name": "Tier", "value": "gold"}],
    )
    conversation_of(tenant, record=record, language="en", status=Status.COMPLETED, smart_status="CLOSED",
                    csat_score=4, csat_asked=True, sentiment=Sentiment.POSITIVE, sections=SECTIONS)
    response = tenant.get("/api/v1/conversations/s-1")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["header"] == {"direction": "inbound", "language": "en", "channel": "voice",
                                "sentiment": {"overall": "positive", "emotions": ["gratitude", "relief"]}}
    details = answer["details"]
    assert (details["start"], details["end"], details["durationSeconds"]) == (
        "2025-09-30T06:00:00.000Z", "2025-09-30T06:00:30.000Z", 30)
    assert details["agents"] == [{"id": "u-agent", "name": "John Doe"}]
    assert details["consultingAgents"] == ["Jane Doe"]
    assert details["joinedUsers"] == ["Jane Roe"]
    assert details["queues"] == [{"id": "qu-default", "name": "Default Queue"}]
    assert details["status"] == {"value": "completed", "label": "Completed"}
    assert (details["smartStatus"], details["mode"]) == ("CLOSED", "voice")
    assert details["csat"] == {"score": 4, "feedback": "Quick and helpful"}
    assert (details["dispositions"], details["dispositionRemarks"]) == (["Paid"], ["By card"])
    assert details["notes"] == SECTIONS["notes"]
    assert details["snooze"] == {"count": 2, "durationSeconds": 600}
    assert details["campaign"] == {"name": "Renewals", "instanceId": "ci-7"}
    assert details["sessionLevelTags"] == [{"name": "Region", "value": "EU"}]
    assert answer["user"] == {"customerPhone": "+1555", "customerName": None, "customerEmail": None,
                              "channelUserId": "+1555", "userId": "u-cust",
                              "userLevelTags": [{"name": "Tier", "value": "gold"}]}
    assert answer["identifiers"] == {
        "sessionId": "s-1", "channelUserId": "+1555", "userId": "u-cust", "campaignInstanceId": "ci-7",
        "callId": "call-1", "callConversationId": "c-1", "agentConversationId": "ac-1", "externalCallId": "x-1",
        "caller": "+1555", "callee": "+1666",
    }


def test_a_content_only_conversation_has_empty_record_parts(tenant: Tenant) -> None:
    row = ConversationFactory(account=tenant.account, session_id="s-live", status=Status.IN_PROGRESS, ended_at=None)
    ConversationAgentFactory(conversation=row, agent_id="u-5")
    answer = tenant.get("/api/v1/conversations/s-live").json()
    assert answer["details"]["agents"] == [{"id": "u-5", "name": None}]
    assert answer["details"]["end"] is None and answer["details"]["durationSeconds"] is None
    assert answer["details"]["csat"] is None and answer["details"]["queues"] == []
    assert answer["user"]["userId"] is None and answer["header"]["direction"] is None


def test_the_detail_read_is_a_constant_number_of_queries(tenant: Tenant, django_assert_num_queries: Any) -> None:
    # Interaction ingestion links the record's responding agent (u-agent) to the conversation.
    row = conversation_of(tenant, record=voice_record(BASE, sessionId="s-1"))
    # The client (authentication), then the conversation with its interaction record and agent links.
    with django_assert_num_queries(2):
        assert tenant.get("/api/v1/conversations/s-1").status_code == 200
    TranscriptFactory(conversation=row)
    # The conversation with its transcript (the client is now in this process's cache).
    with django_assert_num_queries(1):
        assert tenant.get("/api/v1/conversations/s-1/transcript").status_code == 200


READS = ["", "/transcript", "/transcript?format=csv", "/events", "/events?format=csv", "/latency",
         "/latency?format=csv"]


@pytest.mark.parametrize("read", READS)
def test_another_accounts_or_an_unknown_session_is_404(tenant: Tenant, outsider: Tenant, read: str) -> None:
    theirs = ConversationFactory(account=outsider.account, session_id="s-theirs")
    TranscriptFactory(conversation=theirs)
    assert outsider.get(f"/api/v1/conversations/s-theirs{read}").status_code in (200, 410)
    for session_id in ("s-theirs", "s-nobody"):
        response = tenant.get(f"/api/v1/conversations/{session_id}{read}")
        assert response.status_code == 404
        assert response.json() == {"errors": [{"msg": f"No conversation {session_id!r} in this account.",
                                               "code": "not_found", "field": "sessionId"}]}


@pytest.mark.parametrize("read", READS)
def test_every_read_needs_the_conversations_read_scope(read: str) -> None:
    reader = make_tenant(scopes=["smartassist.analytics"])
    ConversationFactory(account=reader.account, session_id="s-1")
    response = reader.get(f"/api/v1/conversations/s-1{read}")
    assert response.status_code == 403
    assert reader.post(QUERY, {"startDate": "2025-09-30", "endDate": "2025-09-30"}).status_code == 403
