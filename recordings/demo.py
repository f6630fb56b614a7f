"""Demo recordings that really play: synthesised FLAC stored for a few demo calls, and one failed fetch.

``seed_demo`` hands the demo's voice calls here. Their audio is made, not fetched: a deterministic
signal per party (the agent's and the customer's turns as tone bursts, over a low noise floor, in a
stereo file: agent left, customer right), written as FLAC with libsndfile and stored through the
configured storage (filesystem or S3) like any fetched recording. One more call gets a file whose
fetch failed on a source that is not audio, so that the retry endpoint has something to act on.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import soundfile
from django.db import transaction
from django.utils import timezone

from analytics_api.models import Account
from recordings.jobs import final_key
from recordings.models import AttemptKind, Channel, Recording, RecordingFile, RecordingState
from recordings.services import claim_released, recording_state_refresh
from recordings.storage import recording_storage

logger = logging.getLogger(__name__)

DEMO_RECORDINGS = 5
RATE = 8000  # telephone audio
SECONDS = 6
# Not a real address (example.com is reserved): a retry of the failed demo file fails again, visibly.
DEMO_SOURCE = "https://recordings.example.com/demo/{conversation_id}.wav"
DEMO_TOKEN = "demo"
NOT_AUDIO = "Format not recognised."


@dataclass(frozen=True)
class DemoCall:
    conversation_id: str
    ended_at: datetime


@dataclass(frozen=True)
class DemoRecordings:
    available: list[str]
    failed: str | None


def demo_flac(conversation_id: str) -> bytes:
    """The FLAC of a demo call, the same bytes for the same id: turns of the agent (left, two tones)
    and the customer (right, one lower tone), each fading in and out, over a quiet noise floor."""
    seed = int.from_bytes(hashlib.sha256(conversation_id.encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    frames = RATE * SECONDS
    t = np.arange(frames) / RATE
    turn = (t // 1.5).astype(int)  # 1.5-second turns, agent first
    envelope = np.sin(np.pi * (t % 1.5) / 1.5) ** 2
    pitch = 1 + rng.uniform(-0.1, 0.1)
    two_tones = 0.3 * np.sin(2 * np.pi * 440 * pitch * t) + 0.2 * np.sin(2 * np.pi * 660 * pitch * t)
    agent = (turn % 2 == 0) * envelope * two_tones
    customer = (turn % 2 == 1) * envelope * 0.4 * np.sin(2 * np.pi * 330 * pitch * t)
    noise = 0.01 * rng.standard_normal((frames, 2))
    signal = np.stack([agent, customer], axis=1) + noise
    out = io.BytesIO()
    soundfile.write(out, signal.clip(-1, 1), RATE, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def recordings_demo_seed(*, account: Account, calls: Sequence[DemoCall]) -> DemoRecordings:
    """Store playable recordings for the latest ``DEMO_RECORDINGS`` calls and a failed one for the next.

    Idempotent: a call whose demo file is already stored is only moved to its (re-seeded) end
    time; a recording the retention job deleted is left alone.
    """
    latest = sorted(calls, key=lambda call: (call.ended_at, call.conversation_id), reverse=True)
    chosen, rest = latest[:DEMO_RECORDINGS], latest[DEMO_RECORDINGS:]
    available = [call.conversation_id for call in chosen if _available_store(account, call)]
    failed = rest[0].conversation_id if rest and _failed_store(account, rest[0]) else None
    return DemoRecordings(available=available, failed=failed)


def _file(account: Account, call: DemoCall) -> tuple[Recording, RecordingFile] | None:
    recording, _created = Recording.objects.get_or_create(account=account, conversation_id=call.conversation_id)
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    if recording.deleted_at is not None:
        return None
    if recording.call_ended_at != call.ended_at:
        recording.call_ended_at = call.ended_at
        recording.save(update_fields=["call_ended_at", "updated_at"])
    item, _created = RecordingFile.objects.get_or_create(
        recording=recording,
        channel=Channel.MIXED,
        source_url=DEMO_SOURCE.format(conversation_id=call.conversation_id),
    )
    return recording, item


def _available_store(account: Account, call: DemoCall) -> bool:
    storage = recording_storage()
    with transaction.atomic():
        found = _file(account, call)
        if found is None:
            return False
        recording, item = found
        key = final_key(item, DEMO_TOKEN)
        if item.state == RecordingState.AVAILABLE and item.storage_key == key and storage.exists(key):
            return True
        flac = demo_flac(call.conversation_id)
        digest = hashlib.sha256(flac).hexdigest()
        storage.save(key, io.BytesIO(flac))
        now = timezone.now()
        _attempted(
            item,
            now=now,
            state=RecordingState.AVAILABLE,
            attempt_kind=AttemptKind.INITIAL,
            started_at=None,
            size_bytes=len(flac),
            sha256=digest,
            source_format="FLAC",
            source_bytes=len(flac),
            source_sha256=digest,
            storage_key=key,
            fetched_at=now,
            last_error="",
            reason="",
        )
        recording_state_refresh(recording=recording)
    return True


def _failed_store(account: Account, call: DemoCall) -> bool:
    with transaction.atomic():
        found = _file(account, call)
        if found is None:
            return False
        recording, item = found
        if item.state not in (RecordingState.AVAILABLE, RecordingState.FETCHING_IN_PROGRESS):
            _attempted(
                item,
                now=timezone.now(),
                state=RecordingState.FAILED,
                attempt_kind=AttemptKind.AUTO_RETRY,
                last_error=f"the source is not audio libsndfile can read ({NOT_AUDIO})",
                reason=f"The source is not audio this service can read ({NOT_AUDIO})",
            )
        recording_state_refresh(recording=recording)
    return True


def _attempted(item: RecordingFile, *, now: datetime, **fields: object) -> None:
    """Write ``fields`` as the outcome of the file's one attempt: nothing scheduled, no claim held."""
    RecordingFile.objects.filter(pk=item.pk).update(
        attempts=1, due_at=None, auto_retry_at=None, **claim_released(now=now), **fields
    )
