"""The change feed: items, order, paging, tombstones, versions (docs/contract.md#change-feed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from changes.models import Change
from conversations.models import Interaction
from tests.changes.conftest import (
    FEED,
    conversations,
    drain,
    feed,
    ingest,
    interactions_delete,
    sessions,
)
from tests.conftest import Tenant, make_tenant
from tests.conversations.factories import utc

DETAILS = "/agentassist/api/public/analytics/account/{}/v2/interactionDetails"
ALL_SECTIONS = {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []}

pytestmark = pytest.mark.django_db


def served_by_details(tenant: Tenant) -> dict[str, Any]:
    body = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0, "selectedFields": ALL_SECTIONS}
    response = tenant.post(DETAILS.format(tenant.account_id), body)
    assert response.status_code == 200, response.content
    return {record["sessionId"]: record for record in response.json()["data"]}


def test_from_the_beginning_every_record_comes_as_interaction_details_serves_it_in_utc(tenant: Tenant) -> None:
    ingest(tenant, sessions(tenant, 2) + conversations(tenant, 2, customerinfo={"tier": "gold"}))

    response = feed(tenant)

    assert response.status_code == 200
    page = response.json()
    assert page["endOfStream"] is True
    assert [item["op"] for item in page["items"]] == ["upsert"] * 4
    assert {item["key"]: item["record"] for item in page["items"]} == served_by_details(tenant)
    assert page["completeUpTo"].endswith("Z")
    cursors = [item["cursor"] for item in page["items"]]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4
    assert page["nextCursor"] >= cursors[-1]


def test_resuming_from_next_cursor_serves_only_what_changed_since(tenant: Tenant) -> None:
    records = sessions(tenant, 3)
    ingest(tenant, records)
    first, cursor = drain(tenant)

    ingest(tenant, [{**records[1], "finalStatus": "Abandoned"}])
    later, next_cursor = drain(tenant, cursor=cursor)

    assert [item["key"] for item in later] == [records[1]["sessionId"]]
    assert later[0]["record"]["finalStatus"] == "Abandoned"
    assert later[0]["cursor"] > cursor
    before = {item["key"]: item["version"] for item in first}
    assert later[0]["version"] > before[records[1]["sessionId"]]
    assert drain(tenant, cursor=next_cursor)[0] == []


def test_a_deleted_record_comes_as_a_tombstone_without_record(tenant: Tenant) -> None:
    records = sessions(tenant, 2)
    ingest(tenant, records)
    _items, cursor = drain(tenant)

    interactions_delete(tenant, [records[0]["sessionId"]])
    items, _cursor = drain(tenant, cursor=cursor)

    assert len(items) == 1
    assert items[0]["op"] == "delete" and items[0]["key"] == records[0]["sessionId"]
    assert "record" not in items[0]
    assert set(items[0]) == {"cursor", "op", "key", "version"}


def test_pages_of_limit_items_cover_the_stream_once_in_ascending_order(tenant: Tenant) -> None:
    records = sessions(tenant, 25)
    ingest(tenant, records[:10])
    ingest(tenant, records[10:])

    first = feed(tenant, limit=10).json()
    assert len(first["items"]) == 10 and first["endOfStream"] is False
    assert first["nextCursor"] == first["items"][-1]["cursor"]
    items, _cursor = drain(tenant, limit=7)

    assert len(items) == 25
    assert {item["key"] for item in items} == {record["sessionId"] for record in records}
    cursors = [item["cursor"] for item in items]
    assert cursors == sorted(cursors) and len(set(cursors)) == 25


def test_a_record_changed_twice_before_a_read_is_served_once_at_its_last_change(tenant: Tenant) -> None:
    record = sessions(tenant, 1)[0]
    ingest(tenant, [record])
    ingest(tenant, [{**record, "finalStatus": "Abandoned"}])

    items, _cursor = drain(tenant)

    assert [(item["key"], item["record"]["finalStatus"]) for item in items] == [(record["sessionId"], "Abandoned")]
    assert items[0]["version"] == Change.objects.filter(dataset="interactions", key=record["sessionId"]).latest("id").pk


def test_a_page_that_ends_before_a_records_later_change_serves_it_with_that_later_version(tenant: Tenant) -> None:
    records = sessions(tenant, 2)
    ingest(tenant, records)
    ingest(tenant, [{**records[0], "finalStatus": "Abandoned"}])
    first, latest = Change.objects.filter(dataset="interactions", key=records[0]["sessionId"]).order_by("id")

    page = feed(tenant, limit=1).json()

    assert [(item["cursor"][16:32], item["key"], item["version"]) for item in page["items"]] == [
        (f"{first.pk:016x}", records[0]["sessionId"], latest.pk)
    ]
    assert page["items"][0]["record"]["finalStatus"] == "Abandoned"


def test_a_record_whose_start_moved_to_another_month_is_served_as_it_is_now(tenant: Tenant) -> None:
    # From 2025 to this month: on PostgreSQL from the partition of every month before the
    # conversion to this month's, so the record is read where its row is now.
    record = sessions(tenant, 1)[0]
    ingest(tenant, [record])
    partition_before = _partition_of(record["sessionId"])
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    moved = {**record, "sessionStartTime": utc(start), "sessionEndTime": utc(start + timedelta(seconds=30))}
    ingest(tenant, [moved])

    items, _cursor = drain(tenant)

    assert [(item["op"], item["key"], item["record"]["sessionStartTime"]) for item in items] == [
        ("upsert", record["sessionId"], start.strftime("%Y-%m-%dT%H:%M:%S"))
    ]
    if connection.vendor == "postgresql":
        assert _partition_of(record["sessionId"]) != partition_before


def _partition_of(session_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {'tableoid::regclass::text' if connection.vendor == 'postgresql' else 'NULL'} "
            f"FROM {Interaction._meta.db_table} WHERE session_id = %s",
            [session_id],
        )
        return cursor.fetchone()[0]


def test_a_rolled_back_batch_leaves_no_change(tenant: Tenant) -> None:
    record = sessions(tenant, 1)[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(tenant, [record])
        raise RuntimeError

    assert Change.objects.count() == 0
    assert drain(tenant)[0] == []


def test_another_accounts_changes_are_never_served(tenant: Tenant, outsider: Tenant) -> None:
    ingest(outsider, sessions(outsider, 3))
    ingest(tenant, sessions(tenant, 1))

    items, _cursor = drain(tenant)

    assert len(items) == 1
    assert drain(outsider)[0] != [] and all(item["key"] != items[0]["key"] for item in drain(outsider)[0])


def test_a_page_is_read_in_a_fixed_number_of_queries(tenant: Tenant, django_assert_num_queries: Any) -> None:
    ingest(tenant, sessions(tenant, 40) + conversations(tenant, 40))
    feed(tenant, limit=5)  # warm the client's caches
    with CaptureQueriesContext(connection) as small:
        feed(tenant, limit=2)

    with django_assert_num_queries(len(small)):
        response = feed(tenant, limit=80)
    assert response.status_code == 200 and len(response.json()["items"]) == 80


@pytest.mark.parametrize(
    ("query", "field", "code", "msg"),
    [
        ("", "dataset", "required", "dataset is required: interactions, qa_contacts, conversations."),
        ("dataset=calls", "dataset", "invalid_choice",
         "dataset must be one of interactions, qa_contacts, conversations, not 'calls'."),
        ("dataset=interactions&cursor=xyz", "cursor", "invalid",
         "cursor must be a cursor this feed returned (nextCursor or an item's cursor): 40 hex digits."),
        ("dataset=interactions&limit=10001", "limit", "out_of_range",
         "limit must be an integer from 1 to 10,000."),
        ("dataset=interactions&limit=0", "limit", "out_of_range",
         "limit must be an integer from 1 to 10,000."),
    ],
)
def test_bad_parameters_are_400_naming_the_field(tenant: Tenant, query: str, field: str, code: str, msg: str) -> None:
    response = tenant.get(f"{FEED}?{query}")

    assert response.status_code == 400
    assert response.json() == {"errors": [{"msg": msg, "code": code, "field": field}]}


def test_the_datasets_read_scope_is_required(db: Any) -> None:
    analyst = make_tenant(scopes=["smartassist.analytics"])

    assert analyst.get(f"{FEED}?dataset=interactions").status_code == 200
    response = analyst.get(f"{FEED}?dataset=qa_contacts")
    assert response.status_code == 403
    assert response.json()["errors"][0]["msg"] == "This API client lacks the scope 'qualityai.analytics'."


def test_without_a_token_it_is_401_whatever_the_dataset(anonymous: Any) -> None:
    for query in ("dataset=interactions", "dataset=nope", ""):
        assert anonymous.get(f"{FEED}?{query}").status_code == 401


def test_records_without_a_current_pre_rendered_text_are_served_the_same(tenant: Tenant) -> None:
    records = conversations(tenant, 3, customerinfo={"tier": "gold"}) + sessions(tenant, 2)
    ingest(tenant, records)
    Interaction.objects.filter(session_id__in=[records[0]["sessionId"], records[3]["sessionId"]]).update(
        served_version=0
    )

    items, _cursor = drain(tenant)

    assert {item["key"]: item["record"] for item in items} == served_by_details(tenant)
