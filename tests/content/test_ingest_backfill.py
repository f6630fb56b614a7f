"""Migration content 0003: interactions stored before this release get their conversation and agent links."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conversations.services import interactions_ingest
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory, SessionRecordFactory

BEFORE = [("content", "0002_documents_lz4")]
AFTER = [("content", "0003_conversations_from_interactions")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="PostgreSQL's tables are partitioned by later migrations, which cannot be migrated back (a restore)",
)
def test_stored_interactions_become_conversations(tenant: Tenant) -> None:
    records = [ConversationRecordFactory(botId=tenant.bot.bot_id), SessionRecordFactory(botId=tenant.bot.bot_id)]
    assert interactions_ingest(account=tenant.account, records=records).rejected == []
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("content", "Conversation").objects.all().delete()  # as before this release
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    conversations = new.get_model("content", "Conversation").objects.order_by("session_id")
    rows: list[dict[str, Any]] = list(conversations.values("session_id", "start_from_interaction", "channel", "status"))
    assert rows == sorted([
        {"session_id": records[0]["sessionId"], "start_from_interaction": True, "channel": "voice",
         "status": "completed"},
        {"session_id": records[1]["sessionId"], "start_from_interaction": True, "channel": "rtm",
         "status": "completed"},
    ], key=lambda row: row["session_id"])
    agents = new.get_model("content", "ConversationAgent").objects.values_list("agent_id", "position")
    assert list(agents) == [("u-agent", 0)]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
