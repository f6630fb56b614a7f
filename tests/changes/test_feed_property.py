"""Property: a consumer reading the feed while records are ingested, updated, deleted and the log is
pruned ends with exactly the database's records, versions and checksums."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from changes.counts import checksum_add
from changes.datasets import interaction_records
from changes.models import Change
from changes.services import changes_prune
from conversations.models import Interaction
from tests.changes.conftest import COUNTS, feed, ingest, interactions_delete, sessions
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, tzinfo=UTC)
STEPS = st.lists(
    st.tuples(st.sampled_from(["ingest", "update", "delete", "read", "read", "age"]), st.integers(1, 400)),
    min_size=25,
    max_size=40,
)


class Consumer:
    """What a BI job keeps: the records by key with their versions, and its cursor."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.records: dict[str, tuple[int, dict[str, Any]]] = {}
        self.cursor: str | None = None
        self.resyncs = 0

    def read(self, limit: int) -> bool:
        """One page; True at the end of the stream. An expired cursor: start again from the beginning."""
        response = feed(self.tenant, cursor=self.cursor, limit=limit)
        if response.status_code == 410:
            self.records, self.cursor = {}, None
            self.resyncs += 1
            return False
        assert response.status_code == 200, response.content
        page = response.json()
        for item in page["items"]:
            if item["op"] == "upsert":
                self.records[item["key"]] = (item["version"], item["record"])
            else:
                self.records.pop(item["key"], None)
        self.cursor = page["nextCursor"]
        return page["endOfStream"]


# Random examples on every run: one found a livelock (a reader resyncing after a prune, in pages
# smaller than the kept changes, was answered 410 for ever), now a test of its own in test_retention.
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS, limits=st.lists(st.integers(1, 1500), min_size=1, max_size=8))
def test_a_consumer_interleaved_with_writes_and_pruning_ends_with_the_databases_state(
    db: Any, steps: list[tuple[str, int]], limits: list[int]
) -> None:
    # The clock stands still: every read falls in one rate-limit window.
    tenant = make_tenant(rate_limit_per_minute=10**9, rate_limit_per_hour=10**9)
    consumer = Consumer(tenant)
    living: list[dict[str, Any]] = []
    with time_machine.travel(T0, tick=False) as clock:
        for number, (step, size) in enumerate(steps):
            if step == "ingest":
                fresh = sessions(tenant, size)
                ingest(tenant, fresh)
                living.extend(fresh)
            elif step == "update" and living:
                changed = [{**record, "finalStatus": f"S{number}"} for record in living[-size:][: size // 2 + 1]]
                ingest(tenant, changed)
            elif step == "delete" and living:
                gone, living = living[: size // 4 + 1], living[size // 4 + 1 :]
                interactions_delete(tenant, [record["sessionId"] for record in gone])
            elif step == "read":
                consumer.read(limits[number % len(limits)])
            elif step == "age":
                clock.shift(timedelta(days=12))
                changes_prune()
        # No prune from here on: at most one resync (a cursor from before the last prune), each pass
        # at most a page per change plus one. A livelock fails here rather than hanging.
        resyncs, limit = consumer.resyncs, limits[0]
        passes = 2 * (Change.objects.filter(account=tenant.account, dataset="interactions").count() // limit + 2)
        for _ in range(passes):
            if consumer.read(limit):
                break
        else:
            pytest.fail(f"the consumer did not reach the end of the stream in {passes} pages")
        assert consumer.resyncs - resyncs <= 1

    stored = set(Interaction.objects.filter(account=tenant.account).values_list("session_id", flat=True))
    assert set(consumer.records) == stored == {record["sessionId"] for record in living}
    served = interaction_records(tenant.account, sorted(stored))
    assert {key: record for key, (_version, record) in consumer.records.items()} == {
        key: json.loads(text) for key, text in served.items()
    }
    latest = dict(
        Change.objects.filter(account=tenant.account, dataset="interactions").order_by("id").values_list("key", "id")
    )
    assert {key: version for key, (version, _record) in consumer.records.items()} == {
        key: latest[key] for key in stored
    }
    # The checksum of what the consumer loaded is the service's.
    mine = 0
    for key, (version, _record) in consumer.records.items():
        mine = checksum_add(mine, key=key, version=version)
    counts = tenant.post(COUNTS, {"dataset": "interactions", "startDate": "2025-09-01", "endDate": "2025-10-31",
                                  "granularity": "day"}).json()
    assert sum(bucket["count"] for bucket in counts) == len(stored)
    total = 0
    for bucket in counts:
        total ^= int(bucket["checksum"], 16)
    assert f"{total:016x}" == f"{mine:016x}"
