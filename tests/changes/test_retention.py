"""Feed retention: pruning, compaction and the 410 of an expired cursor (docs/contract.md#change-feed-retention)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django_q.models import Schedule

from changes.models import Change
from changes.services import changes_prune
from tests.changes.conftest import drain, feed, ingest, interactions_delete, sessions
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
EXPIRED = {
    "errors": [{
        "msg": "Resync from the beginning: this cursor is older than the feed's retention.",
        "code": "cursor_expired",
        "field": "cursor",
    }]
}


def test_a_cursor_older_than_the_retention_is_410_and_the_beginning_still_has_every_record(tenant: Tenant) -> None:
    records = sessions(tenant, 3)
    with time_machine.travel(T0, tick=False) as clock:
        ingest(tenant, records)
        first, stale_cursor = drain(tenant)
        clock.shift(timedelta(days=1))
        ingest(tenant, [{**records[0], "finalStatus": "Abandoned"}])
        interactions_delete(tenant, [records[1]["sessionId"]])
        _items, fresh_cursor = drain(tenant, cursor=stale_cursor)
        clock.shift(timedelta(days=31))

        report = changes_prune()

        # The first upserts of records[0] (as an interaction and as a conversation) and of records[1], and
        # the tombstone.
        assert report.deleted == 4
        assert feed(tenant, cursor=stale_cursor).status_code == 410
        assert feed(tenant, cursor=stale_cursor).json() == EXPIRED
        assert feed(tenant, cursor=first[0]["cursor"]).status_code == 410
        assert drain(tenant, cursor=fresh_cursor)[0] == []
        everything, _cursor = drain(tenant)
    assert {(item["key"], item["op"], item["record"]["finalStatus"]) for item in everything} == {
        (records[0]["sessionId"], "upsert", "Abandoned"),
        (records[2]["sessionId"], "upsert", records[2]["finalStatus"]),
    }


def test_changes_younger_than_the_retention_are_kept(tenant: Tenant, settings: Any) -> None:
    settings.CHANGE_FEED_RETENTION_DAYS = 60
    records = sessions(tenant, 2)
    with time_machine.travel(T0, tick=False) as clock:
        ingest(tenant, records)
        _items, cursor = drain(tenant)
        ingest(tenant, records)
        clock.shift(timedelta(days=40))

        assert changes_prune().deleted == 0
        assert feed(tenant, cursor=cursor).status_code == 200
    # Each ingestion records the interactions and their conversations.
    assert Change.objects.filter(dataset="interactions").count() == 4
    assert Change.objects.count() == 8


def test_a_quiet_accounts_cursor_moves_on_and_does_not_expire(tenant: Tenant, outsider: Tenant) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ingest(tenant, sessions(tenant, 1))
        _items, cursor = drain(tenant)
        clock.shift(timedelta(days=20))
        ingest(outsider, sessions(outsider, 2))
        _items, cursor = drain(tenant, cursor=cursor)  # nothing new, but the cursor moves past the outsider's
        clock.shift(timedelta(days=20))
        changes_prune()

        assert feed(tenant, cursor=cursor).status_code == 200


def test_the_command_prunes_and_the_daily_job_is_scheduled(tenant: Tenant) -> None:
    records = sessions(tenant, 1)
    with time_machine.travel(T0, tick=False) as clock:
        ingest(tenant, records)
        ingest(tenant, records)
        clock.shift(timedelta(days=31))
        out = StringIO()
        call_command("prune_changes", stdout=out)

    assert out.getvalue().startswith("Pruned 2 change(s) older than 30 days; cursors before ")
    assert sorted(Change.objects.values_list("dataset", flat=True)) == ["conversations", "interactions"]
    schedule = Schedule.objects.get(name="changes-prune")
    assert (schedule.func, schedule.schedule_type) == ("changes.tasks.changes_prune_task", Schedule.DAILY)
