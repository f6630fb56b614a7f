"""factory-boy factories of conversation content rows (times in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from content.models import Conversation, ConversationAgent, EventLog, Status, Transcript, VoiceTurns

BASE = datetime(2025, 9, 30, 6, 0, 0, tzinfo=UTC)


def utc_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    account = None  # give one: ConversationFactory(account=tenant.account)
    session_id = factory.Sequence(lambda n: f"c{n:023x}")
    started_at = factory.Sequence(lambda n: BASE + timedelta(minutes=n % 600))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=5))
    channel = "rtm"
    status = Status.COMPLETED


class TranscriptFactory(factory.django.DjangoModelFactory):
    """A short bot conversation; pass ``messages=[...]`` for your own."""

    class Meta:
        model = Transcript

    conversation = factory.SubFactory(ConversationFactory)
    account = factory.SelfAttribute("conversation.account")
    started_at = factory.SelfAttribute("conversation.started_at")
    messages = factory.LazyAttribute(
        lambda o: [
            {"id": "m1", "time": utc_ms(o.started_at), "role": "customer", "kind": "message",
             "text": "Hi, my refund was not received"},
            {"id": "m2", "time": utc_ms(o.started_at + timedelta(seconds=2)), "role": "bot", "kind": "message",
             "text": "Sorry to hear that. Let me check your refund."},
        ]
    )


class EventLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventLog

    conversation = factory.SubFactory(ConversationFactory)
    account = factory.SelfAttribute("conversation.account")
    started_at = factory.SelfAttribute("conversation.started_at")
    events = factory.LazyAttribute(
        lambda o: [{"id": "e1", "type": "routing_initiated", "time": utc_ms(o.started_at), "queueId": "qu-1"}]
    )


class VoiceTurnsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VoiceTurns

    conversation = factory.SubFactory(ConversationFactory, channel="voice")
    account = factory.SelfAttribute("conversation.account")
    started_at = factory.SelfAttribute("conversation.started_at")
    turns = factory.LazyAttribute(lambda o: [])


class ConversationAgentFactory(factory.django.DjangoModelFactory):
    """An agent link row; ``position`` is the order joined (give it for the second agent onwards)."""

    class Meta:
        model = ConversationAgent

    conversation = factory.SubFactory(ConversationFactory)
    account = factory.SelfAttribute("conversation.account")
    agent_id = factory.Sequence(lambda n: f"u-agent-{n}")
    position = 0
    started_at = factory.SelfAttribute("conversation.started_at")
