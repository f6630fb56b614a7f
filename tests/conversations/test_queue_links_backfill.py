"""Migration conversations 0006: queue links stored before it get their record's session id, channel and bot."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conversations.services import interactions_ingest
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory

BEFORE = [("conversations", "0005_monthly_partitions")]
AFTER = [("conversations", "0006_queue_links_page")]


@pytest.mark.django_db(transaction=True)
def test_stored_queue_links_are_filled_from_their_interactions(tenant: Tenant) -> None:
    records = [
        ConversationRecordFactory(
            botId=tenant.bot.bot_id, channel=channel,
            destinations=[QueueEntryFactory(queueId="qu-a"), QueueEntryFactory(queueId="qu-b")],
        )
        for channel in ("voice", "email")
    ]
    assert interactions_ingest(account=tenant.account, records=records).rejected == []
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    links = executor.loader.project_state(AFTER).apps.get_model("conversations", "InteractionQueue").objects
    assert sorted(links.values_list("session_id", "queue_id", "channel", "bot_id")) == sorted(
        (record["sessionId"], queue, record["channel"], tenant.bot.bot_id)
        for record in records
        for queue in ("qu-a", "qu-b")
    )
