"""content.demo.content_seed: every demo conversation gets realistic, deterministic content."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import time_machine

from content.checks import EVENT_TYPES
from content.demo import content_seed
from content.models import Conversation, EventLog, Status, Transcript, VoiceTurns
from conversations.demo import interactions_seed
from tests.conftest import Tenant

TODAY = datetime(2025, 10, 1, 12, tzinfo=UTC)


def _transcripts(tenant: Tenant) -> list[list[dict]]:
    return list(Transcript.objects.filter(account=tenant.account).order_by("conversation__session_id")
                .values_list("messages", flat=True))


@time_machine.travel(TODAY, tick=False)
def test_every_conversation_gets_its_content_and_every_shape_occurs(tenant: Tenant) -> None:
    interactions_seed(account=tenant.account, days=4, per_day=40, seed=1)
    assert content_seed(account=tenant.account, seed=1) == 160
    conversations = Conversation.objects.filter(account=tenant.account)
    assert conversations.count() == 160
    assert Transcript.objects.count() == 160
    assert set(conversations.values_list("start_from_interaction", flat=True)) == {True}
    assert set(conversations.values_list("status", flat=True)) == set(Status.values)
    assert VoiceTurns.objects.count() == conversations.filter(channel="voice").count() > 0
    kinds = Counter(m["kind"] for messages in _transcripts(tenant) for m in messages)
    assert set(kinds) >= {"message", "whisper", "agent_ai", "transfer_to_agent", "max_no_input", "llm_error",
                          "hold_start", "hold_end"}
    assert kinds["hold_start"] == kinds["hold_end"]
    emails = [m["email"] for messages in _transcripts(tenant) for m in messages if "email" in m]
    assert emails and any(email.get("cc") for email in emails) and all(email["subject"] for email in emails)
    events = {e["type"] for log in EventLog.objects.values_list("events", flat=True) for e in log}
    assert events == set(EVENT_TYPES)
    assert conversations.filter(csat_asked=True, csat_score__isnull=False).exists()
    assert conversations.filter(csat_asked=True, csat_score__isnull=True).exists()
    assert conversations.filter(like_asked=True).exists() and conversations.filter(like_asked=False).exists()
    assert conversations.filter(flagged=True).exists() and conversations.filter(sentiment="negative").exists()
    turn = VoiceTurns.objects.exclude(turns=[]).first().turns[0]
    asr = datetime.fromisoformat(turn["asrTranscriptReturned"]) - datetime.fromisoformat(turn["userStoppedSpeaking"])
    assert 250 <= asr.total_seconds() * 1000 <= 700


@time_machine.travel(TODAY, tick=False)
def test_same_seed_same_content_and_reseeding_updates(tenant: Tenant) -> None:
    interactions_seed(account=tenant.account, days=1, per_day=30, seed=3)
    content_seed(account=tenant.account, seed=3)
    first = _transcripts(tenant)
    content_seed(account=tenant.account, seed=3)
    assert _transcripts(tenant) == first
    assert Conversation.objects.count() == 30
