"""Content ingestion as a batch: scope, batch errors, all-or-nothing writes, a constant number of queries."""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from analytics_api.models import ApiClient
from content.models import Conversation, EventLog, Transcript
from content.services import conversations_ingest
from tests.conftest import Tenant
from tests.content.ingest_helpers import INGEST_CONTENT, ContentRecordFactory, event, message, send


def test_ingestion_needs_the_ingest_scope(tenant: Tenant) -> None:
    ApiClient.objects.filter(pk=tenant.api_client.pk).update(scopes=["conversations.read"])
    response = send(tenant, [ContentRecordFactory()])
    assert response.status_code == 403
    assert response.json()["errors"][0]["msg"] == "This API client lacks the scope 'ingest'."
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(("body", "msg", "code"), [
    ({"records": []}, "Send at least one record.", "empty"),
    ({"records": [{"sessionId": "x"}] * 1001}, "A batch holds at most 1000 records: split it into several requests.",
     "too_many"),
    ({"record": []}, 'records is required: send {"records": [...]} with 1 to 1000 records.', "required"),
])
def test_a_body_that_is_not_a_batch_is_a_400(tenant: Tenant, body: dict[str, Any], msg: str, code: str) -> None:
    response = tenant.post(INGEST_CONTENT, body)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"msg": msg, "code": code, "field": "records"}]
    assert not Conversation.objects.exists()


def test_duplicates_inside_a_batch_behave_as_if_sent_in_turn(tenant: Tenant) -> None:
    first = {"sessionId": "d", "transcriptMode": "append", "transcript": [message(1)], "status": "in_progress"}
    second = {"sessionId": "d", "transcriptMode": "append", "transcript": [message(2)], "status": "completed"}
    assert send(tenant, [first, second]).json() == {"created": 1, "updated": 0, "rejected": []}
    # The last copy wins (as a batch of one record sent after the other would end, for replaced sections).
    assert Conversation.objects.get().status == "completed"


def test_a_database_failure_writes_nothing(tenant: Tenant) -> None:
    send(tenant, [{"sessionId": "kept", "status": "completed", "transcript": [message(1)]}])
    records = [ContentRecordFactory(events=[event(1)]), {"sessionId": "kept", "status": "error",
                                                          "transcript": [message(7)]}]
    with mock.patch("content.services.children_replace", side_effect=OperationalError("disk full")), \
            pytest.raises(OperationalError):
        conversations_ingest(account=tenant.account, records=records)
    row = Conversation.objects.get()
    assert (row.session_id, row.status) == ("kept", "completed")
    assert [m["id"] for m in Transcript.objects.get().messages] == ["m1"]
    assert not EventLog.objects.exists()


def _records(count: int, tag: str) -> list[dict[str, Any]]:
    return [
        ContentRecordFactory(sessionId=f"{tag}-{number}", transcriptMode="append", events=[event(1)],
                             voiceTurns=[{"turn": 1}], status="completed", csat={"score": 3})
        for number in range(count)
    ]


def _statements(model: type, rows: int) -> int:
    """Insert statements of ``rows`` rows: one on PostgreSQL, SQLite's variable limit may split them."""
    if connection.vendor == "postgresql":
        return 1
    return math.ceil(rows / connection.ops.bulk_batch_size(model._meta.concrete_fields, [None] * rows))


@pytest.mark.parametrize("again", [False, True], ids=["created", "updated"])
def test_the_queries_of_a_batch_do_not_grow_with_its_size(
    tenant: Tenant, again: bool
) -> None:
    small, large = _records(10, "small"), _records(100, "large")
    if again:
        for batch in (small, large):
            assert conversations_ingest(account=tenant.account, records=batch).rejected == []
    tenant.get("/api/v1/conversations/warm-up")  # the API client is then in this process's cache for both
    with CaptureQueriesContext(connection) as ten:
        assert send(tenant, small).json()["rejected"] == []
    split = sum(_statements(model, 100) - _statements(model, 10) for model in (Conversation, Transcript, EventLog))
    with CaptureQueriesContext(connection) as hundred:
        assert send(tenant, large).json() == {"created": 0 if again else 100, "updated": 100 if again else 0,
                                              "rejected": []}
    # The search index's inserts are one per message unit, split by SQLite's variable limit like the
    # others (search's own tests count them); every other statement is one per batch.
    assert _not_indexing(hundred) == _not_indexing(ten) + (2 * split if again else split)


def _not_indexing(queries: CaptureQueriesContext) -> int:
    return sum(1 for query in queries.captured_queries if not query["sql"].startswith('INSERT INTO "search_'))
