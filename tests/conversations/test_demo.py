"""conversations.demo.interactions_seed: deterministic, every documented shape, served as stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import time_machine

from conversations.demo import interactions_seed
from conversations.models import Interaction
from tests.conftest import Tenant
from tests.conversations.conftest import details

TODAY = datetime(2025, 10, 1, 12, tzinfo=UTC)


def documents(tenant: Tenant) -> list[dict[str, Any]]:
    return list(Interaction.objects.filter(account=tenant.account).order_by("session_start", "session_id")
                .values_list("document", flat=True))


@time_machine.travel(TODAY, tick=False)
def test_same_seed_same_data_and_reseeding_updates(tenant: Tenant, outsider: Tenant) -> None:
    first = interactions_seed(account=tenant.account, days=2, per_day=30, seed=7)
    again = interactions_seed(account=tenant.account, days=2, per_day=30, seed=7)
    assert first == again
    assert Interaction.objects.filter(account=tenant.account).count() == 60
    other = interactions_seed(account=outsider.account, days=2, per_day=30, seed=8)
    assert [c.session_id for c in other] != [c.session_id for c in first]


@time_machine.travel(TODAY, tick=False)
def test_every_documented_shape_is_seeded(tenant: Tenant) -> None:
    conversations = interactions_seed(account=tenant.account, days=3, per_day=40, seed=1)
    docs = documents(tenant)
    agent_docs = [doc for doc in docs if "conversationId" in doc]
    queues = [d for doc in agent_docs for d in doc["destinations"] if d["destinationType"] == "QueueEntry"]

    assert any("conversationId" not in doc for doc in docs)  # bot-only sessions
    assert {doc["channel"] for doc in agent_docs} == {"Voice", "Web/Mobile Client", "System Mail"}
    assert {doc["Direction"] for doc in agent_docs if doc["channel"] == "Voice"} == {"Inbound", "Outbound"}
    assert any(q.get("CallbackOpted") and "CallbackOptedTime" in q for q in queues)
    assert any("nonRespondingAgents" in q for q in queues)
    assert any(q["respondingAgent"]["ConsultingAgents"] for q in queues)
    assert any(d["destinationType"] == "AgentSegment" for doc in agent_docs for d in doc["destinations"])
    assert any(doc["dispositions"] for doc in agent_docs)
    assert all({"skills", "customerinfo", "userleveltags", "sessionleveltags"} <= set(doc) for doc in agent_docs)
    assert {doc["botId"] for doc in docs} == {tenant.bot.bot_id}
    # Skill ids have the platform's shape (24 hex digits), not a slice of a UUID with its dashes.
    assert all(re.fullmatch(r"[0-9a-f]{24}", skill["id"]) for doc in agent_docs for skill in doc["skills"])

    assert [c.conversation_id for c in conversations] == [doc["conversationId"] for doc in agent_docs]
    call = next(c for c in conversations if c.channel == "voice")
    assert call.conversation_id.startswith("c-")
    assert call.started_at.tzinfo is not None and call.started_at.date() <= TODAY.date()
    assert call.queue_names and call.agent_names
    assert call.direction in ("inbound", "outbound")


@time_machine.travel(TODAY, tick=False)
def test_seeded_data_is_served_by_interaction_details(tenant: Tenant) -> None:
    interactions_seed(account=tenant.account, days=2, per_day=20, seed=3)
    body = details(
        tenant,
        {"startDate": "2025-09-30", "endDate": "2025-10-01", "timeZoneOffset": 0,
         "selectedFields": {"customerinfo": []}},
    ).json()
    assert body["numResults"] == 40
    assert all("T" in record["sessionStartTime"] and "Z" not in record["sessionStartTime"]
               for record in body["data"])
