"""Realistic, deterministic conversation content for ``seed_demo`` (docs/contract.md#demo-data).

Every demo interaction gets its content, stored through the content ingestion path: bot and
customer turns, the hand-over to an agent (``transfer_to_agent``) with the agents of the interaction,
supervisor whispers, a hold with customer speech inside it (which reads never show), e-mail threads
with subject and cc, an LLM error now and then, ``max_no_input`` endings, the events of the agents'
work (all twelve types occur), voice turns with plausible ASR, bot and TTS timings, statuses of every
kind, CSAT / NPS / like answered and not, sentiment and a few flags. The same seed and interactions
give the same content; only their dates follow the interactions'.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.models import Account
from content.services import conversations_ingest
from conversations.models import Interaction

GREETING = "Hi! I'm the virtual assistant. How can I help you today?"
ASKS = (
    ("Pay Bill", "Can you please pay my bill?", "Sure. Which card would you like to use?"),
    ("Check Balance", "What is my current balance?", "Your balance is $42.17, due on the 15th."),
    ("Change Plan", "I want to upgrade my plan", "Here are the plans you can upgrade to."),
    ("Report Outage", "My internet is down since this morning", "I see an outage in your area."),
    ("Refund", "My refund was not received", "Sorry to hear that. Let me check your refund."),
)
AGENT_LINES = (
    "Thanks for waiting, I have your account open now.",
    "I can see the issue. Let me fix that for you.",
    "That is done. Is there anything else I can help you with?",
)
EMOTIONS = ("gratitude", "relief", "frustration", "confusion", "anger", "joy")
LLM_ERROR = "Realtime API error: rate_limit_exceeded (429) while generating the response."
SUPERVISOR = ("u-supervisor-1", "Sam Supervisor")


@dataclass
class _Thread:
    """The content of one conversation as it is drawn: messages and events in time order."""

    rng: random.Random
    at: datetime
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def tick(self, low: float, high: float) -> datetime:
        self.at += timedelta(milliseconds=self.rng.randint(int(low * 1000), int(high * 1000)))
        return self.at

    def say(self, role: str, text: str = "", *, kind: str = "message", low: float = 1, high: float = 8,
            **extra: Any) -> None:
        message = {"id": f"m{len(self.messages) + 1}", "time": render_utc_ms(self.tick(low, high)), "role": role,
                   "kind": kind, **extra}
        if text:
            message["text"] = text
        self.messages.append(message)

    def event(self, kind: str, **extra: Any) -> None:
        at = render_utc_ms(self.tick(0.2, 2))
        self.events.append({"id": f"e{len(self.events) + 1}", "type": kind, "time": at, **extra})


def _agents(document: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(agentId, name, queueId) of each agent who answered, in the order of the destinations."""
    agents = []
    for destination in document.get("destinations", ()):
        agent = destination.get("respondingAgent", destination)
        if agent.get("agentId"):
            agents.append((agent["agentId"], agent.get("name", agent["agentId"]), destination.get("queueId")))
    return agents


def _bot_part(thread: _Thread, ask: tuple[str, str, str]) -> None:
    thread.say("bot", GREETING, low=0.3, high=1)
    thread.say("customer", ask[1])
    thread.say("bot", ask[2], low=0.5, high=2)


def _agent_part(thread: _Thread, agents: list[tuple[str, str, str | None]], *, email: dict[str, Any] | None) -> None:
    rng = thread.rng
    thread.say("system", "User transferred to Agent", kind="transfer_to_agent", low=1, high=3)
    for number, (agent_id, name, queue_id) in enumerate(agents):
        if queue_id:
            thread.event("routing_initiated", queueId=queue_id)
        if rng.random() < 0.1:
            thread.event("conversation_rejected", agentId=agent_id, queueId=queue_id)
        thread.event("conversation_accepted", agentId=agent_id, queueId=queue_id)
        thread.event("agent_joined", agentId=agent_id)
        for line in AGENT_LINES[: 2 if number < len(agents) - 1 else 3]:
            extra = {"email": email} if email else {}
            thread.say("agent", line, agentId=agent_id, agentName=name, **extra)
            thread.say("customer", rng.choice(("Ok, thanks.", "Great.", "Yes please.", "Right.")))
        if rng.random() < 0.3:
            thread.say("supervisor", "Offer the goodwill credit.", kind="whisper", agentId=SUPERVISOR[0],
                       agentName=SUPERVISOR[1])
        if not email and rng.random() < 0.3:
            thread.say("agent", kind="hold_start", agentId=agent_id, agentName=name)
            thread.say("customer", "(to someone nearby) This is taking forever.", low=5, high=20)
            thread.say("agent", kind="hold_end", agentId=agent_id, agentName=name, low=10, high=40)
        if rng.random() < 0.2:
            thread.event("agent_consulted", agentId=agent_id, details={"consultedAgent": "Priya Sharma"})
            thread.say("agent", "Checking with a colleague.", kind="agent_ai", agentId=agent_id, agentName=name)
        if rng.random() < 0.1:
            thread.event("skill_changed", agentId=agent_id, details={"skill": "Billing"})
        if number < len(agents) - 1:
            if rng.random() < 0.3:
                thread.event("transfer_failed", agentId=agent_id, details={"reason": "No agent available"})
            thread.event("conversation_transferred", agentId=agent_id, queueId=agents[number + 1][2])
        thread.event("disposition_updated", agentId=agent_id, details={"disposition": "Resolved"})
        thread.event("agent_left", agentId=agent_id)
        thread.event("after_call_work", agentId=agent_id, details={"seconds": rng.randint(5, 60)})
    thread.event("conversation_closed")


def _voice_turns(rng: random.Random, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One turn per bot answer after a customer message: ASR 250-700 ms, bot 400-1,500, TTS 150-600."""
    turns = []
    for before, after in pairwise(messages):
        if before["role"] != "customer" or after["role"] != "bot":
            continue
        stopped = datetime.fromisoformat(before["time"]) + timedelta(milliseconds=rng.randint(200, 900))
        asr = stopped + timedelta(milliseconds=rng.randint(250, 700))
        sent = asr + timedelta(milliseconds=rng.randint(0, 20))
        answered = sent + timedelta(milliseconds=rng.randint(400, 1500))
        tts = answered + timedelta(milliseconds=rng.randint(0, 15))
        first_byte = tts + timedelta(milliseconds=rng.randint(150, 600))
        turn = {
            "turn": len(turns) + 1, "userStoppedSpeaking": stopped, "asrTranscriptReturned": asr,
            "transcriptSentToBot": sent, "botResponseReceived": answered, "ttsRequested": tts,
            "firstAudioByteReceived": first_byte,
            "firstAudioHeard": first_byte + timedelta(milliseconds=rng.randint(20, 120)),
        }
        if rng.random() < 0.05:
            del turn["firstAudioHeard"]  # a turn the caller interrupted
        turns.append({name: render_utc_ms(value) if isinstance(value, datetime) else value
                      for name, value in turn.items()})
    return turns


def _scores(record: dict[str, Any], rng: random.Random) -> None:
    if rng.random() < 0.45:
        record["csat"] = {"score": rng.choice((1, 2, 3, 4, 5, 5, 4)) if rng.random() < 0.7 else None}
        if record["csat"]["score"] and rng.random() < 0.5:
            record["csat"]["feedback"] = rng.choice(("Quick and friendly", "Took too long", "Solved, thanks"))
    if rng.random() < 0.25:
        record["nps"] = {"score": rng.randint(0, 10) if rng.random() < 0.6 else None}
    if rng.random() < 0.35:
        record["like"] = rng.choice((True, True, False, None))
    overall = rng.choice(("positive", "positive", "neutral", "negative", "mixed"))
    record["sentiment"] = {"overall": overall, "emotions": rng.sample(EMOTIONS, rng.randint(0, 2))}
    if rng.random() < 0.06:
        record["flags"] = [{"id": "f1", "reason": rng.choice(("Agent promised a refund", "Customer threatened to "
                            "leave", "Possible compliance issue")), "source": "ai_review",
                            "time": record["transcript"][-1]["time"]}]


def content_record(interaction: dict[str, Any], rng: random.Random, *, now: datetime) -> dict[str, Any]:
    """The content of one demo interaction (``Interaction`` values: session_id, channel, start, document)."""
    document = interaction["document"]
    channel = interaction["channel"]
    agents = _agents(document)
    thread = _Thread(rng=rng, at=interaction["session_start"])
    ask = rng.choice(ASKS)
    email = None
    if channel == "email":
        customer = document.get("customerinfo", {}).get("CustomerEmail", "customer@example.com")
        email = {"subject": f"Re: {ask[0]}", "from": "support@example.com", "to": [customer],
                 "cc": ["billing@example.com"]}
        thread.say("customer", ask[1], email={"subject": ask[0], "from": customer, "to": ["support@example.com"]})
    else:
        _bot_part(thread, ask)
    record: dict[str, Any] = {"sessionId": interaction["session_id"], "language": "en",
                              "mode": {"voice": "voice", "email": "email"}.get(channel, "chat")}
    roll = rng.random()
    if agents:
        _agent_part(thread, agents, email=email)
        record["status"] = "completed" if roll < 0.8 else "completed_user_hangup"
        record["notes"] = [{"id": "n1", "time": thread.messages[-1]["time"], "author": agents[0][1],
                            "text": f"Customer asked about {ask[0].lower()}; resolved."}]
    elif roll < 0.08:
        thread.say("system", LLM_ERROR, kind="llm_error", low=0.5, high=2)
        record.update(status="error", errorMessage=LLM_ERROR, smartStatus="LLM error")
    elif roll < 0.2:
        thread.say("bot", "Are you still there?", low=8, high=10)
        thread.say("system", "Max no-input attempts reached", kind="max_no_input", low=8, high=10)
        record.update(status="completed_drop_off", smartStatus="No input")
    elif roll < 0.3:
        thread.say("customer", "Never mind.")
        record["status"] = "completed_user_hangup"
    elif roll < 0.4:
        thread.say("bot", "Goodbye!", low=0.5, high=1)
        record["status"] = "completed_ai_agent_hangup"
    else:
        thread.say("customer", "Thanks, that's all.")
        thread.say("bot", "You're welcome. Goodbye!", low=0.5, high=1)
        record["status"] = "completed"
    end = interaction["session_end"]
    if interaction["session_start"] > now - timedelta(hours=1) or (end and end > now):
        record["status"] = "in_progress"
        record.pop("smartStatus", None)
        record.pop("errorMessage", None)
    record["transcript"] = thread.messages
    if thread.events:
        record["events"] = thread.events
    if channel == "voice":
        record["voiceTurns"] = _voice_turns(rng, thread.messages)
        record["identifiers"] = {"callId": f"call-{rng.getrandbits(40):010x}",
                                 "externalCallId": f"ext-{rng.getrandbits(32):08x}",
                                 "caller": document.get("metaInfo", {}).get("caller", "+14155550123"),
                                 "callee": document.get("metaInfo", {}).get("callee", "+18005550100")}
    if agents and rng.random() < 0.1:
        record["snooze"] = {"count": 1, "durationSeconds": rng.choice((300, 900, 3600))}
    if rng.random() < 0.05:
        record["campaign"] = {"name": "Spring renewals", "instanceId": f"ci-{rng.randint(1, 9)}"}
    _scores(record, rng)
    return record


def _interactions(account: Account) -> Iterator[dict[str, Any]]:
    yield from Interaction.objects.filter(account=account).order_by("session_start", "session_id").values(
        "session_id", "channel", "session_start", "session_end", "document").iterator(chunk_size=MAX_BATCH)


def content_seed(*, account: Account, seed: int) -> int:
    """Give every interaction of ``account`` its demo content; returns how many conversations got one."""
    rng = random.Random(seed)
    now = timezone.now()
    stored = 0
    batch: list[dict[str, Any]] = []
    for interaction in [*_interactions(account), None]:
        if interaction is not None:
            batch.append(content_record(interaction, rng, now=now))
        if batch and (interaction is None or len(batch) == MAX_BATCH):
            result = conversations_ingest(account=account, records=batch)
            if result.rejected:
                raise ValueError(f"Demo content was rejected: {result.rejected[:3]}")
            stored += len(batch)
            batch = []
    return stored
