"""Claims and leases: no two workers fetch one file; a dead worker's job is reclaimed and cleaned up."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from recordings.jobs import (
    Claim,
    recording_file_attempt_start,
    recording_file_fetch,
    recording_files_claim,
    recordings_process_due,
    temp_key,
)
from recordings.models import RecordingFile, RecordingState
from recordings.services import recording_retry
from recordings.storage import recording_storage
from tests.recordings.conftest import (
    AUDIO,
    CALL_END,
    FIRST,
    RecordingServer,
    Reply,
    assert_given_up,
    automatic_retry,
    first_attempt,
    register,
    register_served,
    state_of,
    stored_files,
)

pytestmark = pytest.mark.django_db


def test_a_claimed_file_is_not_claimed_again_while_its_lease_runs(due_claim: Claim) -> None:
    assert recording_files_claim(limit=10) == []
    item = RecordingFile.objects.get()
    assert item.claim_token == due_claim.token
    assert item.claimed_until == FIRST + timedelta(seconds=settings.RECORDING_LEASE_SECONDS)
    assert item.state == RecordingState.FETCHING_IN_PROGRESS


ABANDONED = "the attempt did not finish within its 600 s lease (its worker was killed, crashed or timed out)"


def test_a_worker_killed_mid_fetch_counts_as_a_failed_attempt_and_its_partial_object_is_removed(
    recording_server: RecordingServer, clock: Any, due_claim: Claim
) -> None:
    dead = due_claim
    assert recording_file_attempt_start(claim=dead)
    item = RecordingFile.objects.select_related("recording").get()
    # The worker had streamed half the recording into its temporary object when it was killed.
    recording_storage().save(temp_key(item, dead.token), io.BytesIO(AUDIO[:1000]))
    assert len(stored_files()) == 1

    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS - 1))
    assert recordings_process_due() == {}
    assert RecordingFile.objects.get().state == RecordingState.FETCHING_IN_PROGRESS
    clock.shift(timedelta(seconds=2))
    assert recordings_process_due() == {}

    item.refresh_from_db()
    assert (item.state, item.last_error, item.attempts) == (RecordingState.INITIAL_FETCH_FAILED, ABANDONED, 1)
    assert (item.claim_token, item.claimed_until, item.attempt_kind) == ("", None, "auto_retry")
    # Recorded when the lease ran out; the automatic retry follows 24 hours after that.
    assert item.due_at == FIRST + timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1, hours=24)
    assert state_of() == ("initial_fetch_failed", "We couldn\u2019t load the call recording. Please try again.")
    assert stored_files() == []
    assert recording_server.hits["/c1.flac"] == 0

    # No recording is lost: the automatic retry fetches it.
    clock.move_to(item.due_at)
    assert recordings_process_due() == {"available": 1}
    item.refresh_from_db()
    assert item.attempts == 2
    [path] = stored_files()
    assert path.read_bytes() == AUDIO


def test_a_file_whose_every_attempt_is_killed_ends_24hr_retry_failed_and_is_never_claimed_again(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account)
    lease = timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1)

    clock.move_to(FIRST)
    [first] = recording_files_claim(limit=10)
    assert recording_file_attempt_start(claim=first)  # and killed: nothing recorded
    clock.shift(lease)
    assert recording_files_claim(limit=10) == []
    clock.move_to(RecordingFile.objects.get().due_at)
    [second] = recording_files_claim(limit=10)
    assert recording_file_attempt_start(claim=second)  # the automatic retry, killed too
    clock.shift(lease)
    assert recording_files_claim(limit=10) == []

    item = RecordingFile.objects.get()
    assert (item.state, item.last_error, item.attempts, item.due_at) == (
        RecordingState.RETRY_24HR_FAILED, ABANDONED, 2, None
    )
    assert_given_up(recording_server, clock, hits=0)


def test_a_killed_user_retry_is_retry_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b"busy"))
    first_attempt(clock)
    automatic_retry(clock)  # the automatic retry fails: 24hr_retry_failed
    recording_retry(account=tenant.account, conversation_id="c1")

    [retry] = recording_files_claim(limit=10)
    assert recording_file_attempt_start(claim=retry)  # the user's retry, killed
    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1))
    assert recording_files_claim(limit=10) == []

    item = RecordingFile.objects.get()
    assert (item.state, item.last_error, item.due_at) == (RecordingState.RETRY_FAILED, ABANDONED, None)
    assert state_of()[0] == "retry_failed"


def test_a_worker_whose_lease_ran_out_stores_nothing(
    recording_server: RecordingServer, clock: Any, due_claim: Claim
) -> None:
    slow = due_claim
    assert recording_file_attempt_start(claim=slow)
    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1))
    assert recording_files_claim(limit=10) == []  # records the attempt as failed

    assert recording_file_fetch(claim=slow) == ""

    assert recording_server.hits["/c1.flac"] == 0
    assert RecordingFile.objects.get().state == RecordingState.INITIAL_FETCH_FAILED
    assert stored_files() == []


def test_a_claim_whose_queued_task_was_lost_is_taken_over_after_its_lease_without_counting_an_attempt(
    recording_server: RecordingServer, clock: Any, due_claim: Claim
) -> None:
    lost = due_claim  # its task vanished with the broker's queue
    assert RecordingFile.objects.get().attempts == 0

    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS - 1))
    assert recording_files_claim(limit=10) == []
    clock.shift(timedelta(seconds=2))
    [fresh] = recording_files_claim(limit=10)
    assert fresh.previous_token == lost.token

    assert recording_file_fetch(claim=fresh) == "available"
    assert recording_file_fetch(claim=lost) == ""  # delivered late after all: no second fetch
    item = RecordingFile.objects.get()
    assert (item.state, item.attempts) == (RecordingState.AVAILABLE, 1)
    assert recording_server.hits["/c1.flac"] == 1


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
