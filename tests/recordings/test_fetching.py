"""Every state transition of a fetch job against a real, misbehaving recording server."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from recordings.jobs import Claim, recordings_process_due
from recordings.models import RecordingFile, RecordingState
from recordings.storage import FileSystemStorage
from tests.recordings.conftest import (
    AUDIO,
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


def test_nothing_is_fetched_before_ten_minutes_after_the_call(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account)

    clock.move_to(FIRST - timedelta(seconds=1))
    assert recordings_process_due() == {}
    assert recording_server.hits["/c1.flac"] == 0
    assert state_of()[0] == RecordingState.MEDIA_IN_PROGRESS


def test_first_attempt_at_ten_minutes_stores_the_bytes_and_their_checksum(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account)

    assert first_attempt(clock) == {"available": 1}

    item = RecordingFile.objects.get()
    assert state_of() == ("available", "The call recording is available.")
    assert (item.size_bytes, item.sha256) == (len(AUDIO), hashlib.sha256(AUDIO).hexdigest())
    assert (item.attempts, item.due_at, item.claimed_until, item.claim_token) == (1, None, None, "")
    [path] = stored_files()
    assert path.read_bytes() == AUDIO
    assert FileSystemStorage(Path(settings.MEDIA_ROOT)).exists(item.storage_key)


def test_a_second_pass_over_an_available_recording_does_nothing(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    url = register_served(recording_server, tenant.account)
    first_attempt(clock)
    register(tenant.account, "c1", (url, "mixed"))  # re-ingested

    clock.shift(timedelta(days=2))
    assert recordings_process_due() == {}
    assert recording_server.hits["/c1.flac"] == 1
    assert len(stored_files()) == 1


def test_503_then_200_fails_first_and_the_automatic_retry_24_hours_later_succeeds(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b"busy"), Reply())

    assert first_attempt(clock) == {"initial_fetch_failed": 1}
    assert state_of() == ("initial_fetch_failed", "We couldn\u2019t load the call recording. Please try again.")
    item = RecordingFile.objects.get()
    assert item.due_at == FIRST + timedelta(hours=24)
    assert item.last_error == "the recording server answered HTTP 503"
    assert stored_files() == []

    clock.move_to(FIRST + timedelta(hours=24) - timedelta(seconds=1))
    assert recordings_process_due() == {}
    assert automatic_retry(clock) == {"available": 1}
    assert recording_server.hits["/c1.flac"] == 2
    assert RecordingFile.objects.get().attempts == 2


def test_a_failed_automatic_retry_is_24hr_retry_failed_and_the_system_stops(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b"busy"))

    first_attempt(clock)
    assert automatic_retry(clock) == {"24hr_retry_failed": 1}
    assert_given_up(recording_server, clock, hits=2)
    assert RecordingFile.objects.get().due_at is None


@pytest.mark.parametrize("status", [404, 410])
def test_source_without_the_recording_is_media_unavailable_and_not_retried(
    tenant: Any, recording_server: RecordingServer, clock: Any, status: int
) -> None:
    register_served(recording_server, tenant.account, Reply(status=status, body=b""))

    assert first_attempt(clock) == {"media_unavailable": 1}
    assert state_of() == (
        "media_unavailable", "No audio recording found on the server. Please contact your administrator."
    )
    clock.shift(timedelta(days=2))
    assert recordings_process_due() == {}
    assert recording_server.hits["/c1.flac"] == 1


def test_body_cut_short_of_its_content_length_is_partial_download_failed_and_nothing_kept(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(announced=len(AUDIO) + 5000))

    assert first_attempt(clock) == {"partial_download_failed": 1}
    assert state_of() == (
        "partial_download_failed", "Unable to fetch the recording. Please click the button below to retry."
    )
    item = RecordingFile.objects.get()
    assert item.last_error == f"body cut short: {len(AUDIO)} of {len(AUDIO) + 5000} announced bytes received"
    assert item.due_at == FIRST + timedelta(hours=24)
    assert (item.size_bytes, item.sha256, item.storage_key) == (None, "", "")
    assert stored_files() == []


def test_response_slower_than_the_read_timeout_is_initial_fetch_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(headers_delay=1.5))

    assert first_attempt(clock) == {"initial_fetch_failed": 1}
    assert "timed out" in RecordingFile.objects.get().last_error


def test_body_stalling_past_the_read_timeout_is_partial_download_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(body_delay=1.5))

    assert first_attempt(clock) == {"partial_download_failed": 1}
    assert RecordingFile.objects.get().last_error.startswith("connection cut after")
    assert stored_files() == []


def test_redirect_within_the_same_host_is_followed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    recording_server.serve("/final.flac", Reply())
    register_served(recording_server, tenant.account, Reply(status=302, body=b"", location="/final.flac"))

    assert first_attempt(clock) == {"available": 1}


def test_storage_write_failure_is_partial_upload_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker / "media"
    register_served(recording_server, tenant.account)

    assert first_attempt(clock) == {"partial_upload_failed": 1}
    assert state_of() == (
        "partial_upload_failed", "Unable to fetch the recording. Please click the button below to retry."
    )
    assert RecordingFile.objects.get().last_error.startswith("cannot write tmp/")


def test_recording_above_the_size_cap_is_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_MAX_BYTES = 1000
    register_served(recording_server, tenant.account)

    assert first_attempt(clock) == {"failed": 1}
    assert state_of() == (
        "failed", "Media generation failed due to a technical issue. Please contact your administrator."
    )
    assert RecordingFile.objects.get().last_error == f"the recording is {len(AUDIO)} bytes, above the 1000 limit"


def test_size_cap_also_applies_without_a_content_length(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    settings.RECORDING_MAX_BYTES = 1000
    register_served(recording_server, tenant.account, Reply(announced=-1))

    assert first_attempt(clock) == {"failed": 1}
    assert RecordingFile.objects.get().last_error == "the recording exceeds 1000 bytes"
    assert stored_files() == []


def test_body_without_content_length_is_stored_whole(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(announced=-1))

    assert first_attempt(clock) == {"available": 1}
    assert RecordingFile.objects.get().sha256 == hashlib.sha256(AUDIO).hexdigest()


def test_one_file_fetched_and_one_failed_is_partial_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    agent = recording_server.serve("/agent.flac", Reply())
    customer = recording_server.serve("/customer.flac", Reply(status=500, body=b"oops"))
    register(tenant.account, "c1", (agent, "agent"), (customer, "customer"))

    assert first_attempt(clock) == {"available": 1, "initial_fetch_failed": 1}
    assert state_of() == (
        "partial_failed", "Unable to fetch the recording. Please click the button below to retry."
    )


def test_fetching_state_is_shown_while_a_worker_holds_the_file(due_claim: Claim) -> None:
    assert state_of() == (
        "fetching_in_progress", "Generating your call recording... This may take a few minutes. Please wait."
    )
