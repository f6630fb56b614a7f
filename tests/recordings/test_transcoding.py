"""What is stored and served is FLAC whatever the source's format; the source's checksum is kept beside it."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from recordings.audio import TranscodeTimeout, flac_from
from recordings.models import Recording, RecordingFile, RecordingState
from tests.recordings.conftest import (
    FIRST,
    RecordingServer,
    Reply,
    audio,
    first_attempt,
    register_served,
    stored_files,
)

pytestmark = pytest.mark.django_db


def served(tenant: Any, conversation_id: str = "c1") -> bytes:
    response = tenant.get(f"/api/v1/recordings/{conversation_id}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/flac"
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("kind", ["WAV", "MP3", "FLAC"])
def test_a_source_of_any_format_is_served_as_flac_of_the_same_duration(
    tenant: Any, recording_server: RecordingServer, clock: Any, kind: str
) -> None:
    assert kind in soundfile.available_formats()
    source = audio(kind, seconds=2.0)
    register_served(recording_server, tenant.account, Reply(body=source), path=f"/c1.{kind.lower()}")
    assert first_attempt(clock) == {"available": 1}

    body = served(tenant)
    info = soundfile.info(io.BytesIO(body))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
    # An MP3 decoder may add or drop a frame's worth of padding; WAV and FLAC are exact.
    assert info.duration == pytest.approx(2.0, abs=0.06 if kind == "MP3" else 0)
    item = RecordingFile.objects.get()
    assert (item.size_bytes, item.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert (item.source_format, item.source_bytes, item.source_sha256) == (
        kind, len(source), hashlib.sha256(source).hexdigest()
    )
    if kind == "FLAC":
        assert body == source  # lossless already: kept byte for byte
    else:
        assert body[:4] == b"fLaC" and body != source
    if kind == "WAV":
        # Lossless: the same samples.
        assert np.array_equal(soundfile.read(io.BytesIO(body), dtype="int16")[0],
                              soundfile.read(io.BytesIO(source), dtype="int16")[0])
    [path] = stored_files()
    assert path.read_bytes() == body


def test_a_stereo_24_bit_wav_keeps_its_channels_and_depth(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    signal = np.stack([np.linspace(-0.5, 0.5, 8000), np.linspace(0.5, -0.5, 8000)], axis=1)
    out = io.BytesIO()
    soundfile.write(out, signal, 8000, format="WAV", subtype="PCM_24")
    register_served(recording_server, tenant.account, Reply(body=out.getvalue()), path="/c1.wav")
    assert first_attempt(clock) == {"available": 1}

    body = served(tenant)
    info = soundfile.info(io.BytesIO(body))
    assert (info.format, info.subtype, info.channels, info.frames) == ("FLAC", "PCM_24", 2, 8000)
    assert np.array_equal(soundfile.read(io.BytesIO(body), dtype="int32")[0],
                          soundfile.read(io.BytesIO(out.getvalue()), dtype="int32")[0])


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html><body>Recording not ready</body></html>" * 50, "Format not recognised."),
        (audio("FLAC")[:4000] + bytes(range(256)) * 40, "Error : flac decoder lost sync."),
    ],
)
def test_a_source_that_is_not_audio_fails_with_its_reason_and_stores_nothing(
    tenant: Any, recording_server: RecordingServer, clock: Any, body: bytes, why: str
) -> None:
    register_served(recording_server, tenant.account, Reply(body=body), path="/c1.wav")
    assert first_attempt(clock) == {"failed": 1}

    item = RecordingFile.objects.get()
    assert item.last_error == f"the source is not audio libsndfile can read ({why})"
    assert item.reason == f"The source is not audio this service can read ({why})"
    # The source server may have answered with an error page by mistake: the automatic retry stays.
    assert (item.attempt_kind, item.due_at) == ("auto_retry", FIRST + timedelta(hours=24))
    assert (item.storage_key, item.sha256, item.source_sha256) == ("", "", "")
    assert Recording.objects.get().state == RecordingState.FAILED
    assert stored_files() == []
    detail = tenant.get("/api/v1/recordings/c1").json()
    assert detail["failures"] == [
        {"channel": "mixed", "state": "failed", "reason": f"The source is not audio this service can read ({why})"}
    ]


def test_a_wav_source_is_stored_as_flac_in_s3(
    tenant: Any, recording_server: RecordingServer, clock: Any, s3: Any
) -> None:
    source = audio("WAV", seconds=2.0)
    register_served(recording_server, tenant.account, Reply(body=source), path="/c1.wav")
    assert first_attempt(clock) == {"available": 1}

    item = RecordingFile.objects.get()
    stored = s3.get_object(Bucket=s3.bucket, Key=f"recordings/{item.storage_key}")
    body = stored["Body"].read()
    assert stored["ContentType"] == "audio/flac"
    assert soundfile.info(io.BytesIO(body)).format == "FLAC"
    assert soundfile.info(io.BytesIO(body)).duration == 2.0
    assert (item.sha256, item.source_sha256) == (hashlib.sha256(body).hexdigest(), hashlib.sha256(source).hexdigest())


def test_a_flac_larger_than_the_limit_once_encoded_fails(
    tenant: Any, recording_server: RecordingServer, clock: Any, settings: Any
) -> None:
    source = audio("MP3", seconds=2.0)  # a few KB of MP3, tens of KB as FLAC
    settings.RECORDING_MAX_BYTES = len(source) + 100
    register_served(recording_server, tenant.account, Reply(body=source), path="/c1.mp3")
    assert first_attempt(clock) == {"failed": 1}

    item = RecordingFile.objects.get()
    assert item.last_error == f"the recording exceeds {len(source) + 100} bytes once encoded as FLAC"
    assert item.reason == f"The recording is larger than this service accepts ({len(source) + 100} bytes)."
    assert stored_files() == []


def test_transcoding_stops_at_the_fetch_deadline(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(audio("WAV"))

    with pytest.raises(TranscodeTimeout):
        flac_from(source, tmp_path / "audio.flac", deadline=time.monotonic() - 1, max_bytes=10**9)
    flac = flac_from(source, tmp_path / "audio.flac", deadline=time.monotonic() + 60, max_bytes=10**9)
    assert (flac.source_format, flac.duration_seconds) == ("WAV", 3.0)
