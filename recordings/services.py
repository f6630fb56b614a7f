"""Recording jobs: registration from ingestion, a recording's state, and user retries (docs/contract.md#fetch-rhythm).

Each source of a recording is a :class:`RecordingFile` carrying its own job; the recording's state
is derived from its files' states after every change (:func:`recording_state_refresh`).

The rhythm (docs/contract.md#fetch-rhythm): the first attempt is due 10 minutes after the call
ended; if it fails the system retries once by itself 24 hours later, and if that fails too the file
is ``24hr_retry_failed`` and nothing is tried again unless a user asks. A user may retry any failed
file at any time; a failed user retry leaves a still-pending automatic retry in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from recordings.grants import GrantInvalid, grant_parse
from recordings.models import (
    RETRYABLE_STATES,
    STATE_MESSAGES,
    AttemptKind,
    Recording,
    RecordingFile,
    RecordingSourceGrant,
    RecordingState,
)
from recordings.selectors import recording_get
from recordings.source_rules import RecordingSource, recording_id_refusal, recording_sources_check

logger = logging.getLogger(__name__)

FIRST_ATTEMPT_DELAY = timedelta(minutes=10)
AUTO_RETRY_DELAY = timedelta(hours=24)

# Files whose job has not run yet: a changed call end time may still move them.
_NOT_STARTED = (RecordingState.CALL_IN_PROGRESS, RecordingState.MEDIA_IN_PROGRESS)

# When a recording's files disagree and none is available, the first state of this list that any
# file is in names the recording: work still under way first, then the failure a user can act on.
_STATE_PRECEDENCE = (
    RecordingState.FETCHING_IN_PROGRESS,
    RecordingState.MEDIA_IN_PROGRESS,
    RecordingState.CALL_IN_PROGRESS,
    RecordingState.RETRY_FAILED,
    RecordingState.INITIAL_FETCH_FAILED,
    RecordingState.PARTIAL_DOWNLOAD_FAILED,
    RecordingState.PARTIAL_UPLOAD_FAILED,
    RecordingState.FAILED,
    RecordingState.RETRY_24HR_FAILED,
    RecordingState.MEDIA_UNAVAILABLE,
    RecordingState.DELETED,
)


@dataclass(frozen=True)
class SourceRegistration:
    """The recording sources of one ingested voice record, as :func:`recording_sources_register_batch` takes them."""

    conversation_id: str
    call_ended_at: datetime | None
    sources: Sequence[Any]


def recording_sources_register(
    *, account: Account, conversation_id: str, call_ended_at: datetime | None, sources: Sequence[Any]
) -> None:
    """Create or update the recording jobs of one voice conversation (see :func:`recording_sources_register_batch`)."""
    recording_sources_register_batch(
        account=account,
        registrations=[
            SourceRegistration(conversation_id=conversation_id, call_ended_at=call_ended_at, sources=sources)
        ],
    )


def recording_sources_register_batch(*, account: Account, registrations: Sequence[SourceRegistration]) -> None:
    """Create or update one recording job per source of a batch of ingested voice conversations.

    Called by ingestion inside its upsert transaction, for the voice records carrying
    ``recordingSources: [{"url": ..., "channel": "mixed|agent|customer"}]``; a fixed number of
    statements whatever the batch size. Idempotent:

    1. Check every source and conversation id by the one rule (:mod:`recordings.source_rules`);
       the first problem raises :class:`ApiError` (400, field ``recordingSources[i].<name>`` or
       ``conversationId``) before anything is written. Records of the same conversation are merged:
       their sources in order, the last end time given.
    2. Insert the missing recordings (``ON CONFLICT DO NOTHING``: a concurrent batch may insert the
       same one), then lock every recording of the batch, in id order. A recording the retention
       job deleted is left alone (its audio must not come back).
    3. Keep a known end time when the records no longer carry one; store a new one (one UPDATE).
    4. Insert the files of new ``(channel, url)`` pairs, scheduled from the end time:
       ``call_in_progress`` without one, else ``media_in_progress`` due 10 minutes after it. A
       listed file whose job has not started yet is rescheduled the same way (one UPDATE); files
       already attempted, fetched or failed keep their state: re-ingesting never refetches.
    5. Derive each recording's state from its files (one read, one UPDATE of those that changed).
    """
    merged: dict[str, tuple[datetime | None, list[RecordingSource]]] = {}
    for registration in registrations:
        cleaned, errors = recording_sources_check(list(registration.sources))
        if errors:
            first = errors[0]
            raise ApiError(first["msg"], code=first["code"], field=first["field"])
        if not cleaned:
            continue
        refusal = recording_id_refusal(registration.conversation_id)
        if refusal:
            raise ApiError(f"conversationId {refusal}", code="invalid", field="conversationId")
        ended, known = merged.get(registration.conversation_id, (None, []))
        merged[registration.conversation_id] = (
            registration.call_ended_at or ended,
            list(dict.fromkeys([*known, *cleaned])),
        )
    if not merged:
        return
    now = timezone.now()
    with transaction.atomic():
        Recording.objects.bulk_create(
            [Recording(account=account, conversation_id=conversation_id) for conversation_id in merged],
            ignore_conflicts=True,
        )
        recordings = list(
            Recording.objects.select_for_update()
            .filter(account=account, conversation_id__in=list(merged), deleted_at__isnull=True)
            .order_by("pk")
        )
        if not recordings:
            return
        _recordings_set(
            recordings,
            "call_ended_at",
            lambda recording: merged[recording.conversation_id][0] or recording.call_ended_at,
            now=now,
        )
        by_id = {recording.pk: recording for recording in recordings}
        existing = {
            (item.recording_id, item.channel, item.source_url): item
            for item in RecordingFile.objects.filter(recording_id__in=list(by_id))
        }
        new_files, rescheduled = [], []
        for recording in recordings:
            for source in merged[recording.conversation_id][1]:
                item = existing.get((recording.pk, source.channel, source.url))
                if item is None:
                    item = RecordingFile(recording=recording, channel=source.channel, source_url=source.url)
                    _schedule_first_attempt(item, recording.call_ended_at)
                    new_files.append(item)
                elif item.state in _NOT_STARTED and item.attempts == 0:
                    before = (item.state, item.due_at, item.attempt_kind, item.auto_retry_at)
                    _schedule_first_attempt(item, recording.call_ended_at)
                    if (item.state, item.due_at, item.attempt_kind, item.auto_retry_at) != before:
                        item.updated_at = now
                        rescheduled.append(item)
        if new_files:
            RecordingFile.objects.bulk_create(new_files, ignore_conflicts=True)
        if rescheduled:
            RecordingFile.objects.bulk_update(
                rescheduled, ["state", "due_at", "attempt_kind", "auto_retry_at", "updated_at"]
            )
        _recording_states_refresh(by_id, now=now)


def _recording_states_refresh(recordings: dict[int, Recording], *, now: datetime) -> None:
    """:func:`recording_state_refresh` for many recordings: one read of their files, one UPDATE."""
    states: dict[int, list[str]] = {pk: [] for pk in recordings}
    for recording_id, state in RecordingFile.objects.filter(recording_id__in=list(recordings)).values_list(
        "recording_id", "state"
    ):
        states[recording_id].append(state)
    _recordings_set(
        recordings.values(), "state", lambda recording: recording_state_of(states[recording.pk]), now=now
    )


def _recordings_set(
    recordings: Iterable[Recording], field: str, value_of: Callable[[Recording], Any], *, now: datetime
) -> None:
    """Set ``field`` to ``value_of(recording)`` on each recording, with one UPDATE of those it changes."""
    changed = []
    for recording in recordings:
        value = value_of(recording)
        if value != getattr(recording, field):
            setattr(recording, field, value)
            recording.updated_at = now
            changed.append(recording)
    if changed:
        Recording.objects.bulk_update(changed, [field, "updated_at"])


def claim_released(*, now: datetime) -> dict[str, Any]:
    """The fields that release a file's claim: no worker holds it any more (for an UPDATE)."""
    return {"claim_token": "", "claimed_until": None, "updated_at": now}


def _schedule_first_attempt(item: RecordingFile, ended_at: datetime | None) -> None:
    item.attempt_kind = AttemptKind.INITIAL
    item.auto_retry_at = None
    if ended_at is None:
        item.state = RecordingState.CALL_IN_PROGRESS
        item.due_at = None
    else:
        item.state = RecordingState.MEDIA_IN_PROGRESS
        item.due_at = ended_at + FIRST_ATTEMPT_DELAY


def recording_state_of(file_states: Iterable[str]) -> str:
    """The recording's state from its files' states.

    All files available (or some available and the rest missing on the server) → ``available``;
    some available and some failed → ``partial_failed``; otherwise the first state of
    ``_STATE_PRECEDENCE`` that any file is in.
    """
    states = set(file_states)
    if not states:
        return RecordingState.MEDIA_UNAVAILABLE
    if RecordingState.AVAILABLE in states:
        rest = states - {RecordingState.AVAILABLE, RecordingState.MEDIA_UNAVAILABLE}
        if not rest:
            return RecordingState.AVAILABLE
        if rest & RETRYABLE_STATES:
            return RecordingState.PARTIAL_FAILED
    for state in _STATE_PRECEDENCE:
        if state in states:
            return state
    return RecordingState.AVAILABLE


def recording_state_refresh(*, recording: Recording) -> str:
    """Store the state derived from the files. Call it in the transaction that changed a file."""
    if recording.deleted_at is not None:
        return recording.state
    state = recording_state_of(recording.files.values_list("state", flat=True))
    if state != recording.state:
        recording.state = state
        recording.save(update_fields=["state", "updated_at"])
    return state


def recording_retry(*, account: Account, conversation_id: str) -> Recording:
    """Re-queue every failed file of a recording now (a user's Retry).

    1. Lock the recording; anything but a retryable failure state is 409 with its message.
    2. Mark each file in a failure state ``fetching_in_progress``, due now, as a user attempt; the
       pending automatic retry, if any, stays scheduled behind it.
    3. After commit, queue a task that claims and fetches those files at once; the minute sweep
       would find them anyway, and the claim makes sure only one of the two fetches.
    """
    recording = recording_get(account=account, conversation_id=conversation_id)
    now = timezone.now()
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording.pk)
        if recording.state not in RETRYABLE_STATES:
            raise ApiError(
                f"Only a failed recording can be retried; this one is {recording.state}: "
                f"{STATE_MESSAGES[recording.state]}",
                code="recording_not_retryable",
                status_code=409,
            )
        failed = recording.files.filter(state__in=RETRYABLE_STATES)
        file_ids = list(failed.values_list("pk", flat=True))
        failed.update(
            state=RecordingState.FETCHING_IN_PROGRESS,
            attempt_kind=AttemptKind.USER,
            due_at=now,
            last_error="",
            reason="",
            updated_at=now,
        )
        recording_state_refresh(recording=recording)
        transaction.on_commit(lambda: async_task("recordings.tasks.recording_files_fetch_now", file_ids))
    logger.info("User retry of recording %s (files %s)", recording.pk, file_ids)
    return recording


def recording_source_grant_add(*, account: Account, source: str, actor: str) -> tuple[RecordingSourceGrant, bool]:
    """Grant ``account`` a source location (``s3://bucket/prefix/`` or a host); an operator's act.

    Idempotent: the grant is stored in its canonical form, and granting it again changes nothing.
    Raises :class:`~recordings.grants.GrantInvalid` for a text that is not a grant.
    """
    canonical = grant_parse(source).text
    grant, created = RecordingSourceGrant.objects.get_or_create(account=account, source=canonical)
    if created:
        logger.info("Recording source grant added for account %s by %s: %s", account.account_id, actor, canonical)
    return grant, created


def recording_source_grant_remove(*, account: Account, source: str, actor: str) -> bool:
    """Withdraw a grant; the next fetch of a source it covered is refused. False when it did not exist."""
    try:
        canonical = grant_parse(source).text
    except GrantInvalid:
        canonical = source.strip()
    removed, _ = RecordingSourceGrant.objects.filter(account=account, source=canonical).delete()
    if removed:
        logger.info("Recording source grant removed for account %s by %s: %s", account.account_id, actor, canonical)
    return bool(removed)
