"""The export jobs' and change feed's metrics (docs/contract.md#metrics): jobs by state, rows and
finished jobs counted, the feed's lag per dataset."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from changes.datasets import DATASETS as FEED_DATASETS
from exports.models import ExportState
from tests.conftest import Tenant
from tests.exports.conftest import EXPORTS, export_create, exported
from tests.metrics import moved, scrape
from tests.supervision.conftest import START, a_conversation

pytestmark = pytest.mark.django_db

WINDOW = {"startDate": START.strftime("%Y-%m-%d"), "endDate": START.strftime("%Y-%m-%d")}


def test_finished_jobs_and_their_rows_are_counted_and_jobs_listed_by_state(tenant: Tenant) -> None:
    a_conversation(tenant, "s-1")
    a_conversation(tenant, "s-22")
    before = scrape()
    assert {before.value("analytics_export_jobs", state=state) for state in ExportState.values} == {0.0}

    # Within the 30 days the events of the window are served.
    with time_machine.travel(START + timedelta(days=1), tick=False):
        exported(tenant, {"dataset": "conversations", **WINDOW, "format": "csv"})
        queued = export_create(tenant, {"dataset": "transcripts", **WINDOW})
        cancelled = export_create(tenant, {"dataset": "events", **WINDOW})
        assert tenant.delete(f"{EXPORTS}/{cancelled['id']}").status_code in (200, 202, 204)
    after = scrape()

    assert moved(before, after, "analytics_export_rows_total", dataset="conversations", format="csv") == 2
    assert moved(before, after, "analytics_export_jobs_finished_total", dataset="conversations", state="completed") == 1
    assert moved(before, after, "analytics_export_jobs_finished_total", dataset="events", state="cancelled") == 1
    assert after.value("analytics_export_jobs", state="completed") == 1
    assert after.value("analytics_export_jobs", state="queued") == 1
    assert after.value("analytics_export_jobs", state="cancelled") == 1
    assert after.value("analytics_export_jobs", state="failed") == 0
    assert queued["state"] == "queued"


def test_the_change_feeds_lag_is_listed_per_dataset(db: object) -> None:
    with time_machine.travel(START, tick=False):
        values = {name: scrape().value("analytics_change_feed_lag_seconds", dataset=name) for name in FEED_DATASETS}
    assert set(values) == {"interactions", "qa_contacts", "conversations"}
    assert all(0 <= value < timedelta(minutes=1).total_seconds() for value in values.values())
    assert "analytics_change_feed_lag_seconds{dataset=\"conversations\"}" in scrape().text
