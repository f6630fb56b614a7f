"""Concurrent workers on PostgreSQL: disjoint claims (SKIP LOCKED) and one notice per recording."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from recordings.jobs import recording_files_claim
from recordings.models import AuditEntry, RecordingFile, RecordingState
from recordings.retention import retention_run, retention_settings_update
from tests.recordings.conftest import CALL_END, register
from tests.threads import all_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_concurrent_sweeps_claim_each_due_file_once(tenant: Any, clock: Any, settings: Any) -> None:
    settings.RECORDING_FETCHES_PER_ACCOUNT = 100
    for number in range(24):
        register(tenant.account, f"c{number}", (f"https://rec.example.com/{number}.flac", "mixed"))
    clock.move_to(CALL_END + timedelta(minutes=10))

    batches = all_at_once([lambda: recording_files_claim(limit=10)] * 4)

    claimed = [claim.file_id for batch in batches for claim in batch]
    assert len(claimed) == len(set(claimed)) == 24
    assert RecordingFile.objects.filter(state=RecordingState.FETCHING_IN_PROGRESS).count() == 24


def test_concurrent_sweeps_keep_to_the_per_account_cap(tenant: Any, outsider: Any, clock: Any, settings: Any) -> None:
    settings.RECORDING_FETCHES_PER_ACCOUNT = 3
    for account in (tenant.account, outsider.account):
        for number in range(12):
            register(account, f"c{number}", (f"https://rec.example.com/{account.pk}/{number}.flac", "mixed"))
    clock.move_to(CALL_END + timedelta(minutes=10))

    batches = all_at_once([lambda: recording_files_claim(limit=10)] * 4)

    claimed = [claim.file_id for batch in batches for claim in batch]
    assert len(claimed) == len(set(claimed))
    in_flight = Counter(RecordingFile.objects.exclude(claim_token="").values_list("recording__account", flat=True))
    assert in_flight == {tenant.account.pk: 3, outsider.account.pk: 3}


def test_concurrent_retention_runs_notify_and_delete_once(tenant: Any, clock: Any) -> None:
    for number in range(5):
        register(tenant.account, f"c{number}", (f"https://rec.example.com/{number}.flac", "mixed"))
    RecordingFile.objects.update(state=RecordingState.AVAILABLE, due_at=None, storage_key="")
    retention_settings_update(
        account=tenant.account, actor="system", retention_days=30, notify_customers=True,
        notification_email="privacy@example.com",
    )

    clock.move_to(CALL_END + timedelta(days=23))
    all_at_once([retention_run] * 3)
    clock.move_to(CALL_END + timedelta(days=30))
    all_at_once([retention_run] * 3)

    assert [message.subject for message in mail.outbox] == [
        "5 call recording(s) will be deleted in 7 days",
        "5 call recording(s) deleted",
    ]
    counts = {
        action: AuditEntry.objects.filter(action=action).count()
        for action in ("deletion_notice_sent", "recording_deleted", "deletion_confirmation_sent")
    }
    assert counts == {"deletion_notice_sent": 5, "recording_deleted": 5, "deletion_confirmation_sent": 5}
