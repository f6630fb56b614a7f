"""Counts and checksums per hour or day (docs/contract.md#counts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changes.counts import bucket_start, checksum_add
from changes.datasets import DATASETS, record_time
from qualityai.services import contacts_ingest
from tests.changes.conftest import COUNTS, contacts, conversations, drain, ingest, ingest_contacts, sessions
from tests.conftest import Tenant, make_tenant
from tests.conversations.factories import BASE

pytestmark = pytest.mark.django_db

QA_DAY = datetime(2026, 5, 2, 10, tzinfo=UTC)
DAY = {"dataset": "interactions", "startDate": "2025-09-30", "endDate": "2025-09-30", "granularity": "hour"}


def counts(tenant: Tenant, **body: Any) -> list[dict[str, Any]]:
    response = tenant.post(COUNTS, {**DAY, **body})
    assert response.status_code == 200, response.content
    return response.json()


def from_feed(items: list[dict[str, Any]], dataset: str, granularity: str) -> dict[str, tuple[int, str]]:
    """What a BI job computes from the feed's items: per bucket, the count and the checksum."""
    buckets: dict[datetime, list[int]] = {}
    for item in items:
        start = bucket_start(record_time(item["record"], dataset=DATASETS[dataset]), granularity=granularity)
        count_sum = buckets.setdefault(start, [0, 0])
        count_sum[0] += 1
        count_sum[1] = checksum_add(count_sum[1], key=item["key"], version=item["version"])
    return {
        start.strftime("%Y-%m-%dT%H:%M:%S.000Z"): (count, f"{checksum:016x}")
        for start, (count, checksum) in buckets.items()
    }


def test_every_hour_of_the_window_is_listed_with_exact_counts(tenant: Tenant) -> None:
    ingest(tenant, sessions(tenant, 3, start=BASE) + sessions(tenant, 2, start=BASE + timedelta(hours=2, minutes=5)))

    buckets = counts(tenant)

    assert len(buckets) == 24
    assert buckets[0] == {"start": "2025-09-30T00:00:00.000Z", "count": 0, "checksum": "0000000000000000"}
    by_start = {bucket["start"]: bucket["count"] for bucket in buckets}
    assert by_start["2025-09-30T06:00:00.000Z"] == 3
    assert by_start["2025-09-30T08:00:00.000Z"] == 2
    assert sum(by_start.values()) == 5


def test_the_checksums_are_those_computed_from_what_the_feed_delivered(tenant: Tenant) -> None:
    ingest(tenant, sessions(tenant, 40) + conversations(tenant, 30))
    ingest_contacts(tenant, contacts(50))
    interactions, _cursor = drain(tenant)
    qa, _cursor = drain(tenant, "qa_contacts")

    for dataset, items in (("interactions", interactions), ("qa_contacts", qa)):
        days = sorted(record_time(item["record"], dataset=DATASETS[dataset]).date().isoformat() for item in items)
        for granularity in ("hour", "day"):
            served = counts(tenant, dataset=dataset, startDate=days[0], endDate=days[-1], granularity=granularity)
            nonempty = {bucket["start"]: (bucket["count"], bucket["checksum"]) for bucket in served if bucket["count"]}
            assert nonempty == from_feed(items, dataset, granularity)
            assert sum(count for count, _checksum in nonempty.values()) == len(items)


def test_an_update_changes_its_buckets_checksum_and_nothing_else(tenant: Tenant) -> None:
    early, late = sessions(tenant, 1, start=BASE), sessions(tenant, 1, start=BASE + timedelta(hours=3))
    ingest(tenant, early + late)
    before = counts(tenant)

    ingest(tenant, [{**early[0], "finalStatus": "Abandoned"}])
    after = counts(tenant)

    changed = [index for index, (one, two) in enumerate(zip(before, after, strict=True)) if one != two]
    assert changed == [6]
    assert after[6]["count"] == before[6]["count"] == 1


def test_filters_narrow_the_counted_records(tenant: Tenant) -> None:
    ingest(tenant, sessions(tenant, 2) + conversations(tenant, 3))
    other_stream = tenant.account.bots.create(bot_id="st-other")
    ingest_contacts(tenant, contacts(2, started=QA_DAY))
    assert contacts_ingest(stream=other_stream, records=contacts(4, started=QA_DAY)).created == 4

    assert sum(b["count"] for b in counts(tenant, filters={"channels": ["voice"]})) == 3
    assert sum(b["count"] for b in counts(tenant, filters={"bots": ["st-none"]})) == 0
    qa_day = {"dataset": "qa_contacts", "startDate": "2026-05-02", "endDate": "2026-05-02", "granularity": "day"}
    assert counts(tenant, **qa_day)[0]["count"] == 6
    assert counts(tenant, **qa_day, filters={"streamId": "st-other"})[0]["count"] == 4


def test_another_accounts_records_are_never_counted(tenant: Tenant, outsider: Tenant) -> None:
    ingest(outsider, sessions(outsider, 4))

    assert sum(bucket["count"] for bucket in counts(tenant)) == 0


def test_counting_is_streamed_in_a_fixed_number_of_queries(tenant: Tenant, django_assert_num_queries: Any) -> None:
    ingest(tenant, sessions(tenant, 5))
    counts(tenant)
    with CaptureQueriesContext(connection) as few:
        counts(tenant)
    ingest(tenant, sessions(tenant, 300))

    with django_assert_num_queries(len(few)):
        assert sum(bucket["count"] for bucket in counts(tenant)) == 305


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"dataset": None}, [{"msg": "dataset must not be null.", "code": "null", "field": "dataset"}]),
        ({"granularity": "week"},
         [{"msg": "granularity must be hour or day, not 'week'.", "code": "invalid_choice", "field": "granularity"}]),
        ({"startDate": "2025-10-02"},
         [{"msg": "endDate must not be before startDate.", "code": "invalid", "field": "endDate"}]),
        ({"startDate": "2025-09-01", "endDate": "2025-10-02"}, [{
            "msg": "The window holds 768 hour buckets; at most 744 are counted per request: "
                   "shorten it or count by day.",
            "code": "out_of_range", "field": "endDate"}]),
        ({"filters": {"queues": ["q"]}},
         [{"msg": "interactions counts take the filters channels, bots, not 'queues'.", "code": "invalid",
           "field": "filters.queues"}]),
        ({"filters": {"channels": "voice"}},
         [{"msg": "A filter is a list of texts.", "code": "invalid", "field": "filters.channels"}]),
    ],
)
def test_bad_bodies_are_400_naming_the_field(tenant: Tenant, body: dict[str, Any], errors: list[Any]) -> None:
    response = tenant.post(COUNTS, {**DAY, **body})

    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_a_month_of_hours_is_the_cap(tenant: Tenant) -> None:
    assert len(counts(tenant, startDate="2025-09-01", endDate="2025-10-01 23:59:59")) == 744
    assert len(counts(tenant, startDate="2024-01-01", endDate="2025-12-31", granularity="day")) == 731


def test_the_datasets_read_scope_is_required(db: Any) -> None:
    analyst = make_tenant(scopes=["qualityai.analytics"])

    response = analyst.post(COUNTS, DAY)

    assert response.status_code == 403
    assert response.json()["errors"][0]["msg"] == "This API client lacks the scope 'smartassist.analytics'."


def test_buckets_start_on_whole_utc_hours_and_days() -> None:
    moment = datetime(2025, 9, 30, 6, 59, 59, tzinfo=UTC)
    assert bucket_start(moment, granularity="hour") == datetime(2025, 9, 30, 6, tzinfo=UTC)
    assert bucket_start(moment, granularity="day") == datetime(2025, 9, 30, tzinfo=UTC)
