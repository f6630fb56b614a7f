"""S3 storage and s3:// sources against moto's S3-compatible server, with a real boto3 client."""

from __future__ import annotations

import hashlib
import io
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from recordings.jobs import recording_file_attempt_start, recording_files_claim, recordings_process_due, temp_key
from recordings.models import RecordingFile, RecordingState
from recordings.services import recording_source_grant_add
from recordings.storage import S3Storage, recording_storage
from tests.recordings.conftest import AUDIO, FIRST, RecordingServer, Reply, first_attempt, register, register_served

pytestmark = pytest.mark.django_db


def keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))


def test_fetched_recording_is_stored_in_the_bucket(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any
) -> None:
    register_served(recording_server, tenant.account)
    assert first_attempt(clock) == {"available": 1}

    item = RecordingFile.objects.get()
    assert isinstance(recording_storage(), S3Storage)
    assert keys(s3) == [f"recordings/{item.storage_key}"]
    stored = s3.get_object(Bucket=s3.bucket, Key=f"recordings/{item.storage_key}")
    assert stored["Body"].read() == AUDIO
    assert stored["ContentType"] == "audio/flac"
    assert item.sha256 == hashlib.sha256(AUDIO).hexdigest()


def test_download_redirects_to_a_presigned_address_serving_the_flac(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any
) -> None:
    register_served(recording_server, tenant.account)
    first_attempt(clock)

    response = tenant.get("/api/v1/recordings/c1/download")

    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=5) as presigned:
        assert presigned.read() == AUDIO
        assert presigned.headers["Content-Type"] == "audio/flac"
        assert presigned.headers["Content-Disposition"] == 'attachment; filename="c1-mixed.flac"'


def test_s3_source_is_fetched_through_boto3(tenant: Any, clock: Any, s3: Any, settings: Any) -> None:
    settings.RECORDING_SOURCE_S3_ENABLED = True
    recording_source_grant_add(account=tenant.account, source=f"s3://{s3.bucket}-src/calls/", actor="test")
    s3.create_bucket(Bucket=f"{s3.bucket}-src")
    s3.put_object(Bucket=f"{s3.bucket}-src", Key="calls/c1.flac", Body=AUDIO)
    register(tenant.account, "c1", (f"s3://{s3.bucket}-src/calls/c1.flac", "agent"))
    assert first_attempt(clock) == {"available": 1}
    assert RecordingFile.objects.get().size_bytes == len(AUDIO)


def test_missing_s3_source_is_media_unavailable(tenant: Any, clock: Any, s3: Any, settings: Any) -> None:
    settings.RECORDING_SOURCE_S3_ENABLED = True
    recording_source_grant_add(account=tenant.account, source=f"s3://{s3.bucket}-src/calls/", actor="test")
    s3.create_bucket(Bucket=f"{s3.bucket}-src")
    register(tenant.account, "c1", (f"s3://{s3.bucket}-src/calls/none.flac", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert RecordingFile.objects.get().last_error == "s3 answered NoSuchKey"


def test_bucket_outside_the_allowed_list_is_refused(tenant: Any, clock: Any, s3: Any, settings: Any) -> None:
    settings.RECORDING_SOURCE_S3_ENABLED = True
    settings.RECORDING_SOURCE_S3_BUCKETS = ["call-audio"]
    recording_source_grant_add(account=tenant.account, source="s3://elsewhere/", actor="test")
    register(tenant.account, "c1", ("s3://elsewhere/c1.flac", "agent"))
    assert first_attempt(clock) == {"media_unavailable": 1}
    assert RecordingFile.objects.get().last_error == (
        "source refused: bucket elsewhere is not listed in RECORDING_SOURCE_S3_BUCKETS"
    )


def test_body_cut_short_leaves_no_object_in_the_bucket(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any
) -> None:
    register_served(recording_server, tenant.account, Reply(announced=len(AUDIO) + 10))
    assert first_attempt(clock) == {"partial_download_failed": 1}
    assert keys(s3) == []


def test_missing_bucket_is_partial_upload_failed(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any, settings: Any
) -> None:
    settings.S3_BUCKET = f"{s3.bucket}-gone"
    register_served(recording_server, tenant.account)
    assert first_attempt(clock) == {"partial_upload_failed": 1}
    assert RecordingFile.objects.get().state == RecordingState.PARTIAL_UPLOAD_FAILED


def test_dead_workers_partial_object_is_removed_from_the_bucket_when_its_lease_runs_out(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any, settings: Any
) -> None:
    register_served(recording_server, tenant.account)
    clock.move_to(FIRST)
    [dead] = recording_files_claim(limit=10)
    assert recording_file_attempt_start(claim=dead)
    item = RecordingFile.objects.select_related("recording").get()
    recording_storage().save(temp_key(item, dead.token), io.BytesIO(AUDIO[:500]))
    assert keys(s3) == [f"recordings/{temp_key(item, dead.token)}"]

    clock.shift(timedelta(seconds=settings.RECORDING_LEASE_SECONDS + 1))
    assert recordings_process_due() == {}
    assert keys(s3) == []
    assert RecordingFile.objects.get().state == RecordingState.INITIAL_FETCH_FAILED

    clock.move_to(RecordingFile.objects.get().due_at)
    assert recordings_process_due() == {"available": 1}
    item.refresh_from_db()
    assert keys(s3) == [f"recordings/{item.storage_key}"]
