"""Realistic, deterministic demo interactions for ``seed_demo`` (docs/contract.md#demo-data).

Every shape of the reference sample is produced — bot-only chats, agent-handled chats and emails,
inbound and outbound calls through queues, responding and non-responding agents, consulting agents,
callbacks, dispositions, tags and customer info — and stored through the ingestion path, so demo
data passes exactly the validation that integrators' records pass. The same seed gives the same
records; only their dates follow today's date.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import factory

from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.models import Account
from conversations.services import interactions_ingest

_NAMESPACE = uuid.UUID("0b5e8f0e-3c1d-4d0a-9a51-6a7f3d2c1b00")
QUEUES = ("Default Queue", "Billing", "Sales", "Technical Support")
AGENTS = ("John Doe", "Jane Doe", "Priya Sharma", "Carlos Ruiz", "Mei Chen", "Aisha Bello")
INTENTS = (
    ("Pay Bill", "Can you please pay my bill?"),
    ("Check Balance", "What is my current balance?"),
    ("Change Plan", "I want to upgrade my plan"),
    ("Report Outage", "My internet is down"),
    ("agent transfer", "I want to talk to a person"),
)
DISPOSITIONS = ("Resolved", "Requires Supervisor Attention", "Follow-up Needed", "Sale Completed")
SKILLS = ("Billing", "Sales", "Technical", "Spanish")
NON_RESPONSE_EVENTS = ("Ignored", "Supervisor Reassigned", "Timed Out")
KINDS = ("bot_chat", "agent_chat", "inbound_call", "outbound_call", "email")
KIND_WEIGHTS = (30, 25, 25, 10, 10)


@dataclass(frozen=True)
class DemoConversation:
    conversation_id: str  # c-<uuid>, what Quality AI's "Conversation ID" links to
    session_id: str
    channel: str  # "voice" | "rtm" | "email"
    direction: str  # "inbound" | "outbound"
    started_at: datetime  # aware UTC
    ended_at: datetime | None
    bot_id: str
    queue_names: tuple[str, ...]
    agent_names: tuple[str, ...]


def _stable_id(prefix: str, name: str) -> str:
    return f"{prefix}-{uuid.uuid5(_NAMESPACE, name)}"


def _object_id(name: str) -> str:
    """A stable 24-hex-digit id, the shape the platform gives skills (``64c0d4eb3642d2755604xxxx``)."""
    return uuid.uuid5(_NAMESPACE, name).hex[:24]


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.com"


def _phone(rng: random.Random) -> str:
    return "+1" + "".join(str(rng.randrange(10)) for _ in range(10))


class DemoAgentFactory(factory.DictFactory):
    """An ``AgentSegment`` of an agent who answered, assigned at ``at``."""

    class Params:
        rng: random.Random = None
        at: datetime = None
        agent = factory.LazyAttribute(lambda o: o.rng.choice(AGENTS))
        accepted = factory.LazyAttribute(lambda o: o.at + timedelta(seconds=o.rng.randint(2, 20)))
        ended = factory.LazyAttribute(lambda o: o.accepted + timedelta(seconds=o.rng.randint(40, 600)))
        wrap_up = factory.LazyAttribute(lambda o: o.rng.randint(0, 60))

    agentId = factory.LazyAttribute(lambda o: _stable_id("u", o.agent))
    agentNotes = factory.LazyAttribute(lambda o: [f"The customer asked about {o.rng.choice(INTENTS)[0].lower()}."])
    destinationType = "AgentSegment"
    status = "Answered"
    firstResponseTime = factory.LazyAttribute(lambda o: _utc(o.accepted + timedelta(seconds=o.rng.randint(0, 5))))
    firstResponseDuration = factory.LazyAttribute(lambda o: o.rng.randint(0, 5))
    interactionEndTime = factory.LazyAttribute(lambda o: _utc(o.ended))
    interactionDuration = factory.LazyAttribute(lambda o: int((o.ended - o.accepted).total_seconds()))
    afterCallWorkDuration = factory.LazyAttribute(lambda o: o.wrap_up)
    afterCallWorkEndTime = factory.LazyAttribute(lambda o: _utc(o.ended + timedelta(seconds=o.wrap_up)))
    ConsultingAgents = factory.LazyAttribute(lambda o: _consulting(o.rng, o.accepted, o.ended))
    JoinedUsers = factory.LazyFunction(list)
    email = factory.LazyAttribute(lambda o: _email(o.agent))
    name = factory.LazyAttribute(lambda o: o.agent)
    acceptedTime = factory.LazyAttribute(lambda o: _utc(o.accepted))
    assignedAt = factory.LazyAttribute(lambda o: _utc(o.at))


def _consulting(rng: random.Random, accepted: datetime, ended: datetime) -> list[dict[str, Any]]:
    if rng.random() > 0.2:
        return []
    assigned = accepted + (ended - accepted) / 3
    return [
        {
            "name": rng.choice((rng.choice(AGENTS), _phone(rng))),
            "acceptedTime": _utc(assigned + timedelta(seconds=rng.randint(3, 10))),
            "assignedAt": _utc(assigned),
            "consultingEndTime": _utc(assigned + timedelta(seconds=rng.randint(20, 60))),
        }
    ]


def _non_responding(rng: random.Random, at: datetime) -> dict[str, Any]:
    agent = rng.choice(AGENTS)
    return {
        "agentId": _stable_id("u", agent),
        "agentNotes": ["The customer is waiting for an agent."],
        "destinationType": "AgentSegment",
        "email": _email(agent),
        "name": agent,
        "assignedAt": _utc(at),
        "nonResponseEvent": rng.choice(NON_RESPONSE_EVENTS),
    }


class DemoQueueEntryFactory(factory.DictFactory):
    """A queue the conversation entered at ``at``, answered by an agent (maybe after a missed one)."""

    class Params:
        rng: random.Random = None
        at: datetime = None
        queue = factory.LazyAttribute(lambda o: o.rng.choice(QUEUES))
        callback = factory.LazyAttribute(lambda o: o.rng.random() < 0.15)
        missed = factory.LazyAttribute(lambda o: o.rng.random() < 0.2)

    destinationType = "QueueEntry"
    queueId = factory.LazyAttribute(lambda o: _stable_id("qu", o.queue))
    queueName = factory.LazyAttribute(lambda o: o.queue)
    CallbackOpted = factory.LazyAttribute(lambda o: o.callback)
    EnterTime = factory.LazyAttribute(lambda o: _utc(o.at))

    @factory.post_generation
    def agents(obj: dict[str, Any], create: bool, extracted: Any, **kwargs: Any) -> None:
        """Callback times, then the non-responding agent (if any) and the one who answered."""
        rng: random.Random = kwargs["rng"]
        at = datetime.fromisoformat(obj["EnterTime"])
        if obj["CallbackOpted"]:
            opted = at - timedelta(seconds=rng.randint(20, 40), milliseconds=rng.randint(0, 999))
            obj["CallbackOptedTime"] = _utc(opted)
            accepted = opted + timedelta(seconds=rng.randint(5, 15), milliseconds=rng.randint(0, 999))
            obj["userCallbackAcceptTime"] = _utc(accepted)
        if kwargs.get("missed"):
            obj["nonRespondingAgents"] = [_non_responding(rng, at + timedelta(seconds=rng.randint(3, 10)))]
            at += timedelta(seconds=20)
        obj["respondingAgent"] = DemoAgentFactory(rng=rng, at=at + timedelta(seconds=rng.randint(3, 30)))


def _queue_entry(rng: random.Random, at: datetime) -> dict[str, Any]:
    missed = rng.random() < 0.2
    return DemoQueueEntryFactory(rng=rng, at=at, agents__rng=rng, agents__missed=missed)


class DemoSessionFactory(factory.DictFactory):
    """A bot-only chat session: the short form."""

    class Params:
        rng: random.Random = None
        start: datetime = None
        org_id = ""
        bot_id = ""
        automation_bot = ""
        user = factory.LazyAttribute(lambda o: o.rng.choice((*AGENTS, "Sam Lee", "Olga Ivanova")))

    sessionId = factory.LazyAttribute(lambda o: f"{o.rng.getrandbits(96):024x}")
    channel = "Web/Mobile Client"
    sessionStartTime = factory.LazyAttribute(lambda o: _utc(o.start))
    sessionEndTime = factory.LazyAttribute(lambda o: _utc(o.start + timedelta(seconds=o.rng.randint(8, 240))))
    botId = factory.LazyAttribute(lambda o: o.bot_id)
    userId = factory.LazyAttribute(lambda o: _stable_id("u", o.user + "/customer"))
    channelSpecificUserId = factory.LazyAttribute(lambda o: _email(o.user))
    orgId = factory.LazyAttribute(lambda o: o.org_id)
    smartStatus = "CLOSED AT BOT"
    reason = ""
    disconnectingEvent = ""
    errorDetails = ""
    finalStatus = "BotResolved"
    automationBotIDs = factory.LazyAttribute(lambda o: [o.automation_bot])


def _conversation(rng: random.Random, base: dict[str, Any], kind: str, automation_bot: str) -> dict[str, Any]:
    """Turn a session into an agent-handled conversation of ``kind``."""
    start = datetime.fromisoformat(base["sessionStartTime"])
    voice = kind in ("inbound_call", "outbound_call")
    intent, utterance = rng.choice(INTENTS)
    enter = start + timedelta(seconds=rng.randint(5, 40))
    destinations = [_queue_entry(rng, enter)]
    if rng.random() < 0.15:
        # A transfer straight to a second agent after the queue's agent.
        after = datetime.fromisoformat(destinations[0]["respondingAgent"]["afterCallWorkEndTime"])
        destinations.append(DemoAgentFactory(rng=rng, at=after + timedelta(seconds=2)))
    last_end = max(datetime.fromisoformat(d.get("respondingAgent", d)["interactionEndTime"]) for d in destinations)
    customer = rng.choice(("Jane Doe", "Sam Lee", "Olga Ivanova", "Ravi Kumar"))
    first, last = customer.split(" ")
    phone = _phone(rng)
    record = {
        "conversationId": f"c-{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "sessionId": base["sessionId"],
        "channel": "Voice" if voice else ("System Mail" if kind == "email" else "Web/Mobile Client"),
        "isVoicemail": "YES" if voice and rng.random() < 0.05 else "NO",
        "Direction": "Outbound" if kind == "outbound_call" else "Inbound",
        "skills": [{"id": _object_id(name), "name": name} for name in rng.sample(SKILLS, 2)],
        "finalStatus": "CLOSED",
        "smartStatus": "CLOSED",
        "reason": rng.choice(("", *DISPOSITIONS)),
        "disconnectingEvent": rng.choice(("Agent Hangup", "Customer Hangup", "Bot Hangup"))
        if voice else "Agent Closed",
        "errorDetails": "",
        "botId": base["botId"],
        "dispositions": rng.sample(DISPOSITIONS, rng.randint(0, 2)),
        "dispositionRemarks": [f"The customer wanted to {intent.lower()}; the agent handled it."],
        "metaInfo": _meta_info(rng, voice, phone, base, automation_bot, intent, utterance),
        "customerinfo": {
            "CustomerPhone": phone, "CenterPhone": "+18005550100", "CustomerFirstName": first,
            "CustomerLastName": last, "CustomerEmail": _email(customer),
        },
        "sessionStartTime": base["sessionStartTime"],
        "sessionEndTime": _utc(last_end + timedelta(seconds=rng.randint(0, 5))),
        "channelSpecificUserId": phone if voice else _email(customer),
        "userId": base["userId"],
        "destinations": destinations,
        "automationBotIDs": [automation_bot],
        "userleveltags": [{"name": "accountnum", "value": str(rng.randrange(10**11, 10**12))}],
        "sessionleveltags": [{"name": "intent", "value": intent}],
    }
    if voice and rng.random() < 0.5:
        record["sessionleveltags"].append({"name": "audioCodesCallDisconnect", "value": "1"})
    return record


def _meta_info(
    rng: random.Random, voice: bool, phone: str, base: dict[str, Any], automation_bot: str, intent: str,
    utterance: str,
) -> dict[str, Any]:
    transfer = {
        "overrideAgents": False, "overrideValues": [], "assistEvents": {"startEvent": {"isEnabled": False}},
        "automationBotId": automation_bot, "lastIntentName": intent, "lastIntentuserInput": utterance,
        "dialog_tone": [],
    }
    if voice:
        return {
            "caller": phone, "callee": "+18005550100", "callerHost": f"54.172.60.{rng.randint(1, 254)}",
            "userId": base["userId"], "dialedNumber": "+18005550100", "agentTransferConfig": transfer,
            "workinghours": {"workdays": "mon,tue,wed,thu,fri", "workstart": "8:00 AM", "workend": "5:00 PM"},
            "transcribeConfig": {"transcribe": True},
        }
    return {
        "identities": [{"val": base["channelSpecificUserId"], "type": "mapped"}],
        "agentTransferConfig": transfer,
        "ipAddress": f"203.0.113.{rng.randint(1, 254)}",
        "os": rng.choice(("Windows", "macOS", "Android", "iOS")),
    }


def _demo(record: dict[str, Any]) -> DemoConversation:
    agents = [d.get("respondingAgent", d)["name"] for d in record["destinations"]]
    return DemoConversation(
        conversation_id=record["conversationId"],
        session_id=record["sessionId"],
        channel={"Voice": "voice", "System Mail": "email"}.get(record["channel"], "rtm"),
        direction=record["Direction"].lower(),
        started_at=datetime.fromisoformat(record["sessionStartTime"]),
        ended_at=datetime.fromisoformat(record["sessionEndTime"]),
        bot_id=record["botId"],
        queue_names=tuple(d["queueName"] for d in record["destinations"] if d["destinationType"] == "QueueEntry"),
        agent_names=tuple(dict.fromkeys(agents)),
    )


def interactions_seed(*, account: Account, days: int, per_day: int, seed: int) -> list[DemoConversation]:
    """Ingest ``days × per_day`` interactions ending today (UTC); return the agent-handled ones.

    1. Draw every record from one ``random.Random(seed)``, day by day, session starts spread over
       business hours and sorted, so the same seed always yields the same records.
    2. Store them through :func:`interactions_ingest` in batches (re-seeding updates, never duplicates).
    """
    rng = random.Random(seed)
    bot_ids = sorted(account.bots.values_list("bot_id", flat=True))
    automation_bot = _stable_id("st", f"{account.account_id}/automation")
    first_day = datetime.combine(datetime.now(UTC).date() - timedelta(days=days - 1), time(0), tzinfo=UTC)
    records: list[dict[str, Any]] = []
    for day in range(days):
        midnight = first_day + timedelta(days=day)
        offsets = sorted(rng.randint(7 * 3600, 21 * 3600) for _ in range(per_day))
        for seconds in offsets:
            start = midnight + timedelta(seconds=seconds, milliseconds=rng.randint(0, 999))
            session = DemoSessionFactory(
                rng=rng, start=start, org_id=account.org_id, bot_id=rng.choice(bot_ids), automation_bot=automation_bot
            )
            kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
            records.append(session if kind == "bot_chat" else _conversation(rng, session, kind, automation_bot))
    for begin in range(0, len(records), MAX_BATCH):
        result = interactions_ingest(account=account, records=records[begin : begin + MAX_BATCH])
        if result.rejected:
            raise ValueError(f"Demo records were rejected: {result.rejected[:3]}")
    return [_demo(record) for record in records if "conversationId" in record]
