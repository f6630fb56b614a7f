"""The ``conversations`` dataset of the change feed and counts (docs/contract.md#change-feed): every
writer of a conversation records its change; records as the detail endpoint serves them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changes.models import Change
from tests.changes.conftest import COUNTS, drain, feed
from tests.changes.test_counts import from_feed
from tests.conftest import Tenant, make_tenant
from tests.content.ingest_helpers import ContentRecordFactory, message, send
from tests.supervision.conftest import EMAIL, PHONE, a_conversation

pytestmark = pytest.mark.django_db

DETAIL = "/api/v1/conversations/{}"


def step(tenant: Tenant, cursor: str | None) -> tuple[list[dict[str, Any]], str]:
    return drain(tenant, "conversations", cursor)


def test_ingest_append_flag_dispositions_and_delete_come_in_order_with_growing_versions(tenant: Tenant) -> None:
    record = ContentRecordFactory()
    session_id = record["sessionId"]
    assert send(tenant, [record]).status_code == 200
    created, cursor = step(tenant, None)
    assert [(item["op"], item["key"]) for item in created] == [("upsert", session_id)]
    assert created[0]["record"] == tenant.get(DETAIL.format(session_id)).json()

    appended = {"sessionId": session_id, "transcript": [message(4)], "transcriptMode": "append"}
    assert send(tenant, [appended]).status_code == 200
    after_append, cursor = step(tenant, cursor)
    flag = tenant.post(DETAIL.format(session_id) + "/flags", {"reason": "Check"})
    assert flag.status_code == 201, flag.content
    after_flag, cursor = step(tenant, cursor)
    assert after_flag[0]["record"]["details"]["flagged"] is True
    assert after_flag[0]["record"] == tenant.get(DETAIL.format(session_id)).json()
    assert tenant.delete(DETAIL.format(session_id)).status_code == 204
    deleted, cursor = step(tenant, cursor)

    versions = [items[0]["version"] for items in (created, after_append, after_flag, deleted)]
    assert [len(items) for items in (after_append, after_flag, deleted)] == [1, 1, 1]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert deleted[0] == {"cursor": deleted[0]["cursor"], "op": "delete", "key": session_id, "version": versions[-1]}
    assert step(tenant, cursor)[0] == []


def test_interaction_ingestion_and_disposition_edits_record_the_conversation(tenant: Tenant) -> None:
    a_conversation(tenant, "s-1")
    first, cursor = step(tenant, None)
    assert [item["key"] for item in first] == ["s-1"]
    response = tenant.put(DETAIL.format("s-1") + "/dispositions", {"dispositions": ["Resolved"], "remarks": "ok"})
    assert response.status_code == 200, response.content

    edited, _cursor = step(tenant, cursor)

    assert [item["key"] for item in edited] == ["s-1"]
    assert edited[0]["version"] > first[0]["version"]
    assert edited[0]["record"]["details"]["dispositions"] == ["Resolved"]
    assert edited[0]["record"] == tenant.get(DETAIL.format("s-1")).json()


def test_records_are_masked_when_the_account_obscures_customer_info(tenant: Tenant) -> None:
    a_conversation(tenant, "s-1")
    assert tenant.put("/api/v1/settings/privacy", {"obscureCustomerInfo": True}).status_code == 200

    items, _cursor = step(tenant, None)

    served = items[0]["record"]
    assert served == tenant.get(DETAIL.format("s-1")).json()
    assert PHONE not in str(served) and EMAIL not in str(served)


def test_another_accounts_conversations_are_never_served(tenant: Tenant, outsider: Tenant) -> None:
    assert send(outsider, [ContentRecordFactory()]).status_code == 200
    record = ContentRecordFactory()
    assert send(tenant, [record]).status_code == 200

    items, _cursor = step(tenant, None)

    assert [item["key"] for item in items] == [record["sessionId"]]
    assert Change.objects.filter(dataset="conversations").count() == 2


def test_a_batch_records_its_conversations_in_one_statement(tenant: Tenant) -> None:
    assert send(tenant, ContentRecordFactory.build_batch(30)).status_code == 200

    changes = Change.objects.filter(dataset="conversations", account=tenant.account)

    assert changes.count() == 30
    assert len(set(changes.values_list("changed_at", flat=True))) == 1


def test_the_counts_checksums_are_those_computed_from_the_feed(tenant: Tenant) -> None:
    for number in range(1, 6):
        a_conversation(tenant, "s-" + "x" * number)
    assert send(tenant, ContentRecordFactory.build_batch(4)).status_code == 200
    items, _cursor = step(tenant, None)
    expected = from_feed(items, "conversations", "day")

    response = tenant.post(COUNTS, {"dataset": "conversations", "startDate": "2025-01-01", "endDate": "2026-12-31",
                                    "granularity": "day"})

    assert response.status_code == 200, response.content
    counted = {bucket["start"]: (bucket["count"], bucket["checksum"]) for bucket in response.json() if bucket["count"]}
    assert counted == expected
    assert sum(count for count, _sum in counted.values()) == 9


def test_the_feed_of_conversations_needs_their_read_scope(tenant: Tenant) -> None:
    reader = make_tenant(scopes=["analytics"])

    response = feed(reader, "conversations")

    assert response.status_code == 403, response.content


def test_a_page_of_conversations_is_read_in_a_fixed_number_of_queries(tenant: Tenant) -> None:
    assert send(tenant, ContentRecordFactory.build_batch(3)).status_code == 200
    step(tenant, None)  # warm-up
    with CaptureQueriesContext(connection) as small:
        assert len(feed(tenant, "conversations").json()["items"]) == 3
    assert send(tenant, ContentRecordFactory.build_batch(40)).status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert len(feed(tenant, "conversations").json()["items"]) == 43

    assert len(large.captured_queries) == len(small.captured_queries)
