"""Fetch jobs: claiming due files under a lease, copying them into storage, recording the outcome.

Locks are always taken recording first, then its files (registration, retry, retention and the
outcome of a fetch all do so); the claim locks the account's row, then touches files only, and
commits before it refreshes the recordings' states, so two of these never wait on each other in
opposite orders (nothing else locks account rows). The account's row (``FOR NO KEY UPDATE``, which
does not block rows referencing the account) serialises concurrent claims counting and taking that
account's files, so they keep to the per-account cap together.

Every attempt ends in a recorded outcome: a fetch gives up after ``RECORDING_FETCH_MAX_SECONDS``
(see :mod:`recordings.sources`), and an attempt whose lease ran out (its worker was killed, crashed
or timed out) is recorded as failed by the next claim, like any other failed attempt, so after the
documented attempts the file rests in a final state instead of being taken again and again.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone

from analytics_api.metrics import FETCH_ATTEMPTS
from analytics_api.models import Account
from changes.services import changes_record_qa_contacts
from recordings.audio import NotAudio, TranscodeTimeout, TranscodeTooLarge, flac_from
from recordings.grants import SourcePolicy
from recordings.models import AttemptKind, Recording, RecordingFile, RecordingState
from recordings.selectors import recording_source_policy
from recordings.services import AUTO_RETRY_DELAY, claim_released, recording_state_refresh
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
# Expired leases recorded as failed attempts per claim; the rest wait for the next claim.
ABANDONED_BATCH = 500
# Bytes asked of one receive: the reader checks its deadline between receives.
RECEIVE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Claim:
    """A file taken for one attempt; ``previous_token`` names the claim it took over (whose task was
    lost before it started), so that anything stored under it is removed."""

    file_id: int
    token: str
    previous_token: str


class FetchFailure(Exception):
    """A failed attempt: ``reason`` in full for operators (``last_error``), ``public`` in a sentence the
    account may read (the recording's ``failures``; by default the one of its kind)."""

    MISSING = "missing"
    REFUSED = "refused"
    TRANSIENT = "transient"
    CUT = "cut"
    UPLOAD = "upload"
    ERROR = "error"
    NOT_AUDIO = "not_audio"
    ABANDONED = "abandoned"

    def __init__(self, kind: str, reason: str, *, public: str = "") -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.public = public or _PUBLIC_REASONS[kind]


_PUBLIC_REASONS = {
    FetchFailure.MISSING: "The source answered that it has no such recording.",
    FetchFailure.REFUSED: "The source is not one this service may fetch for this account.",
    FetchFailure.TRANSIENT: "The source could not be reached, or answered with an error.",
    FetchFailure.CUT: "The download from the source was cut off or did not finish in time.",
    FetchFailure.UPLOAD: "The recording could not be stored; this is a fault of this service.",
    FetchFailure.ERROR: "The fetch failed on an error of this service.",
    FetchFailure.NOT_AUDIO: "The source is not audio this service can read.",
    FetchFailure.ABANDONED: "The fetch did not finish: its worker stopped.",
}


# The state a failed initial or user attempt leaves, by kind of failure; a failed automatic retry
# is always 24hr_retry_failed, and a source that is missing or refused is media_unavailable.
_FAILURE_STATES = {
    FetchFailure.CUT: RecordingState.PARTIAL_DOWNLOAD_FAILED,
    FetchFailure.UPLOAD: RecordingState.PARTIAL_UPLOAD_FAILED,
    FetchFailure.ERROR: RecordingState.FAILED,
    FetchFailure.NOT_AUDIO: RecordingState.FAILED,
}


def temp_key(item: RecordingFile, token: str) -> str:
    return f"tmp/{item.pk}-{token}.part"


def final_key(item: RecordingFile, token: str) -> str:
    # Unique per attempt: a worker that lost its lease can remove its own object and no other.
    return f"{item.recording.account_id}/{item.recording_id}/{item.pk}-{item.channel}-{token}.flac"


def _claimable(now: datetime) -> Q:
    """Due and not held: never claimed, or claimed but never started before the lease ran out
    (the queued task was lost, e.g. with a broker that does not persist), which is not an attempt."""
    unstarted = Q(claimed_until__lt=now, started_at__isnull=True)
    return Q(due_at__lte=now) & (Q(claim_token="") | unstarted)


def recording_files_claim(
    *, limit: int, file_ids: list[int] | None = None, account_id: int | None = None
) -> list[Claim]:
    """Take up to ``limit`` due files, at most ``RECORDING_FETCHES_PER_ACCOUNT`` in flight per account.

    ``file_ids`` or ``account_id`` narrow the files considered (a user's retry; the next file of
    an account whose fetch just ended).

    1. Record every attempt whose lease ran out as failed (:func:`_abandoned_attempts_fail`).
    2. List the accounts with due, unclaimed files, the one waiting longest first.
    3. Go round them taking one file per account and pass, until ``limit`` or no account has
       room. Each take is its own transaction: lock the account's row (on PostgreSQL; SQLite has
       one writer at a time anyway), count its files in flight, and take its oldest due file
       below the cap; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` so that concurrent sweepers take
       disjoint rows without waiting, and with a conditional UPDATE that repeats the due
       condition, so where rows cannot be locked (SQLite) the loser of a race updates nothing.
    4. After commit, refresh the state of the recordings concerned.
    """
    now = timezone.now()
    _abandoned_attempts_fail(now)
    due = RecordingFile.objects.filter(_claimable(now))
    if file_ids is not None:
        due = due.filter(pk__in=file_ids)
    if account_id is not None:
        due = due.filter(recording__account_id=account_id)
    accounts = [
        row["recording__account_id"]
        for row in due.values("recording__account_id")
        .annotate(oldest=Min("due_at"))
        .order_by("oldest", "recording__account_id")
    ]
    claims: list[tuple[Claim, int]] = []
    while accounts and len(claims) < limit:
        # One file per account and pass, so that a small limit is shared too.
        served = []
        for account_id in accounts:
            if len(claims) >= limit:
                break
            taken = _account_file_claim(account_id, due, now=now)
            if taken:
                claims.append(taken)
                served.append(account_id)
        accounts = served
    for recording_id in sorted({recording_id for _claim, recording_id in claims}):
        _refresh(recording_id)
    return [claim for claim, _recording_id in claims]


def recording_next_claims(*, file_id: int) -> list[Claim]:
    """When a fetch of ``file_id`` has ended: its account's next due file, if the account has room.

    Without it an account's files would start only at the minute sweep, so an account could fetch
    no more than ``RECORDING_FETCHES_PER_ACCOUNT`` files a minute however fast its source answers;
    with it the cap is what it says, files in flight at once.
    """
    account_id = RecordingFile.objects.filter(pk=file_id).values_list("recording__account_id", flat=True).first()
    return [] if account_id is None else recording_files_claim(limit=1, account_id=account_id)


def _account_file_claim(account_id: int, due: QuerySet, *, now: datetime) -> tuple[Claim, int] | None:
    """Take the account's oldest due file if it has fewer than its cap in flight; with its recording id."""
    with transaction.atomic():
        if connection.features.has_select_for_update:
            # Serialises the count and the take per account; another claim on it holds this for
            # milliseconds. NO KEY: inserts of rows referencing the account are not blocked.
            no_key = connection.features.has_select_for_no_key_update
            list(Account.objects.filter(pk=account_id).select_for_update(no_key=no_key).values_list("pk"))
        in_flight = RecordingFile.objects.filter(
            recording__account_id=account_id, due_at__isnull=False, claimed_until__gte=now
        ).count()
        if in_flight >= settings.RECORDING_FETCHES_PER_ACCOUNT:
            return None
        rows = due.filter(recording__account_id=account_id).order_by("due_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        for pk, previous, recording_id in rows.values_list("pk", "claim_token", "recording_id")[:1]:
            token = uuid.uuid4().hex
            taken = RecordingFile.objects.filter(_claimable(now), pk=pk, claim_token=previous).update(
                claim_token=token,
                claimed_until=now + timedelta(seconds=settings.RECORDING_LEASE_SECONDS),
                started_at=None,
                state=RecordingState.FETCHING_IN_PROGRESS,
                updated_at=now,
            )
            if taken:
                return Claim(file_id=pk, token=token, previous_token=previous), recording_id
    return None


def _abandoned_attempts_fail(now: datetime) -> None:
    """Record each started attempt whose lease ran out as a failed attempt, and remove what it stored.

    Its worker was killed (django-q2's timeout, a deploy, the OOM killer) or crashed before it
    recorded an outcome. Taking the file again straight away would repeat whatever killed it, for
    ever if the source is the cause; instead the attempt counts like any failed one: the automatic
    retry 24 hours later follows a first attempt, and a failed automatic retry is final.
    """
    storage = None
    expired = (
        RecordingFile.objects.filter(due_at__lte=now, claimed_until__lt=now, started_at__isnull=False)
        .exclude(claim_token="")
        .select_related("recording")
        .order_by("claimed_until", "pk")
    )
    for item in expired[:ABANDONED_BATCH]:
        failure = FetchFailure(
            FetchFailure.ABANDONED,
            f"the attempt did not finish within its {settings.RECORDING_LEASE_SECONDS} s lease "
            "(its worker was killed, crashed or timed out)",
        )
        dead = Claim(file_id=item.pk, token=item.claim_token, previous_token="")
        if _record_failure(item, dead, failure):
            storage = storage or recording_storage()
            _discard(storage, item, dead.token)


def _refresh(recording_id: int) -> None:
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        recording_state_refresh(recording=recording)


def recording_file_attempt_start(*, claim: Claim) -> bool:
    """Mark the claimed attempt as begun, with a lease from now; False when the claim is no longer
    held or its attempt already began.

    From here on the attempt counts: if its lease runs out before an outcome is recorded, the
    next claim records it as failed. Before, a lost queued task only delays the file.
    """
    now = timezone.now()
    # Once only: a task delivered again (broker redelivery) must not run the same attempt twice.
    return bool(
        RecordingFile.objects.filter(pk=claim.file_id, claim_token=claim.token, started_at__isnull=True).update(
            started_at=now,
            claimed_until=now + timedelta(seconds=settings.RECORDING_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    )


def recording_file_fetch(*, claim: Claim) -> str:
    """Run one claimed attempt and return the file's new state ("" when the claim was stale).

    1. Start the attempt (:func:`recording_file_attempt_start`): its lease runs from now, not from
       the claim; give up quietly if the claim is no longer ours.
    2. Remove what a previous claimant that died mid-fetch left behind.
    3. Copy the source into storage as FLAC (:func:`_copy`): download, verify, transcode, upload
       under a temporary key, promote to the final key.
    4. Record the outcome, conditional on still holding the claim; on success with a lost claim
       (or a recording deleted meanwhile) remove the object just stored, so nothing is kept twice.
    """
    if not recording_file_attempt_start(claim=claim):
        logger.info("Recording file %s: claim %s is no longer held, skipping", claim.file_id, claim.token)
        return ""
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
        stored = _copy(item.source_url, storage, temp, final, policy=policy)
    except FetchFailure as failure:
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, failure)
    except Exception as error:
        logger.exception("Recording file %s: unexpected error while fetching", item.pk)
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, FetchFailure(FetchFailure.ERROR, f"{type(error).__name__}: {error}"))
    return _record_success(item, claim, storage, final, stored)


class _VerifyingReader:
    """Reads the source, counting and hashing, within the deadline; turns its failures into ``CUT``.

    Each receive returns what the network brought (``read1``), its timeout armed with the time left,
    and the deadline is checked before each: a source trickling a byte a second is cut at the
    deadline, not when a whole chunk has finally arrived.
    """

    def __init__(self, body: Readable, *, length: int | None, deadline: float) -> None:
        self.body = body
        self.length = length
        self.deadline = deadline
        self.count = 0
        self.sha256 = hashlib.sha256()
        self.failure: FetchFailure | None = None
        self._receive = getattr(body, "read1", None) or body.read
        self._set_timeout = getattr(body, "set_socket_timeout", None)

    def _fail(self, kind: str, reason: str, *, public: str = "") -> FetchFailure:
        self.failure = FetchFailure(kind, reason, public=public)
        return self.failure

    def _gave_up(self) -> FetchFailure:
        return self._fail(
            FetchFailure.CUT, f"gave up after {settings.RECORDING_FETCH_MAX_SECONDS} s at {self.count} bytes"
        )

    def read(self, size: int = -1, /) -> bytes:
        """``size`` bytes (all when negative), fewer only at the end of the body.

        Storage expects whole reads: S3 multipart takes a short first read for the end of the body.
        """
        pieces: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        received = 0
        while wanted is None or received < wanted:
            piece = self._piece(RECEIVE_BYTES if wanted is None else min(RECEIVE_BYTES, wanted - received))
            if not piece:
                break
            pieces.append(piece)
            received += len(piece)
        return b"".join(pieces)

    def _piece(self, size: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._gave_up()
        try:
            if self._set_timeout is not None:
                self._set_timeout(min(settings.RECORDING_READ_TIMEOUT_SECONDS, left))
            chunk = self._receive(size)
        except (OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= self.deadline:
                raise self._gave_up() from None
            raise self._fail(
                FetchFailure.CUT, f"connection cut after {self.count} bytes: {type(error).__name__}: {error}"
            ) from None
        except Exception as error:
            # botocore's and urllib3's stream errors (read timeout, incomplete read) share no base with the above.
            if time.monotonic() >= self.deadline:
                raise self._gave_up() from None
            raise self._fail(FetchFailure.CUT, f"source failed after {self.count} bytes: {error}") from None
        self.count += len(chunk)
        if self.count > settings.RECORDING_MAX_BYTES:
            raise self._fail(
                FetchFailure.ERROR, f"the recording exceeds {settings.RECORDING_MAX_BYTES} bytes", public=_too_large()
            )
        if self.length is not None and self.count > self.length:
            raise self._fail(FetchFailure.CUT, f"more bytes than the announced {self.length}")
        if not chunk and self.length is not None and self.count != self.length:
            raise self._fail(
                FetchFailure.CUT, f"body cut short: {self.count} of {self.length} announced bytes received"
            )
        self.sha256.update(chunk)
        return chunk


@dataclass(frozen=True)
class Stored:
    """What a fetch stored: the FLAC's size and checksum, and the source's format, size and checksum."""

    size: int
    sha256: str
    source_format: str
    source_size: int
    source_sha256: str


def _too_large() -> str:
    return f"The recording is larger than this service accepts ({settings.RECORDING_MAX_BYTES} bytes)."


def _copy(url: str, storage: RecordingStorage, temp: str, final: str, *, policy: SourcePolicy) -> Stored:
    """Fetch ``url`` and store it as FLAC under ``final``.

    1. Open the source; the deadline (``RECORDING_FETCH_MAX_SECONDS``) covers opening it (a server
       may trickle its headers), the download and the transcoding.
    2. Download it through the verifier (count, sha256, size cap, deadline) into a file of a
       private temporary directory (``TMPDIR``; it holds the source and its FLAC at most, each
       bounded by ``RECORDING_MAX_BYTES``), and check the count against the announced length.
    3. Transcode it to FLAC (:func:`recordings.audio.flac_from`; a FLAC source is kept as it is);
       a file libsndfile cannot read is ``NOT_AUDIO``.
    4. Upload the FLAC to storage under ``temp`` while hashing it, then promote it to ``final``.
    """
    deadline = time.monotonic() + settings.RECORDING_FETCH_MAX_SECONDS
    try:
        stream = source_open(url, policy=policy)
    except SourceMissing as error:
        raise FetchFailure(FetchFailure.MISSING, str(error)) from None
    except SourceRefused as error:
        raise FetchFailure(FetchFailure.REFUSED, f"source refused: {error}", public=error.public) from None
    except SourceTooLarge as error:
        raise FetchFailure(FetchFailure.ERROR, str(error), public=_too_large()) from None
    except SourceError as error:
        raise FetchFailure(FetchFailure.TRANSIENT, str(error)) from None
    with tempfile.TemporaryDirectory(prefix="recording-") as work:
        source = Path(work) / "source"
        reader = _VerifyingReader(stream.body, length=stream.length, deadline=deadline)
        try:
            with open(source, "wb") as handle:
                while chunk := reader.read(CHUNK_BYTES):
                    handle.write(chunk)
        except OSError as error:
            raise FetchFailure(FetchFailure.UPLOAD, f"cannot write the local copy of the source: {error}") from None
        finally:
            stream.close()
        if reader.failure:
            raise reader.failure
        if stream.length is not None and reader.count != stream.length:
            raise FetchFailure(FetchFailure.CUT, f"body cut short: {reader.count} of {stream.length} bytes received")
        try:
            flac = flac_from(
                source, Path(work) / "audio.flac", deadline=deadline, max_bytes=settings.RECORDING_MAX_BYTES
            )
        except NotAudio as error:
            raise FetchFailure(
                FetchFailure.NOT_AUDIO,
                f"the source is not audio libsndfile can read ({error})",
                public=f"The source is not audio this service can read ({error})",
            ) from None
        except TranscodeTimeout:
            raise FetchFailure(
                FetchFailure.CUT,
                f"gave up after {settings.RECORDING_FETCH_MAX_SECONDS} s while transcoding to FLAC",
                public="The recording could not be converted to FLAC in time.",
            ) from None
        except TranscodeTooLarge as error:
            raise FetchFailure(FetchFailure.ERROR, str(error), public=_too_large()) from None
        except OSError as error:
            raise FetchFailure(FetchFailure.UPLOAD, f"cannot write the FLAC: {error}") from None
        with open(flac.path, "rb") as handle:
            hashing = _HashingReader(handle)
            try:
                storage.save(temp, hashing)
            except StorageError as error:
                raise FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    try:
        storage.promote(temp, final)
    except StorageError as error:
        raise FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    return Stored(
        size=hashing.count,
        sha256=hashing.sha256.hexdigest(),
        source_format=flac.source_format,
        source_size=reader.count,
        source_sha256=reader.sha256.hexdigest(),
    )


class _HashingReader:
    """A local file read for upload, counted and hashed on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.count = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.handle.read(size)
        self.count += len(chunk)
        self.sha256.update(chunk)
        return chunk


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
    log = logger.warning if failure.kind in (FetchFailure.REFUSED, FetchFailure.ABANDONED) else logger.info
    log("Recording file %s (%s, %s attempt): %s -> %s", item.pk, source, item.attempt_kind, failure.reason, state)
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=item.recording_id)
        updated = RecordingFile.objects.filter(pk=item.pk, claim_token=claim.token).update(
            state=state,
            due_at=due_at,
            auto_retry_at=auto_retry_at,
            attempt_kind=next_kind,
            last_error=failure.reason[:2000],
            reason=failure.public,
            **claim_released(now=now),
        )
        if not updated:
            return ""
        recording_state_refresh(recording=recording)
    FETCH_ATTEMPTS.labels(outcome=failure.kind).inc()
    return state


def _record_success(item: RecordingFile, claim: Claim, storage: RecordingStorage, key: str, stored: Stored) -> str:
    now = timezone.now()
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=item.recording_id)
        updated = 0
        if recording.deleted_at is None:
            updated = RecordingFile.objects.filter(pk=item.pk, claim_token=claim.token).update(
                state=RecordingState.AVAILABLE,
                size_bytes=stored.size,
                sha256=stored.sha256,
                source_format=stored.source_format,
                source_bytes=stored.source_size,
                source_sha256=stored.source_sha256,
                storage_key=key,
                fetched_at=now,
                due_at=None,
                auto_retry_at=None,
                last_error="",
                reason="",
                **claim_released(now=now),
            )
            if updated:
                recording_state_refresh(recording=recording)
                # The contact's recording links now list this file.
                changes_record_qa_contacts(
                    account_id=recording.account_id, conversation_ids=[recording.conversation_id]
                )
    if not updated:
        logger.info("Recording file %s: claim lost or recording deleted, removing %s", item.pk, key)
        _discard(storage, item, claim.token)
        return ""
    FETCH_ATTEMPTS.labels(outcome="stored").inc()
    logger.info(
        "Recording file %s stored: %s bytes of FLAC, sha256 %s (source: %s, %s bytes, sha256 %s)",
        item.pk, stored.size, stored.sha256, stored.source_format, stored.source_size, stored.source_sha256,
    )
    return RecordingState.AVAILABLE


def _leases_renew(claims: list[Claim]) -> None:
    """Extend these claims' leases from now; a claim no longer held is left alone."""
    if not claims:
        return
    held = Q()
    for claim in claims:
        held |= Q(pk=claim.file_id, claim_token=claim.token)
    lease_until = timezone.now() + timedelta(seconds=settings.RECORDING_LEASE_SECONDS)
    RecordingFile.objects.filter(held).update(claimed_until=lease_until)


def recordings_process_due(*, limit: int = 100, file_ids: list[int] | None = None) -> Counter[str]:
    """Claim and fetch due files in this process until none are left; the outcome per state.

    The claims of a round are fetched one after the other; before each fetch the leases of those
    still waiting are renewed, so that a long round does not let them run out (which would count
    them as failed attempts) while this process is alive and working through them.
    """
    outcomes: Counter[str] = Counter()
    for _round in range(MAX_ROUNDS):
        claims = recording_files_claim(limit=limit, file_ids=file_ids)
        if not claims:
            break
        for index, claim in enumerate(claims):
            _leases_renew(claims[index + 1 :])
            outcomes[recording_file_fetch(claim=claim) or "skipped"] += 1
    return outcomes
