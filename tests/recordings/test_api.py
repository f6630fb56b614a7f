"""GET recording, download, user retry: shapes, exact messages, side effects, tenant isolation."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
import soundfile
from django.utils import timezone
from django_q.models import OrmQ

from recordings.jobs import recordings_process_due
from recordings.models import Recording, RecordingFile, RecordingState
from recordings.retention import retention_settings_update
from recordings.tasks import recording_file_fetch_claimed, recording_files_fetch_now
from tests.conftest import make_tenant
from tests.recordings.conftest import (
    AUDIO,
    FIRST,
    OTHER_AUDIO,
    RecordingServer,
    Reply,
    automatic_retry,
    first_attempt,
    register,
    register_served,
)

pytestmark = pytest.mark.django_db

SHA = hashlib.sha256(AUDIO).hexdigest()


@pytest.fixture
def available(tenant: Any, recording_server: RecordingServer, clock: Any) -> Recording:
    """c1 fetched: an agent file and a customer file."""
    agent = recording_server.serve("/agent.flac", Reply())
    customer = recording_server.serve("/customer.flac", Reply(body=OTHER_AUDIO))
    register(tenant.account, "c1", (agent, "agent"), (customer, "customer"))
    first_attempt(clock)
    return Recording.objects.get(conversation_id="c1")


def test_recording_shows_its_files_with_size_checksum_and_download_links(tenant: Any, available: Recording) -> None:
    retention_settings_update(
        account=tenant.account, actor="system", retention_days=90, notify_customers=False, notification_email=""
    )
    response = tenant.get("/api/v1/recordings/c1")

    assert response.status_code == 200
    assert response.json() == {
        "conversationId": "c1",
        "state": "available",
        "message": "The call recording is available.",
        "files": [
            {
                "channel": "agent",
                "format": "flac",
                "sizeBytes": len(AUDIO),
                "sha256": SHA,
                "downloadUrl": "http://testserver/api/v1/recordings/c1/download?channel=agent",
            },
            {
                "channel": "customer",
                "format": "flac",
                "sizeBytes": len(OTHER_AUDIO),
                "sha256": hashlib.sha256(OTHER_AUDIO).hexdigest(),
                "downloadUrl": "http://testserver/api/v1/recordings/c1/download?channel=customer",
            },
        ],
        "failures": [],
        "deleteAfter": "2026-05-31T10:00:00.000Z",
    }


def test_recording_not_fetched_yet_has_no_files_and_no_expiry_by_default(tenant: Any, clock: Any) -> None:
    register(tenant.account, "c1", ("https://rec.example.com/c1.flac", "mixed"), ended=None)

    response = tenant.get("/api/v1/recordings/c1")

    assert response.status_code == 200
    assert response.json() == {
        "conversationId": "c1",
        "state": "call_in_progress",
        "message": "Media unavailable while the call is in progress. Please recheck once the call has ended.",
        "files": [],
        "failures": [],
        "deleteAfter": None,
    }


def test_download_streams_the_exact_bytes_as_flac(tenant: Any, available: Recording) -> None:
    response = tenant.get("/api/v1/recordings/c1/download?channel=agent", HTTP_ACCEPT="audio/flac")

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == AUDIO
    assert hashlib.sha256(body).hexdigest() == SHA
    assert response["Content-Type"] == "audio/flac"
    assert response["Content-Disposition"] == 'attachment; filename="c1-agent.flac"'
    assert response["Content-Length"] == str(len(AUDIO))
    assert response["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(SHA)).decode()}:"


def test_download_whose_stored_file_cannot_be_read_is_503_with_retry_after(
    tenant: Any, available: Recording, settings: Any
) -> None:
    # The schema promises Retry-After on every 503; the storage failure once answered without it.
    for item in RecordingFile.objects.filter(recording=available):
        (settings.MEDIA_ROOT / item.storage_key).unlink()

    response = tenant.get("/api/v1/recordings/c1/download?channel=agent")

    assert response.status_code == 503
    assert response.json() == {"errors": [{
        "msg": "The stored recording could not be read; the failure has been logged.", "code": "storage_unavailable"
    }]}
    assert response["Retry-After"] == "5"


def test_download_without_channel_of_separate_files_joins_them_in_one_stereo_flac(
    tenant: Any, available: Recording
) -> None:
    response = tenant.get("/api/v1/recordings/c1/download")

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/flac"
    assert response["Content-Disposition"] == 'attachment; filename="c1-stereo.flac"'
    stereo, rate = soundfile.read(io.BytesIO(b"".join(response.streaming_content)), always_2d=True)
    agent, _ = soundfile.read(io.BytesIO(AUDIO), always_2d=True)
    customer, _ = soundfile.read(io.BytesIO(OTHER_AUDIO), always_2d=True)
    assert (rate, stereo.shape) == (16000, (len(agent), 2))
    assert abs(stereo[:, 0] - agent[:, 0]).max() < 1e-4
    assert abs(stereo[:, 1] - customer[:, 0]).max() < 1e-4


def test_download_without_channel_serves_the_mixed_file(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register(tenant.account, "c2", (recording_server.serve("/m.flac", Reply()), "mixed"))
    first_attempt(clock)

    response = tenant.get("/api/v1/recordings/c2/download")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == AUDIO
    assert response["Content-Disposition"] == 'attachment; filename="c2-mixed.flac"'


def test_download_of_a_missing_channel_is_404(tenant: Any, available: Recording) -> None:
    response = tenant.get("/api/v1/recordings/c1/download?channel=mixed")

    assert response.status_code == 404
    assert response.json() == {"errors": [
        {"msg": "This recording has no available mixed file.", "code": "not_found", "field": "channel"}
    ]}


def test_download_of_a_bad_channel_is_400(tenant: Any, available: Recording) -> None:
    response = tenant.get("/api/v1/recordings/c1/download?channel=both&part=0")

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"msg": "channel must be mixed, agent or customer, not 'both'.", "code": "invalid_choice", "field": "channel"},
        {"msg": "part must be an integer of 1 or more.", "code": "out_of_range", "field": "part"},
    ]}


def test_download_before_the_fetch_is_409_with_the_state_message(tenant: Any, clock: Any) -> None:
    register(tenant.account, "c1", ("https://rec.example.com/c1.flac", "mixed"))

    response = tenant.get("/api/v1/recordings/c1/download")

    assert response.status_code == 409
    assert response.json() == {"errors": [{
        "msg": "The recording is not available for download (media_in_progress): "
        "Media generation is in progress. Please wait for a few minutes.",
        "code": "recording_not_available",
    }]}


def test_deleted_recording_answers_the_retention_message(tenant: Any, available: Recording) -> None:
    Recording.objects.filter(pk=available.pk).update(
        deleted_at=timezone.now(), state=RecordingState.DELETED
    )
    RecordingFile.objects.update(state=RecordingState.DELETED, storage_key="")

    download = tenant.get("/api/v1/recordings/c1/download?channel=agent")
    detail = tenant.get("/api/v1/recordings/c1")

    msg = "Recording not available. It may have been deleted as per your data retention policy."
    assert download.status_code == 410
    assert download.json() == {"errors": [{"msg": msg, "code": "recording_deleted"}]}
    assert detail.status_code == 200
    assert detail.json() == {
        "conversationId": "c1",
        "state": "deleted",
        "message": msg,
        "files": [],
        "failures": [],
        "deleteAfter": None,
        "deletedAt": "2026-03-02T10:10:00.000Z",
    }


def test_user_retry_requeues_a_failed_recording_at_once(
    tenant: Any, recording_server: RecordingServer, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b""), Reply())
    first_attempt(clock)
    clock.shift(timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.post("/api/v1/recordings/c1/retry")

    assert response.status_code == 202
    assert response.json()["state"] == "fetching_in_progress"
    assert response.json()["message"] == (
        "Generating your call recording... This may take a few minutes. Please wait."
    )
    item = RecordingFile.objects.get()
    assert (item.attempt_kind, item.due_at) == ("user", FIRST + timedelta(minutes=5))
    assert item.auto_retry_at == FIRST + timedelta(hours=24)
    [queued] = OrmQ.objects.all()
    assert queued.task["func"] == "recordings.tasks.recording_files_fetch_now"

    assert recording_files_fetch_now(*queued.task["args"]) == 1
    [fetch] = OrmQ.objects.exclude(pk=queued.pk)
    assert fetch.task["func"] == "recordings.tasks.recording_file_fetch_claimed"
    assert recording_file_fetch_claimed(*fetch.task["args"]) == RecordingState.AVAILABLE
    assert Recording.objects.get().state == RecordingState.AVAILABLE
    assert RecordingFile.objects.get().auto_retry_at is None


def test_failed_user_retry_is_retry_failed_and_keeps_the_automatic_retry(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b""), Reply(status=503, body=b""), Reply())
    first_attempt(clock)
    clock.shift(timedelta(hours=1))
    assert tenant.post("/api/v1/recordings/c1/retry").status_code == 202

    assert recordings_process_due() == {"retry_failed": 1}
    recording = Recording.objects.get()
    assert (recording.state, recording.message) == (
        "retry_failed", "Still unable to fetch the recording. Please try again after 15 minutes."
    )
    assert RecordingFile.objects.get().due_at == FIRST + timedelta(hours=24)

    assert automatic_retry(clock) == {"available": 1}
    assert recording_server.hits["/c1.flac"] == 3


def test_user_may_retry_after_the_system_gave_up(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(status=503, body=b""), Reply(status=503, body=b""), Reply())
    first_attempt(clock)
    automatic_retry(clock)
    assert Recording.objects.get().state == RecordingState.RETRY_24HR_FAILED

    assert tenant.post("/api/v1/recordings/c1/retry").status_code == 202
    assert recordings_process_due() == {"available": 1}


def test_retry_of_an_available_recording_is_409_and_changes_nothing(
    tenant: Any, available: Recording, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.post("/api/v1/recordings/c1/retry")

    assert response.status_code == 409
    assert response.json() == {"errors": [{
        "msg": "Only a failed recording can be retried; this one is available: The call recording is available.",
        "code": "recording_not_retryable",
    }]}
    assert not OrmQ.objects.exists()
    assert set(RecordingFile.objects.values_list("state", flat=True)) == {RecordingState.AVAILABLE}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/recordings/c1"),
        ("get", "/api/v1/recordings/c1/download?channel=agent"),
        ("post", "/api/v1/recordings/c1/retry"),
    ],
)
def test_another_accounts_recording_is_404_everywhere(
    outsider: Any, available: Recording, method: str, path: str
) -> None:
    response = getattr(outsider, method)(path)

    assert response.status_code == 404
    assert response.json() == {"errors": [{
        "msg": "No recording for conversation 'c1' in this account.",
        "code": "not_found",
        "field": "conversationId",
    }]}
    assert Recording.objects.get().state == RecordingState.AVAILABLE


def test_recordings_scope_is_required(db: Any) -> None:
    caller = make_tenant(scopes=["ingest"])

    response = caller.get("/api/v1/recordings/c1")

    assert response.status_code == 403
    assert response.json() == {"errors": [
        {"msg": "This API client lacks the scope 'recordings'.", "code": "permission_denied"}
    ]}


def test_anonymous_caller_is_401(anonymous: Any, db: Any) -> None:
    assert anonymous.get("/api/v1/recordings/c1").status_code == 401
