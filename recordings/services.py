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
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import has_control_characters
from analytics_api.models import Account
from recordings.grants import GrantInvalid, grant_parse
from recordings.models import (
    RETRYABLE_STATES,
    STATE_MESSAGES,
    AttemptKind,
    Channel,
    Recording,
    RecordingFile,
    RecordingSourceGrant,
    RecordingState,
)
from recordings.selectors import recording_get

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


def recording_id_refusal(conversation_id: str) -> str | None:
    """Why a recording could not be kept under ``conversation_id``, or None.

    A recording is read at ``/api/v1/recordings/{conversationId}``: an id holding ``/`` (which a
    client may not escape, ``%2F`` is decoded before routing) or that is ``.`` or ``..`` (which
    clients resolve away) would be stored and never be readable, so it is refused at ingestion.
    """
    where = "on a record with recordingSources: its recording is read at /api/v1/recordings/{conversationId}."
    if "/" in conversation_id:
        return f"may not contain '/' {where}"
    if conversation_id in (".", ".."):
        return f"may not be '.' or '..' {where}"
    return None


def recording_sources_register(
    *, account: Account, conversation_id: str, call_ended_at: datetime | None, sources: Sequence[dict[str, Any]]
) -> None:
    """Create or update one recording job per source of an ingested voice conversation.

    Called by ingestion inside its upsert transaction, for every voice record carrying
    ``recordingSources: [{"url": ..., "channel": "mixed|agent|customer"}]``. Idempotent:

    1. Validate every source (``url`` a non-empty string without control characters, ``channel``
       one of mixed/agent/customer) and the conversation id (readable in a URL path: see
       :func:`recording_id_refusal`); a malformed one raises :class:`ApiError` (400, field
       ``recordingSources[i].<name>`` or ``conversationId``) before anything is written.
    2. Find or create the recording of ``(account, conversation_id)``; a recording the retention
       job deleted is left alone (its audio must not come back).
    3. Keep the known end time when the record no longer carries one; store a new one.
    4. Find or create the file of each ``(channel, url)``. A file whose job has not started yet is
       (re)scheduled from the end time: ``call_in_progress`` without one, else
       ``media_in_progress`` due 10 minutes after it. Files already attempted, fetched or failed
       keep their state: re-ingesting never refetches an available recording.
    5. Derive the recording's state from its files.
    """
    cleaned = _validated_sources(sources)
    if not cleaned:
        return
    refusal = recording_id_refusal(conversation_id)
    if refusal:
        raise ApiError(f"conversationId {refusal}", code="invalid", field="conversationId")
    with transaction.atomic():
        recording, _created = Recording.objects.get_or_create(account=account, conversation_id=conversation_id)
        recording = Recording.objects.select_for_update().get(pk=recording.pk)
        if recording.deleted_at is not None:
            return
        ended_at = call_ended_at or recording.call_ended_at
        if ended_at != recording.call_ended_at:
            recording.call_ended_at = ended_at
            recording.save(update_fields=["call_ended_at", "updated_at"])
        existing = {(item.channel, item.source_url): item for item in recording.files.all()}
        for channel, url in cleaned:
            item = existing.get((channel, url)) or RecordingFile(recording=recording, channel=channel, source_url=url)
            if item.pk is None or (item.state in _NOT_STARTED and item.attempts == 0):
                _schedule_first_attempt(item, ended_at)
                item.save()
        recording_state_refresh(recording=recording)


def _validated_sources(sources: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    cleaned: list[tuple[str, str]] = []
    for index, source in enumerate(sources):
        field = f"recordingSources[{index}]"
        if not isinstance(source, dict):
            raise ApiError("A recording source must be an object with url and channel.", code="invalid", field=field)
        url = source.get("url")
        channel = source.get("channel")
        if not isinstance(url, str) or not url.strip() or len(url) > 4096:
            raise ApiError(
                "The recording source url must be a non-empty string of at most 4096 characters.",
                code="invalid",
                field=f"{field}.url",
            )
        if has_control_characters(url.strip()):
            raise ApiError(
                "A recording source url may not contain control characters (such as CR, LF or tab); "
                "percent-encode them.",
                code="invalid",
                field=f"{field}.url",
            )
        if channel not in Channel.values:
            raise ApiError(
                f"The recording channel must be one of {', '.join(Channel.values)}.",
                code="invalid_choice",
                field=f"{field}.channel",
            )
        cleaned.append((channel, url.strip()))
    return list(dict.fromkeys(cleaned))


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
