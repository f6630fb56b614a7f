"""Concurrent writers of the same conversations, on PostgreSQL: no append is lost, no row doubled."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from content.models import Conversation, Transcript
from conversations.services import interactions_ingest
from tests.conftest import Tenant
from tests.content.factories import BASE
from tests.content.ingest_helpers import INGEST_CONTENT, message
from tests.conversations.factories import ConversationRecordFactory
from tests.threads import all_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

WRITERS = 4
CONVERSATIONS = 60


def _post(tenant: Tenant, body: dict[str, Any]) -> Any:
    return APIClient().post(INGEST_CONTENT, body, format="json", headers={"auth": tenant.token()})


def test_appends_racing_on_new_conversations_keep_every_message(tenant: Tenant) -> None:
    def batch(writer: int) -> dict[str, Any]:
        records = [{"sessionId": f"live-{number:03d}", "transcript": [message(writer)]}
                   for number in range(CONVERSATIONS)]
        # Opposite orders as well: the batch's keys are locked in key order, so no deadlock either.
        return {"transcriptMode": "append", "records": records if writer % 2 else records[::-1]}

    responses = all_at_once([functools.partial(_post, tenant, batch(writer)) for writer in range(WRITERS)])
    assert [response.status_code for response in responses] == [200] * WRITERS
    assert sum(response.json()["created"] for response in responses) == CONVERSATIONS
    assert Conversation.objects.count() == CONVERSATIONS
    for transcript in Transcript.objects.all():
        assert [item["id"] for item in transcript.messages] == [f"m{writer}" for writer in range(WRITERS)]
    assert set(Conversation.objects.values_list("message_count", flat=True)) == {WRITERS}


def test_interaction_and_content_racing_end_with_the_interactions_start(tenant: Tenant) -> None:
    start = BASE - timedelta(hours=1)
    interactions = [ConversationRecordFactory(botId=tenant.bot.bot_id, sessionId=f"s-{number:03d}", start=start)
                    for number in range(CONVERSATIONS)]
    contents = {"records": [{"sessionId": f"s-{number:03d}", "status": "completed", "transcript": [message(1)]}
                            for number in range(CONVERSATIONS)]}

    def interaction_batch() -> Any:
        result = interactions_ingest(account=tenant.account, records=interactions)
        assert result.rejected == []
        return result

    responses = all_at_once([interaction_batch, functools.partial(_post, tenant, contents)])
    assert responses[1].status_code == 200
    assert Conversation.objects.count() == CONVERSATIONS
    assert set(Conversation.objects.values_list("started_at", "start_from_interaction", "status", "message_count")) == {
        (start, True, "completed", 1)}
    assert set(Transcript.objects.values_list("started_at", flat=True)) == {start}
