"""Conversations of a customer with everything the supervisor endpoints touch, and helpers to read them back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from content.models import Conversation, ConversationAgent, EventLog, Status, Transcript
from conversations.services import interactions_ingest
from diagnostics.checks import diagnostics_check
from diagnostics.services import diagnostics_replace
from recordings.models import Recording, RecordingFile, RecordingState
from recordings.storage import recording_storage
from tests.audio import audio
from tests.conftest import Tenant
from tests.content.factories import utc_ms
from tests.conversations.factories import ConversationRecordFactory

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
DETAILS = "/agentassist/api/public/analytics/account/{}/v2/interactionDetails"
CALLS = "/agentassist/api/public/analytics/account/{}/v2/calldetails"
WINDOW = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}
START = datetime(2025, 9, 30, 6, 0, tzinfo=UTC)

# The customer of the conversations below, and where their contacts appear.
PHONE = "+15555550123"
EMAIL = "jane.doe@example.com"
USER_ID = "u-jane"
AGENT_EMAIL = "agent.john@example.com"
AUDIO = audio()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def customer_record(tenant: Tenant, session_id: str, **fields: Any) -> dict[str, Any]:
    """An agent-handled inbound call of the customer, their phone and e-mail in every field that carries them."""
    defaults: dict[str, Any] = {
        "botId": tenant.bot.bot_id,
        "sessionId": session_id,
        "conversationId": f"conv-{session_id}",
        "userId": USER_ID,
        "channelSpecificUserId": PHONE,
        "customerinfo": {
            "CustomerPhone": PHONE, "CenterPhone": "+18005550100", "CustomerFirstName": "Jane",
            "CustomerLastName": "Doe", "CustomerEmail": EMAIL,
        },
        "metaInfo": {"caller": PHONE, "callee": "+18005550100", "dialedNumber": "+18005550100", "email": EMAIL},
        "dispositions": ["Follow-up Needed"],
        "dispositionRemarks": [],
    }
    return ConversationRecordFactory(**{**defaults, **fields})


def messages(start: datetime = START) -> list[dict[str, Any]]:
    """A chat and an e-mail exchange, the customer's contacts inside; customer speech on hold in the middle."""
    def at(seconds: int) -> str:
        return utc_ms(start + timedelta(seconds=seconds))

    return [
        {"id": "m1", "time": at(1), "role": "customer", "kind": "message",
         "text": f"Hi, call me back on {PHONE} or write to {EMAIL}"},
        {"id": "m2", "time": at(2), "role": "agent", "kind": "message", "agentId": "u-agent",
         "agentName": "John Doe", "text": "Sure, I will."},
        {"id": "m3", "time": at(3), "role": "system", "kind": "hold_start", "text": "On hold"},
        {"id": "m4", "time": at(4), "role": "customer", "kind": "message", "text": "(muttering while on hold)"},
        {"id": "m5", "time": at(5), "role": "system", "kind": "hold_end", "text": "Off hold"},
        {"id": "m6", "time": at(6), "role": "agent", "kind": "message", "text": "Here is your refund.",
         "email": {"subject": "Your refund", "from": AGENT_EMAIL, "to": [EMAIL], "cc": [], "bcc": []}},
        {"id": "m7", "time": at(7), "role": "customer", "kind": "message", "text": "Thanks!",
         "email": {"subject": "Re: Your refund", "from": EMAIL, "to": [AGENT_EMAIL], "cc": [], "bcc": []}},
    ]


def a_conversation(
    tenant: Tenant,
    session_id: str = "s-1",
    *,
    status: str = Status.COMPLETED,
    ended: bool = True,
    interaction: bool = True,
    caller: str = PHONE,
    **record: Any,
) -> Conversation:
    """A conversation of ``tenant``: its interaction record (ingested), content row, transcript, events, agents."""
    started = START + timedelta(minutes=len(session_id))
    if interaction:
        times = {"sessionStartTime": utc_ms(started), "sessionEndTime": utc_ms(started + timedelta(minutes=5))}
        stored = customer_record(tenant, session_id, **{**times, **record})
        if not ended:
            del stored["sessionEndTime"]
        result = interactions_ingest(account=tenant.account, records=[stored])
        assert result.rejected == [], result.rejected
    conversation = Conversation.objects.filter(account=tenant.account, session_id=session_id).first()
    if conversation is None:
        conversation = Conversation(account=tenant.account, session_id=session_id, started_at=started)
    conversation.started_at = started  # interaction ingestion may have made the row with the record's start
    conversation.status = status
    conversation.ended_at = started + timedelta(minutes=5) if ended else None
    conversation.channel = "voice"
    conversation.sections = {
        **conversation.sections,
        "identifiers": {"callId": f"call-{session_id}", "caller": caller, "callee": "+18005550100"},
        "flags": [{"id": "ai-1", "reason": "Long silence", "source": "ai_review", "time": utc_ms(started)}],
    }
    conversation.flagged = True
    conversation.save()
    Transcript.objects.update_or_create(
        conversation=conversation,
        defaults={"account": tenant.account, "started_at": conversation.started_at,
                  "messages": messages(conversation.started_at)},
    )
    EventLog.objects.update_or_create(
        conversation=conversation,
        defaults={"account": tenant.account, "started_at": conversation.started_at, "events": [
            {"id": "e1", "type": "routing_initiated", "time": utc_ms(conversation.started_at), "queueId": "qu-1"},
            {"id": "e9", "type": "conversation_closed", "time": utc_ms(conversation.started_at + timedelta(hours=1))},
        ]},
    )
    # Joined after the agents the interaction record names (interaction ingestion links those).
    ConversationAgent.objects.get_or_create(
        conversation=conversation, agent_id="u-agent-live",
        defaults={"account": tenant.account, "started_at": conversation.started_at,
                  "position": ConversationAgent.objects.filter(conversation=conversation).count()},
    )
    return conversation


def a_recording(tenant: Tenant, conversation_id: str, *channels: str) -> list[str]:
    """An available recording of ``conversation_id`` with one stored FLAC per channel; returns the storage keys."""
    recording = Recording.objects.create(
        account=tenant.account, conversation_id=conversation_id, state=RecordingState.AVAILABLE, call_ended_at=NOW,
    )
    keys = []
    for channel in channels or ("agent", "customer"):
        item = RecordingFile.objects.create(
            recording=recording, channel=channel, source_url=f"https://rec.example.com/{channel}.flac",
            state=RecordingState.AVAILABLE, size_bytes=len(AUDIO), sha256="0" * 64,
        )
        item.storage_key = f"{tenant.account.pk}/{recording.pk}/{item.pk}-{channel}.flac"
        item.save(update_fields=["storage_key"])
        recording_storage().save(item.storage_key, io.BytesIO(AUDIO))
        keys.append(item.storage_key)
    return keys


def details(tenant: Tenant, path: str = DETAILS) -> list[dict[str, Any]]:
    response = tenant.post(path.format(tenant.account_id), {**WINDOW, "selectedFields": {"customerinfo": []}})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def errors_of(response: Any, status: int = 400) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    return response.json()["errors"]


def call_diagnostics(tenant: Tenant, session_id: str) -> None:
    """SIP messages of the call naming the customer's number, with and without its +."""
    conversation = Conversation.objects.get(account=tenant.account, session_id=session_id)
    digits = PHONE.lstrip("+")
    message = (
        f"INVITE sip:+18005550100@gw.example.com SIP/2.0\r\nFrom: <sip:{PHONE}@carrier.example.net>;tag=1\r\n"
        f"P-Asserted-Identity: <tel:{digits}>\r\nContent-Length: 0\r\n\r\n"
    )
    section = {"sip": [{"time": utc_ms(conversation.started_at), "from": {"ip": "50.19.12.248", "port": 5060},
                        "to": {"ip": "172.31.11.64", "port": 5060}, "label": "INVITE", "message": message}]}
    diagnostics_replace(
        account_id=tenant.account.pk,
        sections={conversation.pk: (conversation.started_at, diagnostics_check(section))},
    )
