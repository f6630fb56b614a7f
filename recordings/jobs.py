"""Fetch jobs: claiming due files under a lease, copying them into storage (:mod:`recordings.copying`),
recording the outcome.

Locks are always taken recording first, then its files (registration, retry, retention and the
outcome of a fetch all do so); the claim locks the account's row, then touches files only, and
commits before it refreshes the recordings' states, so two of these never wait on each other in
opposite orders (nothing else locks account rows). The account's row (``FOR NO KEY UPDATE``, which
does not block rows referencing the account) serialises concurrent claims counting and taking that
account's files, so they keep to the per-account cap together.

Every attempt ends in a recorded outcome: a fetch gives up after ``RECORDING_FETCH_MAX_SECONDS``
(see :mod:`recordings.copying`), and an attempt whose lease ran out (its worker was killed, crashed
or timed out) is recorded as failed by the next claim, like any other failed attempt, so after the
documented attempts the file rests in a final state instead of being taken again and again.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone

from analytics_api.metrics import FETCH_ATTEMPTS
from analytics_api.models import Account
from changes.services import changes_record_qa_contacts
from recordings.copying import FetchFailure, Stored, source_copy
from recordings.models import AttemptKind, Recording, RecordingFile, RecordingState
from recordings.outbound import redacted
from recordings.selectors import recording_source_policy
from recordings.services import AUTO_RETRY_DELAY, claim_released, recording_state_refresh
from recordings.storage import RecordingStorage, StorageError, recording_storage

logger = logging.getLogger(__name__)

# Passes of `process_recordings` stop after this many claim rounds even if files keep coming due.
MAX_ROUNDS = 50
# Expired leases recorded as failed attempts per claim; the rest wait for the next claim.
ABANDONED_BATCH = 500


@dataclass(frozen=True)
class Claim:
    """A file taken for one attempt; ``previous_token`` names the claim it took over (whose task was
    lost before it started), so that anything stored under it is removed."""

    file_id: int
    token: str
    previous_token: str


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
    3. Copy the source into storage as FLAC (:func:`recordings.copying.source_copy`): download,
       verify, transcode, upload under a temporary key, promote to the final key.
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
        stored = source_copy(url=item.source_url, storage=storage, temp=temp, final=final, policy=policy)
    except FetchFailure as failure:
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, failure)
    except Exception as error:
        logger.exception("Recording file %s: unexpected error while fetching", item.pk)
        _discard(storage, item, claim.token)
        return _record_failure(item, claim, FetchFailure(FetchFailure.ERROR, f"{type(error).__name__}: {error}"))
    return _record_success(item, claim, storage, final, stored)


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
