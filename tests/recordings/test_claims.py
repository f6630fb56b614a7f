"""Claims and leases: no two workers fetch one file; a dead worker's job is reclaimed and cleaned up."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from recordings.jobs import (
    Claim,
    final_key,
    recording_file_fetch,
    recording_files_claim,
    recordings_process_due,
    temp_key,
)
from recordings.models import RecordingFile, RecordingState
from recordings.storage import recording_storage
from tests.recordings.conftest import AUDIO, CALL_END, RecordingServer, Reply, register

pytestmark = pytest.mark.django_db

FIRST = CALL_END + timedelta(minutes=10)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_claimed_file_is_not_claimed_again_while_its_lease_runs(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    url = recording_server.serve("/c1.flac", Reply())
    register(tenant.account, "c1", (url, "mixed"))
    clock.move_to(FIRST)

    [claim] = recording_files_claim(limit=10)
    assert recording_files_claim(limit=10) == []
    item = RecordingFile.objects.get()
    assert item.claim_token == claim.token
    assert item.claimed_until == FIRST + timedelta(seconds=settings.RECORDING_LEASE_SECONDS)
    assert item.state == RecordingState.FETCHING_IN_PROGRESS


def test_a_worker_killed_mid_fetch_is_reclaimed_after_its_lease_and_its_partial_object_removed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    url = recording_server.serve("/c1.flac", Reply())
    register(tenant.account, "c1", (url, "mixed"))
    clock.move_to(FIRST)
    [dead] = recording_files_claim(limit=10)
    item = RecordingFile.objects.select_related("recording").get()
    # The worker had streamed half the recording into its temporary object when it was killed.
    recording_storage().save(temp_key(item, dead.token), io.BytesIO(AUDIO[:1000]))
    assert len(stored_files()) == 1

    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS - 1))
    assert recordings_process_due() == {}
    clock.shift(timedelta(seconds=2))
    assert recordings_process_due() == {"available": 1}

    item.refresh_from_db()
    assert item.attempts == 2
    assert item.attempt_kind == "initial"
    [path] = stored_files()
    assert path.read_bytes() == AUDIO
    assert not recording_storage().exists(temp_key(item, dead.token))


def test_a_worker_whose_lease_was_taken_over_stores_nothing(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    url = recording_server.serve("/c1.flac", Reply())
    register(tenant.account, "c1", (url, "mixed"))
    clock.move_to(FIRST)
    [slow] = recording_files_claim(limit=10)
    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1))
    [fresh] = recording_files_claim(limit=10)
    assert fresh.previous_token == slow.token

    assert recording_file_fetch(claim=fresh) == "available"
    assert recording_file_fetch(claim=slow) == ""

    assert recording_server.hits["/c1.flac"] == 1
    item = RecordingFile.objects.select_related("recording").get()
    assert item.storage_key == final_key(item, fresh.token)
    assert len(stored_files()) == 1


def test_a_late_finish_after_the_recording_was_deleted_removes_its_object(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    url = recording_server.serve("/c1.flac", Reply())
    recording = register(tenant.account, "c1", (url, "mixed"))
    clock.move_to(FIRST)
    [claim] = recording_files_claim(limit=10)
    type(recording).objects.filter(pk=recording.pk).update(deleted_at=FIRST, state=RecordingState.DELETED)

    assert recording_file_fetch(claim=claim) == ""
    assert stored_files() == []


def test_claims_take_due_files_oldest_first_up_to_the_limit(tenant: Any, clock: Any) -> None:
    register(tenant.account, "late", ("https://rec.example.com/late.flac", "mixed"), ended=CALL_END)
    register(tenant.account, "early", ("https://rec.example.com/early.flac", "mixed"),
             ended=CALL_END - timedelta(hours=1))
    clock.move_to(FIRST)

    [claim] = recording_files_claim(limit=1)
    assert RecordingFile.objects.get(pk=claim.file_id).recording.conversation_id == "early"
    assert claim == Claim(file_id=claim.file_id, token=claim.token, previous_token="")
