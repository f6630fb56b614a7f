"""django-q2 tasks: thin wrappers around the job and retention services; they take ids, not objects.

``recordings_sweep`` runs every minute and ``recordings_retention`` daily (schedules created by
migration ``0002_schedules``).
"""

from __future__ import annotations

from django_q.tasks import async_task

from recordings.jobs import Claim, recording_file_fetch, recording_files_claim, recording_next_claims
from recordings.retention import retention_run

SWEEP_BATCH = 500


def recordings_sweep() -> int:
    """Claim due files and queue one fetch task each, at most ``RECORDING_FETCHES_PER_ACCOUNT`` per
    account in flight. The claim's lease covers the wait in the queue; a task lost with the queue is
    taken over once the lease runs out, and the attempt's own lease starts when the task does."""
    return _queued(recording_files_claim(limit=SWEEP_BATCH))


def _queued(claims: list[Claim]) -> int:
    # One task per file: each ends within RECORDING_FETCH_MAX_SECONDS, below django-q2's timeout.
    for claim in claims:
        async_task(
            "recordings.tasks.recording_file_fetch_claimed",
            claim.file_id,
            claim.token,
            claim.previous_token,
            task_name=f"recording-file-{claim.file_id}",
        )
    return len(claims)


def recording_file_fetch_claimed(file_id: int, token: str, previous_token: str) -> str:
    """Fetch a claimed file; once it has ended, queue its account's next due file (the cap is of
    fetches in flight, not per minute). A stale delivery (another took the file) fetches nothing."""
    outcome = recording_file_fetch(claim=Claim(file_id=file_id, token=token, previous_token=previous_token))
    if outcome:
        _queued(recording_next_claims(file_id=file_id))
    return outcome


def recording_files_fetch_now(file_ids: list[int]) -> int:
    """A user's retry: claim these files at once, if nothing else took them first, and queue their
    fetches (one task each, not all in this one, which django-q2's timeout could cut); files over
    the account's cap wait for the minute sweep."""
    return _queued(recording_files_claim(limit=len(file_ids), file_ids=file_ids))


def recordings_retention() -> dict[str, int]:
    report = retention_run()
    return {"notices": report.notices, "deletions": report.deletions}
