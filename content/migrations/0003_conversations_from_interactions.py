"""Every interaction stored before conversation content existed gets its conversation row and agent links.

Since this release interaction ingestion writes them itself (content.services.conversations_from_interactions);
this does the same once for the interactions already stored, a thousand at a time, so they are listed
as conversations without being sent again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import migrations

CHUNK = 1000


def _agent_ids(document: dict[str, Any]) -> list[str]:
    agents: list[str] = []
    for destination in document.get("destinations", ()):
        kind = destination.get("destinationType")
        agent = destination.get("respondingAgent", {}) if kind == "QueueEntry" else destination
        if kind in ("QueueEntry", "AgentSegment") and agent.get("agentId"):
            agents.append(agent["agentId"])
    return list(dict.fromkeys(agents))


def forwards(apps: Any, schema_editor: Any) -> None:
    interactions = apps.get_model("conversations", "Interaction")
    conversation_model = apps.get_model("content", "Conversation")
    agent_model = apps.get_model("content", "ConversationAgent")
    now = datetime.now(UTC)
    last = 0
    while True:
        chunk = list(
            interactions.objects.filter(pk__gt=last).order_by("pk").values(
                "pk", "account_id", "session_id", "channel", "session_start", "session_end", "document"
            )[:CHUNK]
        )
        if not chunk:
            return
        last = chunk[-1]["pk"]
        known = {
            (account, session)
            for account, session in conversation_model.objects.filter(
                session_id__in=[row["session_id"] for row in chunk]
            ).values_list("account_id", "session_id")
        }
        new = [row for row in chunk if (row["account_id"], row["session_id"]) not in known]
        conversation_model.objects.bulk_create([
            conversation_model(
                account_id=row["account_id"], session_id=row["session_id"], started_at=row["session_start"],
                start_from_interaction=True, channel=row["channel"], ended_at=row["session_end"],
                status="completed" if row["session_end"] and row["session_end"] <= now else "in_progress",
            )
            for row in new
        ])
        pks = {
            (account, session): pk
            for pk, account, session in conversation_model.objects.filter(
                session_id__in=[row["session_id"] for row in new]
            ).values_list("pk", "account_id", "session_id")
        }
        agent_model.objects.bulk_create([
            agent_model(
                conversation_id=pks[(row["account_id"], row["session_id"])], account_id=row["account_id"],
                agent_id=agent_id, position=position, started_at=row["session_start"],
            )
            for row in new
            for position, agent_id in enumerate(_agent_ids(row["document"] or {}))
        ])


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0002_documents_lz4"),
        ("conversations", "0004_served_version"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
