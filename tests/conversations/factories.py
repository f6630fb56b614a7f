"""factory-boy factories of ingestion records (times in UTC: docs/contract.md#interaction-records)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

BASE = datetime(2025, 9, 30, 6, 0, 0, tzinfo=UTC)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SessionRecordFactory(factory.DictFactory):
    """A bot-only chat session."""

    class Params:
        # Kept inside 2025-09-30 (the `window` fixture) however many records the session creates.
        start = factory.Sequence(lambda n: BASE + timedelta(seconds=n % 36000))

    sessionId = factory.Sequence(lambda n: f"{n:024x}")
    channel = "rtm"
    botId = "st-unset"
    sessionStartTime = factory.LazyAttribute(lambda o: utc(o.start))
    sessionEndTime = factory.LazyAttribute(lambda o: utc(o.start + timedelta(seconds=30)))
    userId = "u-test"
    finalStatus = "BotResolved"
    smartStatus = "CLOSED AT BOT"


class QueueEntryFactory(factory.DictFactory):
    class Params:
        entered = BASE

    destinationType = "QueueEntry"
    queueId = "qu-default"
    queueName = "Default Queue"
    CallbackOpted = False
    EnterTime = factory.LazyAttribute(lambda o: utc(o.entered))
    respondingAgent = factory.LazyAttribute(
        lambda o: {
            "agentId": "u-agent",
            "destinationType": "AgentSegment",
            "status": "Answered",
            "name": "John Doe",
            "assignedAt": utc(o.entered + timedelta(seconds=5)),
            "acceptedTime": utc(o.entered + timedelta(seconds=9)),
            "ConsultingAgents": [
                {
                    "name": "Jane Doe",
                    "assignedAt": utc(o.entered + timedelta(seconds=20)),
                    "acceptedTime": utc(o.entered + timedelta(seconds=25)),
                    "consultingEndTime": utc(o.entered + timedelta(seconds=40)),
                }
            ],
        }
    )


class ConversationRecordFactory(SessionRecordFactory):
    """An agent-handled conversation that entered one queue."""

    conversationId = factory.Sequence(lambda n: f"c-{n:08x}")
    channel = "voice"
    Direction = "Inbound"
    finalStatus = "CLOSED"
    smartStatus = "CLOSED"
    destinations = factory.LazyAttribute(lambda o: [QueueEntryFactory(entered=o.start + timedelta(seconds=10))])
