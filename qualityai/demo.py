"""Realistic, deterministic demo Quality AI contacts for ``seed_demo`` (docs/contract.md#demo-data).

One contact per demo voice or chat conversation, linked to it by ``Conversation ID``, with every
part of the documented result: metrics with justifications, generated and configured intents
(L1–L3), customer and agent emotions, sentiment, audit states, custom fields. A share of them is
below the default minimum duration, has no duration, has no evaluation score or no direction, so
every rule of the rawdata endpoint can be tried on demo data. They are stored through the same
ingestion path as integrators' contacts. The same seed and conversations give the same contacts.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import factory

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.models import Account
from qualityai.services import contacts_ingest

if TYPE_CHECKING:
    from conversations.demo import DemoConversation

_NAMESPACE = uuid.UUID("5d0c7a52-9e1b-4f0a-8c3d-2b6e4f1a7c90")
QA_CHANNELS = ("voice", "rtm")
REGIONS = ("US", "UK", "IN", "DE")
TIERS = ("Gold", "Silver", "Bronze")
AUDITORS = ("Grace Hopper", "Alan Turing", "Ada Lovelace")
EMOTIONS = ("Happy", "Neutral", "Confusion", "Frustration", "Sadness", "Anger")
AGENT_EMOTIONS = ("Patience", "Happiness", "Empathy", "Calm")
# (name, weight, negative weight, fatal): the demo evaluation form.
METRICS = (
    ("Greeting and introduction", 10, 0, False),
    ("Verified the customer's identity", 15, 0, True),
    ("Agent Rude", 3, 10, False),
    ("Offered further assistance", 5, 0, False),
    ("Explained the resolution clearly", 15, 0, False),
    ("Quoted the correct interest rate", 10, 0, False),
    ("Closing and thanks", 5, 0, False),
)
JUSTIFICATIONS = {
    "YES": "The agent did this clearly and politely at the points cited, in line with the form's definition.",
    "NO": "The agent missed this step: nothing at the points cited meets the form's definition.",
}
# L1 → L2 → L3 topics of the demo taxonomy, with the generated intent each one stands for.
TAXONOMY = {
    "Core Banking Inquiry": {
        "Account Details": ("Get Interest Rate on Account", "Get Fees on Account"),
        "Balances": ("Balance for Withdrawal", "Current Month Balance"),
    },
    "Online/Mobile Banking": {
        "Access": ("Reset Online or Mobile Banking Passcode", "Unlock Account"),
    },
    "Cards": {
        "Billing": ("Explain Credit Card Bill", "Dispute a Charge"),
        "Card Services": ("Replace Lost Card", "Activate Card"),
    },
}
INTENT_KEYWORDS = {
    "Get Interest Rate on Account": ("interest rate", "savings account", "3.5%"),
    "Get Fees on Account": ("monthly fee", "account fees"),
    "Balance for Withdrawal": ("available balance", "withdrawal"),
    "Current Month Balance": ("bank balance", "statement"),
    "Reset Online or Mobile Banking Passcode": ("passcode", "mobile app", "reset link"),
    "Unlock Account": ("locked out", "login", "verification code"),
    "Explain Credit Card Bill": ("credit card bill", "interest", "last 4 digits"),
    "Dispute a Charge": ("unknown charge", "merchant", "refund"),
    "Replace Lost Card": ("lost card", "block card", "new card"),
    "Activate Card": ("activation", "new card", "PIN"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _stable_id(prefix: str, name: str) -> str:
    return f"{prefix}-{uuid.uuid5(_NAMESPACE, name)}"


def _proportions(rng: random.Random, names: tuple[str, ...], count: int) -> list[dict[str, Any]]:
    chosen = rng.sample(names, count)
    weights = [rng.randint(1, 10) for _ in chosen]
    shares = [round(100 * weight / sum(weights), 2) for weight in weights]
    return [{"emotion": name, "duration": 0, "proportion": share} for name, share in zip(chosen, shares, strict=True)]


def _metrics(rng: random.Random, start: datetime, seconds: int) -> list[dict[str, Any]]:
    results = []
    for name, weight, negative, fatal in METRICS:
        qualification = rng.choices(("YES", "NO", "NA"), weights=(70, 20, 10))[0]
        justification = []
        if qualification != "NA":
            moments = sorted(rng.randint(0, max(seconds, 1)) for _ in range(rng.randint(1, 3)))
            justification.append({
                "message_id": [_stable_id("ms", f"{start.isoformat()}/{name}/{moment}") for moment in moments],
                "timestamp": [int((start + timedelta(seconds=moment)).timestamp() * 1000) for moment in moments],
                "justification": JUSTIFICATIONS[qualification],
            })
        results.append({
            "Metric ID": _stable_id("em", name),
            "Metric Name": name,
            "Metric Weight": weight,
            "Metric Negative Weight": negative,
            "Qualification": qualification,
            "isFatalError": fatal,
            "triggerJustification": [],
            "justification": justification,
            "Auditor Response": None,
        })
    return results


def _score(metrics: list[dict[str, Any]]) -> int:
    """Percentage of the weight of the scored metrics that passed; a failed fatal metric scores 0."""
    scored = [m for m in metrics if m["Qualification"] != "NA" and m["Metric Name"] != "Agent Rude"]
    if any(m["isFatalError"] and m["Qualification"] == "NO" for m in scored):
        return 0
    total = sum(m["Metric Weight"] for m in scored)
    passed = sum(m["Metric Weight"] for m in scored if m["Qualification"] == "YES")
    return round(100 * passed / total) if total else 0


def _topics(rng: random.Random) -> list[tuple[str, str, str]]:
    """One to three (L1, L2, L3) topics of the taxonomy."""
    leaves = [(l1, l2, l3) for l1, l2s in TAXONOMY.items() for l2, l3s in l2s.items() for l3 in l3s]
    return sorted(rng.sample(leaves, rng.randint(1, 3)))


def _configured_intents(rng: random.Random, topics: list[tuple[str, str, str]]) -> dict[str, Any]:
    tree: dict[str, dict[str, list[str]]] = {}
    for l1, l2, l3 in topics:
        tree.setdefault(l1, {}).setdefault(l2, []).append(l3)

    def confidence() -> float:
        return round(rng.uniform(0.7, 0.99), 2)

    return {
        "topics": [
            {
                "topic_name": l1,
                "level": "L1",
                "confidence_score": confidence(),
                "L2_topics": [
                    {
                        "topic_name": l2,
                        "confidence_score": confidence(),
                        "L3_topics": [
                            {"topic_name": l3, "confidence_score": confidence(), "sentiment": rng.randint(3, 10),
                             "resolution": rng.choice((0, 1, 1))}
                            for l3 in l3s
                        ],
                    }
                    for l2, l3s in l2s.items()
                ],
            }
            for l1, l2s in tree.items()
        ],
        "total_topics_identified": len(topics) + len(tree) + sum(len(l2s) for l2s in tree.values()),
    }


def _generated_intents(rng: random.Random, topics: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    intents = []
    for _l1, l2, l3 in topics:
        score = rng.randint(3, 10)
        emotions = [rng.choice(("Happy", "Neutral", "Confusion"))]
        rest = {
            "keywords": list(INTENT_KEYWORDS[l3]),
            "Sentiment": "positive" if score >= 6 else "negative" if score <= 4 else "neutral",
            "Sentiment Score": score,
        }
        intents.append({"emotions": emotions, "intent": l3, **rest})
        intents.append({"emotions": emotions, "topic": f"{l2}: {l3}", **rest})
    return intents


def _ratio(rng: random.Random) -> dict[str, int]:
    positive = rng.randint(5, 80)
    negative = rng.randint(0, 100 - positive)
    return {"positive": positive, "neutral": 100 - positive - negative, "negative": negative}


def _bucket(duration_ms: int | None) -> str:
    if duration_ms is None:
        return "unknown"
    minutes = duration_ms // 60000
    return f"{minutes}-{minutes + 1} mins"


class DemoContactFactory(factory.DictFactory):
    """A contact document for one demo conversation; draws every choice from ``rng`` in order."""

    class Meta:
        rename = {
            "conversation_id": "Conversation ID",
            "start_time": "Conversation Start Time",
            "end_time": "Conversation End Time",
            "language": "Language",
            "sentiment_score": "Sentiment Score",
            "queues": "Queues",
            "agents": "Agents",
            "score": "Kore Evaluation Score",
            "churn_risk": "IsChurnRiskObserved",
            "escalation": "IsEscalationObserved",
            "fatal_errors": "Fatal Errors",
            "emotions": "Emotions",
            "taxonomy_resolution": "Taxonomy Resolution",
            "audit_status": "Audit Status",
            "audit_date": "Audit Date",
            "auditor": "Auditor Name",
            "speaking_rate": "Speaking Rate",
            "sentiment_pattern": "Sentiment Pattern",
            "customer_emotions": "Customer emotions",
            "agent_emotions": "Agent emotions",
            "sentiment_ratio": "Sentiment Ratio",
            "metrics": "Metrics",
            "pass_score": "Pass Score",
            "is_passed": "IsPassed",
            "form_name": "Evaluation Form Name",
            "form_scoring": "Evaluation Form Scoring Type",
            "generated_intents": "Generated Intents",
            "configured_intents": "Configured_Intents",
            "audit_score": "Audit Score",
        }

    class Params:
        rng: random.Random | None = None
        conversation: DemoConversation | None = None
        # Which rule this contact exercises: most are ordinary; some are too short to evaluate, some
        # lack a duration, some were not scored, some were sent without a direction.
        variant = factory.LazyAttribute(
            lambda o: o.rng.choices(
                ("normal", "short", "no_duration", "not_scored", "no_direction"), weights=(72, 10, 6, 6, 6)
            )[0]
        )
        ended = factory.LazyAttribute(
            lambda o: o.conversation.started_at + timedelta(milliseconds=o.rng.randint(2000, 9500))
            if o.variant == "short"
            else o.conversation.ended_at
        )
        duration_ms = factory.LazyAttribute(
            lambda o: None
            if o.variant == "no_duration" or o.ended is None
            else int((o.ended - o.conversation.started_at).total_seconds() * 1000)
        )
        topics = factory.LazyAttribute(lambda o: _topics(o.rng))
        evaluated = factory.LazyAttribute(lambda o: o.variant not in ("not_scored", "short"))
        audit = factory.LazyAttribute(
            lambda o: o.rng.choices(("Unassigned", "Assigned", "Audited"), weights=(60, 20, 20))[0]
            if o.evaluated
            else "Unassigned"
        )

    src = factory.LazyAttribute(lambda o: o.conversation.channel)
    customConversationId = factory.LazyAttribute(
        lambda o: f"EXT-{o.rng.randint(100000, 999999)}" if o.rng.random() < 0.3 else None
    )
    contactDirection = factory.LazyAttribute(
        lambda o: None if o.variant == "no_direction" else o.conversation.direction
    )
    conversation_id = factory.LazyAttribute(lambda o: o.conversation.conversation_id)
    start_time = factory.LazyAttribute(lambda o: render_utc_ms(o.conversation.started_at))
    end_time = factory.LazyAttribute(lambda o: render_utc_ms(o.ended) if o.ended else None)
    language = factory.LazyAttribute(lambda o: o.rng.choices(("English", "Spanish", "German"), (80, 12, 8))[0])
    Duration = factory.LazyAttribute(lambda o: None if o.duration_ms is None else f"{o.duration_ms} milliseconds")
    sentiment_score = factory.LazyAttribute(lambda o: round(o.rng.uniform(-3, 3), 2))
    queues = factory.LazyAttribute(
        lambda o: [{"Queue ID": _stable_id("qu", name), "Queue Name": name} for name in o.conversation.queue_names]
    )
    agents = factory.LazyAttribute(
        lambda o: [
            {
                "agentId": _stable_id("a", name),
                "Agent Name": name,
                "Agent Start Time": render_utc_ms(o.conversation.started_at),
                "Empathy Score": o.rng.randint(0, 10),
                "Agent Email": f"{name.lower().replace(' ', '.')}@demo.example.com",
            }
            for name in o.conversation.agent_names
        ]
    )
    metrics = factory.LazyAttribute(
        lambda o: _metrics(o.rng, o.conversation.started_at, (o.duration_ms or 60000) // 1000) if o.evaluated else []
    )
    score = factory.LazyAttribute(lambda o: _score(o.metrics) if o.evaluated else "NA")
    churn_risk = factory.LazyAttribute(lambda o: o.rng.random() < 0.1)
    escalation = factory.LazyAttribute(lambda o: o.rng.random() < 0.15)
    fatal_errors = factory.LazyAttribute(
        lambda o: sum(1 for m in o.metrics if m["isFatalError"] and m["Qualification"] == "NO")
    )
    customer_emotions = factory.LazyAttribute(lambda o: _proportions(o.rng, EMOTIONS, o.rng.randint(1, 3)))
    agent_emotions = factory.LazyAttribute(lambda o: _proportions(o.rng, AGENT_EMOTIONS, o.rng.randint(1, 2)))
    emotions = factory.LazyAttribute(lambda o: [item["emotion"] for item in o.customer_emotions])
    taxonomy_resolution = factory.LazyAttribute(lambda o: o.rng.choice(("YES", "YES", "NO", "NA")))
    audit_status = factory.LazyAttribute(lambda o: o.audit)
    audit_date = factory.LazyAttribute(
        lambda o: render_utc_ms(min(o.conversation.started_at + timedelta(hours=o.rng.randint(2, 30)), _now()))
        if o.audit == "Audited"
        else None
    )
    auditor = factory.LazyAttribute(lambda o: o.rng.choice(AUDITORS) if o.audit != "Unassigned" else None)
    audit_score = factory.LazyAttribute(
        lambda o: min(100, max(0, o.score + o.rng.randint(-10, 10))) if o.audit == "Audited" else None
    )
    speaking_rate = factory.LazyAttribute(
        lambda o: [{"speaker": "agent", "wordsPerMinute": o.rng.randint(120, 170)},
                   {"speaker": "customer", "wordsPerMinute": o.rng.randint(100, 180)}]
        if o.conversation.channel == "voice"
        else []
    )
    sentiment_pattern = factory.LazyAttribute(
        lambda o: {"start": o.rng.choice(("neutral", "negative", "positive")),
                   "end": o.rng.choice(("neutral", "positive", "positive"))}
    )
    sentiment_ratio = factory.LazyAttribute(lambda o: _ratio(o.rng))
    pass_score = 60
    is_passed = factory.LazyAttribute(lambda o: isinstance(o.score, int) and o.score >= 60)
    form_name = factory.LazyAttribute(
        lambda o: "Voice Care QA" if o.conversation.channel == "voice" else "Digital Chat QA"
    )
    form_scoring = "percentage"
    generated_intents = factory.LazyAttribute(lambda o: _generated_intents(o.rng, o.topics))
    custom_fields = factory.LazyAttribute(
        lambda o: {
            "Region": o.rng.choice(REGIONS),
            "CustomerTier": o.rng.choice(TIERS),
            "CallType": o.rng.choice(("CLINumber", "Callback")) if o.conversation.channel == "voice" else "Web",
            "DurationBucket": _bucket(o.duration_ms),
        }
    )
    configured_intents = factory.LazyAttribute(lambda o: _configured_intents(o.rng, o.topics))

    @factory.post_generation
    def _drop_unset(obj: dict[str, Any], create: bool, extracted: Any, **kwargs: Any) -> None:
        """Keys the platform leaves out rather than sending null."""
        for key in ("customConversationId", "contactDirection", "Duration", "Audit Score"):
            if obj.get(key) is None:
                obj.pop(key, None)


def contacts_seed(*, account: Account, conversations: list[DemoConversation], seed: int) -> int:
    """Ingest one QA contact per voice/chat conversation into the account's first stream.

    1. The stream is the account's first bot (lowest id); contacts link to the conversations by id.
    2. Every document is drawn from one ``random.Random(seed)`` in the conversations' order.
    3. They go through the ingestion path in batches, so re-seeding updates and never duplicates.
    Returns the number of contacts stored.
    """
    stream = account.bots.order_by("pk").first()
    if stream is None:
        raise ValueError(f"Account {account.account_id} has no bot to hold Quality AI contacts.")
    rng = random.Random(seed)
    documents = [
        DemoContactFactory(rng=rng, conversation=conversation)
        for conversation in conversations
        if conversation.channel in QA_CHANNELS
    ]
    stored = 0
    for begin in range(0, len(documents), MAX_BATCH):
        result = contacts_ingest(stream=stream, records=documents[begin : begin + MAX_BATCH])
        if result.rejected:
            raise ValueError(f"Demo contacts were rejected: {result.rejected[:3]}")
        stored += result.created + result.updated
    return stored
