"""Content and interaction records of one conversation, in either order, end as one Conversation."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from content.models import Conversation, ConversationAgent, EventLog, Status, Transcript
from conversations.services import interactions_ingest
from tests.conftest import Tenant
from tests.content.factories import BASE
from tests.content.ingest_helpers import document_start_updates, event, message, send, stored
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory

INTERACTION_START = BASE - timedelta(minutes=1)


def agent_segment(*, agentId: str) -> dict:
    return {"agentId": agentId, "destinationType": "AgentSegment", "status": "Answered", "name": agentId}


def _interaction(tenant: Tenant, session_id: str) -> dict:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, sessionId=session_id, start=INTERACTION_START)
    record["destinations"] = [
        QueueEntryFactory(entered=INTERACTION_START, respondingAgent=agent_segment(agentId="a-2")),
        agent_segment(agentId="a-1"),
        QueueEntryFactory(entered=INTERACTION_START, respondingAgent=agent_segment(agentId="a-2")),
    ]
    return record


def _ingest_interaction(tenant: Tenant, record: dict) -> None:
    assert interactions_ingest(account=tenant.account, records=[record]).rejected == []


def test_content_then_interaction_ends_with_the_interactions_start(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "s1", "status": "completed", "transcript": [message(5)], "events": [event(6)],
                   "csat": {"score": 5}}])
    assert stored(tenant, "s1").started_at == BASE + timedelta(seconds=5)
    _ingest_interaction(tenant, _interaction(tenant, "s1"))
    row = Conversation.objects.get()
    assert (row.started_at, row.start_from_interaction, row.channel) == (INTERACTION_START, True, "voice")
    assert row.ended_at == INTERACTION_START + timedelta(seconds=30)
    # What the content said is kept.
    assert (row.status, row.csat_score, row.message_count) == (Status.COMPLETED, 5, 1)
    assert list(ConversationAgent.objects.order_by("position").values_list("agent_id", "position")) == [
        ("a-2", 0), ("a-1", 1)]
    # The documents follow the conversation's start (the partition key).
    assert Transcript.objects.get().started_at == INTERACTION_START
    assert EventLog.objects.get().started_at == INTERACTION_START


def test_interaction_then_content_keeps_the_interactions_start(tenant: Tenant) -> None:
    _ingest_interaction(tenant, _interaction(tenant, "s2"))
    row = stored(tenant, "s2")
    assert (row.started_at, row.status, row.message_count) == (INTERACTION_START, Status.COMPLETED, 0)
    # Content with earlier and later times never moves an interaction-given start or end.
    response = send(tenant, [{"sessionId": "s2", "status": "in_progress",
                              "transcript": [message(1, seconds=-600), message(2, seconds=600)]}])
    assert response.json() == {"created": 0, "updated": 1, "rejected": []}
    row = Conversation.objects.get()
    assert (row.started_at, row.ended_at) == (INTERACTION_START, INTERACTION_START + timedelta(seconds=30))
    assert (row.status, row.message_count, row.channel) == (Status.IN_PROGRESS, 2, "voice")
    assert Transcript.objects.get().started_at == INTERACTION_START


def test_an_interaction_again_replaces_the_agents_and_moves_the_start(tenant: Tenant) -> None:
    record = _interaction(tenant, "s3")
    _ingest_interaction(tenant, record)
    send(tenant, [{"sessionId": "s3", "transcript": [message(1)]}])
    record["destinations"] = [agent_segment(agentId="a-9")]
    record["sessionStartTime"] = "2025-09-30T05:00:00Z"
    record["sessionEndTime"] = "2025-09-30T05:10:00Z"
    _ingest_interaction(tenant, record)
    row = Conversation.objects.get()
    assert row.started_at.isoformat() == "2025-09-30T05:00:00+00:00"
    assert list(ConversationAgent.objects.values_list("agent_id", "started_at")) == [("a-9", row.started_at)]
    assert Transcript.objects.get().started_at == row.started_at


def test_the_same_session_id_in_two_accounts_is_two_conversations(tenant: Tenant, outsider: Tenant) -> None:
    send(tenant, [{"sessionId": "shared", "status": "completed", "transcript": [message(1)]}])
    send(outsider, [{"sessionId": "shared", "status": "error", "transcriptMode": "append",
                     "transcript": [message(2)]}])
    _ingest_interaction(outsider, _interaction(outsider, "shared"))
    mine, theirs = stored(tenant, "shared"), stored(outsider, "shared")
    assert mine.pk != theirs.pk
    assert (mine.status, mine.start_from_interaction, mine.started_at) == ("completed", False,
                                                                         BASE + timedelta(seconds=1))
    assert (theirs.status, theirs.start_from_interaction) == ("error", True)
    assert [m["id"] for m in Transcript.objects.get(conversation=mine).messages] == ["m1"]
    assert [m["id"] for m in Transcript.objects.get(conversation=theirs).messages] == ["m2"]
    assert not ConversationAgent.objects.filter(conversation=mine).exists()


def test_an_interaction_sent_again_at_the_same_start_rewrites_no_document_start(tenant: Tenant) -> None:
    record = _interaction(tenant, "s4")
    _ingest_interaction(tenant, record)
    send(tenant, [{"sessionId": "s4", "transcript": [message(1)], "events": [event(2)]}])
    with CaptureQueriesContext(connection) as queries:
        _ingest_interaction(tenant, record)
    assert document_start_updates(queries) == []
    assert Transcript.objects.get().started_at == EventLog.objects.get().started_at == INTERACTION_START
