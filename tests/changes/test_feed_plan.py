"""On PostgreSQL a page of the feed is an ordered range scan of each monthly partition of the log,
merged: never the whole range read and sorted, even where the planner's estimate of the range's
size is wrong (every change of a reader's range under one transaction id, as a bulk load leaves)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changes.models import Change
from tests.changes.conftest import feed
from tests.conftest import Tenant

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are checked on PostgreSQL")

CHANGES = 20_000


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _page_plan(tenant: Tenant) -> list[dict[str, Any]]:
    """The plan of the page's statement as the feed sends it (its settings applied first)."""
    with CaptureQueriesContext(connection) as captured:
        response = feed(tenant, limit=100)
    assert response.status_code == 200 and len(response.json()["items"]) == 100
    (sql,) = [query["sql"] for query in captured.captured_queries if f'FROM {Change._meta.db_table} p ' in query["sql"]]
    settings, _, statement = sql.rpartition("; ")
    with connection.cursor() as cursor:
        cursor.execute(settings)  # SET LOCAL: until the test's transaction ends
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement)
        raw = cursor.fetchone()[0]
    return list(_nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]))


def test_a_page_merges_the_partitions_ordered_scans_without_sorting_the_range(tenant: Tenant) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Change._meta.db_table} (account_id, dataset, key, op, txid, changed_at) "
            "SELECT %s, 'interactions', 's-' || n, 'upsert', 0, now() FROM generate_series(1, %s) AS n",
            [tenant.account.pk, CHANGES],
        )
        cursor.execute(f"ANALYZE {Change._meta.db_table}")

    nodes = _page_plan(tenant)

    types = [node["Node Type"] for node in nodes]
    assert "Sort" not in types, types
    assert "Merge Append" in types, types
