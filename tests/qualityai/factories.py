"""factory-boy factories of Quality AI contact documents, as ingested (docs/contract.md#quality-ai-contacts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

# The factories' day: contacts start at 10:00 UTC on 2026-05-02, one minute apart.
BASE = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


class ContactDocumentFactory(factory.DictFactory):
    """A contact with the documented keys; pass ``started=<datetime>`` to place it in time."""

    class Meta:
        rename = {
            "conversation_id": "Conversation ID",
            "start": "Conversation Start Time",
            "end": "Conversation End Time",
            "language": "Language",
            "duration": "Duration",
            "sentiment_score": "Sentiment Score",
            "queues": "Queues",
            "agents": "Agents",
            "score": "Kore Evaluation Score",
            "fatal_errors": "Fatal Errors",
            "emotions": "Emotions",
            "audit_status": "Audit Status",
            "audit_date": "Audit Date",
            "auditor": "Auditor Name",
            "metrics": "Metrics",
            "pass_score": "Pass Score",
            "is_passed": "IsPassed",
            "direction": "contactDirection",
        }

    class Params:
        started = factory.Sequence(lambda n: BASE + timedelta(minutes=n))
        seconds = 60

    src = "voice"
    direction = "inbound"
    conversation_id = factory.Sequence(lambda n: f"c-{n:08d}-0000-4000-8000-000000000000")
    start = factory.LazyAttribute(lambda o: iso(o.started))
    end = factory.LazyAttribute(lambda o: iso(o.started + timedelta(seconds=o.seconds)))
    language = "English"
    duration = factory.LazyAttribute(lambda o: f"{o.seconds * 1000} milliseconds")
    sentiment_score = 1.5
    queues = factory.LazyFunction(lambda: [{"Queue ID": "qu-1", "Queue Name": "Support"}])
    agents = factory.LazyFunction(
        lambda: [{"agentId": "a-1", "Agent Name": "Ada Agent", "Agent Start Time": iso(BASE), "Empathy Score": 4,
                  "Agent Email": "ada@example.com"}]
    )
    score = 80
    fatal_errors = 0
    emotions = factory.LazyFunction(lambda: ["Happy"])
    audit_status = "Unassigned"
    audit_date = None
    auditor = None
    metrics = factory.LazyFunction(list)
    pass_score = 60
    is_passed = True
    custom_fields = factory.LazyFunction(lambda: {"Region": "US"})
