"""Concurrent batches over the same keys, in opposite orders, on PostgreSQL: no deadlock, each row once.

Found by an adversarial review: ``INSERT … ON CONFLICT`` takes its row locks in the order of its
input, so two batches holding overlapping ``sessionId``s in opposite orders deadlocked, and the
client read 503 "backing service unavailable". Rows are now written in the order of their key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from conversations.models import Interaction, InteractionQueue
from qualityai.models import QaContact, QaContactCustomField
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory
from tests.qualityai.factories import ContactDocumentFactory
from tests.threads import all_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

ROUNDS = 5
SIZE = 900


def race(tenant: Tenant, path: str, batches: list[list[dict[str, Any]]]) -> list[Any]:
    """Post each batch from its own thread (its own connection), all at once; the responses."""
    return all_at_once([
        functools.partial(APIClient().post, path, {"records": batch}, format="json", headers={"auth": tenant.token()})
        for batch in batches
    ])


def opposite_orders(make: Callable[[int], dict[str, Any]]) -> list[list[dict[str, Any]]]:
    records = [make(number) for number in range(SIZE)]
    # Overlapping halves: the middle third is in both batches, in opposite orders.
    return [records[: 2 * SIZE // 3], list(reversed(records[SIZE // 3:]))]


def test_interaction_batches_in_opposite_orders_never_deadlock(tenant: Tenant) -> None:
    def record(number: int) -> dict[str, Any]:
        return ConversationRecordFactory(
            botId=tenant.bot.bot_id, sessionId=f"s-{number:03d}", destinations=[QueueEntryFactory(queueId="qu-1")]
        )

    for _round in range(ROUNDS):
        responses = race(tenant, "/api/v1/ingest/interactions", opposite_orders(record))
        assert [response.status_code for response in responses] == [200, 200], [r.content for r in responses]
        assert all(response.json()["rejected"] == [] for response in responses)

    assert Interaction.objects.count() == SIZE
    assert InteractionQueue.objects.count() == SIZE


def test_contact_batches_in_opposite_orders_never_deadlock(tenant: Tenant) -> None:
    def contact(number: int) -> dict[str, Any]:
        return ContactDocumentFactory(conversation_id=f"c-{number:03d}", custom_fields={"Region": "US"})

    path = f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts"
    for _round in range(ROUNDS):
        responses = race(tenant, path, opposite_orders(contact))
        assert [response.status_code for response in responses] == [200, 200], [r.content for r in responses]

    assert QaContact.objects.count() == SIZE
    assert QaContactCustomField.objects.count() == SIZE
