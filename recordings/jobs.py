"""Fetch jobs: claiming due files under a lease, copying them into storage, recording the outcome.

Locks are always taken recording first, then its files (registration, retry, retention and the
outcome of a fetch all do so); the claim touches files only and commits before it refreshes the
recordings' states, so two of these never wait on each other in opposite orders.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from recordings.grants import SourcePolicy
from recordings.models import AttemptKind, Recording, RecordingFile, RecordingState
from recordings.selectors import recording_source_policy
from recordings.services import AUTO_RETRY_DELAY, recording_state_refresh
from recordings.sources import (
    Readable,
    SourceError,
    SourceMissing,
    SourceRefused,
    SourceTooLarge,
    redacted,
    source_open,
)
from recordings.storage import CHUNK_BYTES, RecordingStorage, StorageError, recording_storage

logger = logging.getLogger(__name__)

# Passes of `process_recordings` stop after this many claim rounds even if files keep coming due.
MAX_ROUNDS = 50


@dataclass(frozen=True)
class Claim:
    """A file taken for one attempt; ``previous_token`` names the leftovers of a dead worker."""

    file_id: int
    token: str
    previous_token: str


class FetchFailure(Exception):
    MISSING = "missing"
    REFUSED = "refused"
    TRANSIENT = "transient"
    CUT = "cut"
    UPLOAD = "upload"
    ERROR = "error"

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


# The state a failed initial or user attempt leaves, by kind of failure; a failed automatic retry
# is always 24hr_retry_failed, and a source that is missing or refused is media_unavailable.
_FAILURE_STATES = {
    FetchFailure.CUT: RecordingState.PARTIAL_DOWNLOAD_FAILED,
    FetchFailure.UPLOAD: RecordingState.PARTIAL_UPLOAD_FAILED,
    FetchFailure.ERROR: RecordingState.FAILED,
}


def temp_key(item: RecordingFile, token: str) -> str:
    return f"tmp/{item.pk}-{token}.part"


def final_key(item: RecordingFile, token: str) -> str:
    # Unique per attempt: a worker that lost its lease can remove its own object and no other.
    return f"{item.recording.account_id}/{item.recording_id}/{item.pk}-{item.channel}-{token}.flac"


def _due(now: datetime) -> Q:
    return Q(due_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def recording_files_claim(*, limit: int, file_ids: list[int] | None = None) -> list[Claim]:
    """Take up to ``limit`` due files whose lease (if any) has run out.

    1. Read the candidates, oldest due first; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` so that
       concurrent sweepers take disjoint rows without waiting.
    2. Take each with a conditional UPDATE that repeats the due condition and the token read in
       step 1, setting a new token, the lease and ``fetching_in_progress``: where rows cannot be
       locked (SQLite), the loser of a race updates nothing.
    3. After commit, refresh the state of the recordings concerned.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.RECORDING_LEASE_SECONDS)
    claims: list[Claim] = []
    recording_ids: set[int] = set()
    with transaction.atomic():
        rows = RecordingFile.objects.filter(_due(now)).order_by("due_at", "pk")
        if file_ids is not None:
            rows = rows.filter(pk__in=file_ids)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        for pk, previous, recording_id in rows.values_list("pk", "claim_token", "recording_id")[:limit]:
            token = uuid.uuid4().hex
            taken = RecordingFile.objects.filter(_due(now), pk=pk, claim_token=previous).update(
                claim_token=token,
                claimed_until=lease_until,
                state=RecordingState.FETCHING_IN_PROGRESS,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
            if taken:
                claims.append(Claim(file_id=pk, token=token, previous_token=previous))
                recording_ids.add(recording_id)
    for recording_id in sorted(recording_ids):
        _refresh(recording_id)
    return claims


def _refresh(recording_id: int) -> None:
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        recording_state_refresh(recording=recording)


def recording_file_fetch(*, claim: Claim) -> str:
    """Run one claimed attempt and return the file's new state ("" when the claim was stale).

    1. Give up quietly if the claim is no longer ours (another worker reclaimed it).
    2. Remove what a previous claimant that died mid-fetch left behind.
    3. Stream the source through a verifier (count, sha256, size cap, deadline) into storage
       under a temporary key; check the byte count against the announced length; promote the
       object to its final key.
    4. Record the outcome, conditional on still holding the claim; on success with a lost claim
       (or a recording deleted meanwhile) remove the object just stored, so nothing is kept twice.
    """
    item = (
        RecordingFile.objects.select_related("recording").filter(pk=claim.file_id, claim_token=claim.token).first()
    )
    if item is None:
        logger.info("Recording file %s: claim %s is no longer held, skipping", claim.file_id, claim.token)
        return ""
    storage = recording_storage()
    if claim.previous_token:
        _discard(storage, item, claim.previous_token)
    temp, final = temp_key(item, claim.token), final_key(item, claim.token)
    try:
        policy = recording_source_policy(account=item.recording.account_id)
        size, digest = _copy(item.source_url, storage, temp, final, policy=policy)
    except FetchFailure as failure:
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, failure)
    except Exception as error:
        logger.exception("Recording file %s: unexpected error while fetching", item.pk)
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, FetchFailure(FetchFailure.ERROR, f"{type(error).__name__}: {error}"))
    return _record_success(item, claim, storage, final, size, digest)


class _VerifyingReader:
    """Reads the source in chunks, counting and hashing, and turns its failures into ``CUT``."""

    def __init__(self, body: Readable, *, length: int | None, deadline: float) -> None:
        self.body = body
        self.length = length
        self.deadline = deadline
        self.count = 0
        self.sha256 = hashlib.sha256()
        self.failure: FetchFailure | None = None

    def _fail(self, kind: str, reason: str) -> FetchFailure:
        self.failure = FetchFailure(kind, reason)
        return self.failure

    def read(self, size: int = -1, /) -> bytes:
        if time.monotonic() > self.deadline:
            raise self._fail(
                FetchFailure.CUT, f"gave up after {settings.RECORDING_FETCH_MAX_SECONDS} s at {self.count} bytes"
            )
        try:
            chunk = self.body.read(size if size and size > 0 else CHUNK_BYTES)
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise self._fail(
                FetchFailure.CUT, f"connection cut after {self.count} bytes: {type(error).__name__}: {error}"
            ) from None
        except Exception as error:
            # botocore's stream errors (read timeout, incomplete read) share no base with the above.
            raise self._fail(FetchFailure.CUT, f"source failed after {self.count} bytes: {error}") from None
        self.count += len(chunk)
        if self.count > settings.RECORDING_MAX_BYTES:
            raise self._fail(FetchFailure.ERROR, f"the recording exceeds {settings.RECORDING_MAX_BYTES} bytes")
        if self.length is not None and self.count > self.length:
            raise self._fail(FetchFailure.CUT, f"more bytes than the announced {self.length}")
        if not chunk and self.length is not None and self.count != self.length:
            raise self._fail(
                FetchFailure.CUT, f"body cut short: {self.count} of {self.length} announced bytes received"
            )
        self.sha256.update(chunk)
        return chunk


def _copy(url: str, storage: RecordingStorage, temp: str, final: str, *, policy: SourcePolicy) -> tuple[int, str]:
    try:
        stream = source_open(url, policy=policy)
    except SourceMissing as error:
        raise FetchFailure(FetchFailure.MISSING, str(error)) from None
    except SourceRefused as error:
        raise FetchFailure(FetchFailure.REFUSED, f"source refused: {error}") from None
    except SourceTooLarge as error:
        raise FetchFailure(FetchFailure.ERROR, str(error)) from None
    except SourceError as error:
        raise FetchFailure(FetchFailure.TRANSIENT, str(error)) from None
    reader = _VerifyingReader(
        stream.body, length=stream.length, deadline=time.monotonic() + settings.RECORDING_FETCH_MAX_SECONDS
    )
    try:
        storage.save(temp, reader)
    except StorageError as error:
        # S3 uploads wrap the reader's own failure: the source, not storage, is then at fault.
        raise reader.failure or FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    finally:
        stream.close()
    if reader.failure:
        raise reader.failure
    if stream.length is not None and reader.count != stream.length:
        raise FetchFailure(FetchFailure.CUT, f"body cut short: {reader.count} of {stream.length} bytes received")
    try:
        storage.promote(temp, final)
    except StorageError as error:
        raise FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    return reader.count, reader.sha256.hexdigest()


def _discard(storage: RecordingStorage, item: RecordingFile, token: str) -> None:
    for key in (temp_key(item, token), final_key(item, token)):
        try:
            storage.delete(key)
        except StorageError:
            logger.warning("Recording file %s: could not remove %s", item.pk, key, exc_info=True)


def _record_failure(item: RecordingFile, claim: Claim, failure: FetchFailure) -> str:
    """Apply the documented rhythm to a failed attempt.

    A missing or refused source is ``media_unavailable`` and is not tried again. Otherwise: a failed
    first attempt schedules the automatic retry 24 hours later; a failed automatic retry is
    ``24hr_retry_failed`` and stops; a failed user retry leaves the pending automatic retry (if any)
    in place.
    """
    now = timezone.now()
    source = redacted(item.source_url)
    next_kind = item.attempt_kind
    if failure.kind in (FetchFailure.MISSING, FetchFailure.REFUSED):
        state, due_at, auto_retry_at = RecordingState.MEDIA_UNAVAILABLE, None, None
    elif item.attempt_kind == AttemptKind.AUTO_RETRY:
        state, due_at, auto_retry_at = RecordingState.RETRY_24HR_FAILED, None, None
    else:
        transient = (
            RecordingState.INITIAL_FETCH_FAILED
            if item.attempt_kind == AttemptKind.INITIAL
            else RecordingState.RETRY_FAILED
        )
        state = _FAILURE_STATES.get(failure.kind, transient)
        auto_retry_at = now + AUTO_RETRY_DELAY if item.attempt_kind == AttemptKind.INITIAL else item.auto_retry_at
        due_at = auto_retry_at
        if auto_retry_at is not None:
            next_kind = AttemptKind.AUTO_RETRY
    log = logger.warning if failure.kind == FetchFailure.REFUSED else logger.info
    log("Recording file %s (%s, %s attempt): %s -> %s", item.pk, source, item.attempt_kind, failure.reason, state)
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=item.recording_id)
        updated = RecordingFile.objects.filter(pk=item.pk, claim_token=claim.token).update(
            state=state,
            due_at=due_at,
            auto_retry_at=auto_retry_at,
            attempt_kind=next_kind,
            claim_token="",
            claimed_until=None,
            last_error=failure.reason[:2000],
            updated_at=now,
        )
        if not updated:
            return ""
        recording_state_refresh(recording=recording)
    return state


def _record_success(
    item: RecordingFile, claim: Claim, storage: RecordingStorage, key: str, size: int, digest: str
) -> str:
    now = timezone.now()
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=item.recording_id)
        updated = 0
        if recording.deleted_at is None:
            updated = RecordingFile.objects.filter(pk=item.pk, claim_token=claim.token).update(
                state=RecordingState.AVAILABLE,
                size_bytes=size,
                sha256=digest,
                storage_key=key,
                fetched_at=now,
                due_at=None,
                auto_retry_at=None,
                claim_token="",
                claimed_until=None,
                last_error="",
                updated_at=now,
            )
            if updated:
                recording_state_refresh(recording=recording)
    if not updated:
        logger.info("Recording file %s: claim lost or recording deleted, removing %s", item.pk, key)
        _discard(storage, item, claim.token)
        return ""
    logger.info("Recording file %s stored: %s bytes, sha256 %s", item.pk, size, digest)
    return RecordingState.AVAILABLE


def recordings_process_due(*, limit: int = 100, file_ids: list[int] | None = None) -> Counter[str]:
    """Claim and fetch due files in this process until none are left; the outcome per state."""
    outcomes: Counter[str] = Counter()
    for _round in range(MAX_ROUNDS):
        claims = recording_files_claim(limit=limit, file_ids=file_ids)
        if not claims:
            break
        for claim in claims:
            outcomes[recording_file_fetch(claim=claim) or "skipped"] += 1
    return outcomes
