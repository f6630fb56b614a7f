"""The bulk writes behind every ingestion batch: a fixed number of statements, right counts and times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection

from analytics_api.kernel.ingestion import IngestResult, rows_upsert
from conversations.models import Interaction
from conversations.services import interactions_ingest
from qualityai.models import QaContact
from qualityai.services import contacts_ingest
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db

# Statements of a first batch and of the same batch again. Interactions: the account's bot ids,
# savepoint, upsert, [delete the updated ones' queue links,] insert queue links, then their
# conversations (content.services.conversations_from_interactions): upsert, [delete the updated
# ones' agent links,] insert agent links, [give the updated ones' documents their start (3 tables)],
# release. Contacts: the same without the bot ids and conversations, with custom-field rows for
# queue links. SQLite also reads which keys exist before each upsert (it has no way to tell inserted
# rows from updated ones in one statement). Interactions then refresh their conversations' search
# entries (search.services.search_index_refresh: savepoint, two deletes, three reads, inserts,
# release; the insert of message units only when a record has disposition remarks, hence "at most");
# both end with the change log's insert (changes.services.changes_record), and contacts with the marks
# of the days they wrote (qualityai.day_counts.contact_days_mark). On PostgreSQL the upsert
# of a table partitioned by month is two statements (analytics_api.kernel.partitions: claim the
# keys, then insert the new rows or update the existing ones): interactions, conversations and
# contacts are.
STATEMENTS = {
    "interactions": {"postgresql": (20, 26), "sqlite": (19, 25)},
    "contacts": {"postgresql": (7, 8), "sqlite": (7, 8)},
}


def _sizes() -> list[int]:
    # SQLite splits a large INSERT into chunks of its 999-parameter limit: only small batches there.
    return [2, 200] if connection.vendor == "postgresql" else [2]


def _batch(kind: str, tenant: Tenant, size: int) -> Callable[[], IngestResult]:
    if kind == "interactions":
        records = [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(size)]
        return lambda: interactions_ingest(account=tenant.account, records=records)
    documents = ContactDocumentFactory.build_batch(size)
    return lambda: contacts_ingest(stream=tenant.bot, records=documents)


@pytest.mark.parametrize("kind", sorted(STATEMENTS))
def test_a_batch_is_a_fixed_number_of_statements_whatever_its_size(
    tenant: Tenant, kind: str, django_assert_max_num_queries: Any
) -> None:
    first, again = STATEMENTS[kind][connection.vendor]
    for size in _sizes():
        ingest = _batch(kind, tenant, size)
        with django_assert_max_num_queries(first):
            assert ingest().created == size
        with django_assert_max_num_queries(again):
            assert ingest().updated == size


def test_resending_keeps_created_at_and_moves_updated_at(tenant: Tenant) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id)
    contact = ContactDocumentFactory()
    with time_machine.travel(datetime(2026, 1, 1, 9, tzinfo=UTC), tick=False):
        interactions_ingest(account=tenant.account, records=[record])
        contacts_ingest(stream=tenant.bot, records=[contact])
    with time_machine.travel(datetime(2026, 1, 2, 9, tzinfo=UTC), tick=False):
        interactions_ingest(account=tenant.account, records=[record])
        contacts_ingest(stream=tenant.bot, records=[contact])

    for row in (Interaction.objects.get(), QaContact.objects.get()):
        assert (row.created_at.day, row.updated_at.day) == (1, 2)


def test_an_upsert_says_which_rows_were_new_and_their_keys(tenant: Tenant) -> None:
    interactions_ingest(account=tenant.account, records=[ConversationRecordFactory(botId=tenant.bot.bot_id,
                                                                                   sessionId="old")])
    existing = Interaction.objects.get()
    rows = [
        {**{field: getattr(existing, field) for field in ("account_id", "conversation_id", "channel", "bot_id",
                                                           "session_start", "session_end", "document",
                                                           "recording_sources")},
         "served": None, "session_id": session_id}
        for session_id in ("old", "new")
    ]

    stored = rows_upsert(Interaction, rows, scope="account_id", key="session_id")

    assert {key: (row.pk == existing.pk, row.created) for key, row in stored.items()} == {
        "old": (True, False), "new": (False, True),
    }
    assert Interaction.objects.get(session_id="old").served is None
