"""django-q2 wiring: the schedules exist after migrate, the sweep claims and queues, tasks are thin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_q.models import OrmQ, Schedule

from recordings.models import RecordingFile, RecordingState
from recordings.retention import retention_settings_update
from recordings.tasks import recording_file_fetch_claimed, recordings_retention, recordings_sweep
from tests.recordings.conftest import CALL_END, RecordingServer, Reply, register, register_served

pytestmark = pytest.mark.django_db


def test_migrate_creates_the_minute_sweep_and_the_daily_retention_schedules() -> None:
    schedules = {row.name: row for row in Schedule.objects.filter(name__startswith="recordings-")}

    assert schedules["recordings-sweep"].func == "recordings.tasks.recordings_sweep"
    assert (schedules["recordings-sweep"].schedule_type, schedules["recordings-sweep"].minutes) == ("I", 1)
    assert schedules["recordings-retention"].func == "recordings.tasks.recordings_retention"
    assert schedules["recordings-retention"].schedule_type == "D"
    assert {row.repeats for row in schedules.values()} == {-1}


def test_sweep_claims_due_files_and_queues_one_fetch_each(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account)
    register(tenant.account, "c2", (recording_server.serve("/c2.flac", Reply()), "mixed"), ended=None)
    clock.move_to(CALL_END + timedelta(minutes=10))

    assert recordings_sweep() == 1
    assert recordings_sweep() == 0  # the lease keeps the next sweep off it

    [queued] = OrmQ.objects.all()
    assert queued.task["func"] == "recordings.tasks.recording_file_fetch_claimed"
    assert recording_file_fetch_claimed(*queued.task["args"]) == RecordingState.AVAILABLE
    assert recording_file_fetch_claimed(*queued.task["args"]) == ""  # delivered twice: no second fetch
    assert recording_server.hits["/c1.flac"] == 1
    assert RecordingFile.objects.get(recording__conversation_id="c2").state == RecordingState.CALL_IN_PROGRESS


def test_retention_task_reports_its_work(tenant: Any) -> None:
    assert recordings_retention() == {"notices": 0, "deletions": 0}


@pytest.mark.urls("tests.recordings.admin_urls")
def test_admin_pages_render_and_an_admin_change_is_audited(tenant: Any) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    register(tenant.account, "c1", ("https://rec.example.com/c1.flac", "mixed"))
    retention_settings_update(
        account=tenant.account, actor="system", retention_days=30, notify_customers=False, notification_email=""
    )

    for page in ("recording", "retentionsettings", "auditentry"):
        assert client.get(f"/admin/recordings/{page}/").status_code == 200
    settings_id = tenant.account.recording_retention.pk
    response = client.post(
        f"/admin/recordings/retentionsettings/{settings_id}/change/",
        {"account": tenant.account.pk, "retention_days": 60, "notification_email": ""},
    )

    assert response.status_code == 302
    entry = tenant.account.audit_entries.order_by("-id").first()
    assert (entry.actor, entry.details["after"]["retentionDays"]) == ("admin:root", 60)


def test_a_finished_fetch_queues_its_accounts_next_due_file(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_FETCHES_PER_ACCOUNT = 1
    for name in ("c1", "c2", "c3"):
        register(tenant.account, name, (recording_server.serve(f"/{name}.flac", Reply()), "mixed"))
    clock.move_to(CALL_END + timedelta(minutes=10))

    assert recordings_sweep() == 1  # the account's cap: one in flight
    [first] = OrmQ.objects.all()
    first.delete()
    assert recording_file_fetch_claimed(*first.task["args"]) == RecordingState.AVAILABLE

    # The next file is queued as the first ends, not a minute later by the sweep.
    [second] = OrmQ.objects.all()
    assert second.task["args"][0] != first.task["args"][0]
    assert recordings_sweep() == 0  # still one in flight
    second.delete()
    assert recording_file_fetch_claimed(*second.task["args"]) == RecordingState.AVAILABLE
    [third] = OrmQ.objects.all()
    third.delete()
    assert recording_file_fetch_claimed(*third.task["args"]) == RecordingState.AVAILABLE
    assert not OrmQ.objects.exists()  # nothing left to fetch: nothing queued
    assert sorted(recording_server.hits.values()) == [1, 1, 1]
