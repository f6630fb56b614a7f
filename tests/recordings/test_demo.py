"""Demo recordings: real FLAC for the latest demo calls, stored idempotently, and one failed fetch to retry."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import soundfile

from recordings.demo import DEMO_RECORDINGS, DemoCall, demo_flac, recordings_demo_seed
from recordings.models import Recording, RecordingFile, RecordingState
from tests.conftest import Tenant
from tests.recordings.conftest import stored_files

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def calls(count: int = 8) -> list[DemoCall]:
    return [DemoCall(conversation_id=f"c-{n:04d}", ended_at=START + timedelta(minutes=n)) for n in range(count)]


def test_the_latest_demo_calls_get_recordings_that_play(tenant: Tenant) -> None:
    seeded = recordings_demo_seed(account=tenant.account, calls=calls())

    assert seeded.available == ["c-0007", "c-0006", "c-0005", "c-0004", "c-0003"]
    assert len(seeded.available) == DEMO_RECORDINGS
    for conversation_id in seeded.available:
        detail = tenant.get(f"/api/v1/recordings/{conversation_id}").json()
        assert (detail["state"], detail["failures"]) == ("available", [])
        download = tenant.get(f"/api/v1/recordings/{conversation_id}/download")
        assert (download.status_code, download["Content-Type"]) == (200, "audio/flac")
        body = b"".join(download.streaming_content)
        info = soundfile.info(io.BytesIO(body))
        assert (info.format, info.channels, info.duration) == ("FLAC", 2, 6.0)
        assert body == demo_flac(conversation_id)
    assert len(stored_files()) == DEMO_RECORDINGS


def test_one_demo_recording_failed_with_its_reason_and_can_be_retried(tenant: Tenant) -> None:
    seeded = recordings_demo_seed(account=tenant.account, calls=calls())

    assert seeded.failed == "c-0002"
    detail = tenant.get("/api/v1/recordings/c-0002").json()
    assert detail["state"] == "failed"
    assert detail["failures"] == [
        {"channel": "mixed", "state": "failed",
         "reason": "The source is not audio this service can read (Format not recognised.)"}
    ]
    retry = tenant.post("/api/v1/recordings/c-0002/retry")
    assert retry.status_code == 202
    assert retry.json()["state"] == "fetching_in_progress"


def test_seeding_again_changes_nothing_but_moved_end_times(tenant: Tenant) -> None:
    recordings_demo_seed(account=tenant.account, calls=calls())
    before = list(RecordingFile.objects.order_by("pk").values_list("pk", "storage_key", "sha256", "state"))
    files = {path: path.stat().st_mtime_ns for path in stored_files()}

    later = [DemoCall(call.conversation_id, call.ended_at + timedelta(days=30)) for call in calls()]
    recordings_demo_seed(account=tenant.account, calls=later)

    assert list(RecordingFile.objects.order_by("pk").values_list("pk", "storage_key", "sha256", "state")) == before
    assert {path: path.stat().st_mtime_ns for path in stored_files()} == files
    assert Recording.objects.get(conversation_id="c-0007").call_ended_at == later[7].ended_at


def test_a_missing_demo_file_is_stored_again(tenant: Tenant) -> None:
    recordings_demo_seed(account=tenant.account, calls=calls())
    for path in stored_files():
        path.unlink()

    recordings_demo_seed(account=tenant.account, calls=calls())

    assert len(stored_files()) == DEMO_RECORDINGS
    assert Recording.objects.filter(state=RecordingState.AVAILABLE).count() == DEMO_RECORDINGS


def test_demo_recordings_are_stored_in_s3_when_it_is_the_storage(tenant: Tenant, s3: Any) -> None:
    seeded = recordings_demo_seed(account=tenant.account, calls=calls(3))

    assert seeded.failed is None
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=s3.bucket)["Contents"]]
    assert len(keys) == 3
    download = tenant.get(f"/api/v1/recordings/{seeded.available[0]}/download")
    assert download.status_code == 302
