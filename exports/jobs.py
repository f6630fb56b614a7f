"""Running an export job on django-q2 workers (docs/contract.md#export-jobs), one file per task.

A task claims the job under a lease (a conditional UPDATE on the claim token, as recording fetch
jobs do), writes the next file from where the last published file ended, and renews the lease with
its progress every ``HEARTBEAT_ROWS`` records — the same UPDATE tells it when the job was cancelled
or taken over, and it stops. A file is written locally, stored under a temporary key, promoted to its
final key, and only then published (an ``ExportFile`` row, in a transaction conditional on the
claim): a file in the manifest is always whole. A full file releases the claim and queues the next
task; the last file completes the job (and queues its webhook) in the same transaction.

A worker killed mid-file leaves its lease to run out: the minute sweep queues the job again, the
next claim removes what the dead attempt stored and writes the same file afresh. After
``EXPORT_MAX_ATTEMPTS`` lost leases the job fails.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from analytics_api.kernel.planner import commit_without_flush_wait
from analytics_api.metrics import EXPORT_JOBS_FINISHED, EXPORT_ROWS
from exports.datasets import DATASETS
from exports.models import ExportFile, ExportJob, ExportState
from exports.registry import Block, ExportWindow
from exports.selectors import export_document
from exports.storage import final_key, job_storage, temp_key
from exports.writers import FileWriter, file_writer
from recordings.storage import RecordingStorage, StorageError
from webhooks.services import webhook_enqueue

logger = logging.getLogger(__name__)

# Records are read and written a block at a time; the lease is renewed (with the progress, and the
# check for a cancellation) after the block that reaches HEARTBEAT_ROWS more records: a renewal is a
# transaction, and one per block of 1,000 was a fifth of an export's time.
BLOCK_ROWS = 1000
HEARTBEAT_ROWS = 10_000
WORKER_STOPPED = "The export's worker stopped {attempts} times before it finished; create the export again."
INTERNAL_ERROR = "The export failed on an error of this service; create it again, or contact the operator."


def _lease_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.EXPORT_LEASE_SECONDS)


@dataclass(frozen=True)
class ExportClaim:
    job_id: int
    token: str
    previous_token: str


def export_claim(*, job_id: int) -> ExportClaim | None:
    """Take the job for one task: queued, or running with its claim released or its lease run out
    (a dead worker: that counts as a lost attempt). None when it is not ours to run."""
    now = timezone.now()
    job = ExportJob.objects.filter(pk=job_id).values("state", "claim_token", "claimed_until").first()
    if job is None or job["state"] not in (ExportState.QUEUED, ExportState.RUNNING):
        return None
    lost = bool(job["claim_token"]) and job["claimed_until"] is not None and job["claimed_until"] < now
    if job["claim_token"] and not lost:
        return None
    token = uuid.uuid4().hex
    taken = ExportJob.objects.filter(
        pk=job_id, state=job["state"], claim_token=job["claim_token"]
    ).update(
        state=ExportState.RUNNING,
        claim_token=token,
        claimed_until=now + timedelta(seconds=settings.EXPORT_LEASE_SECONDS),
        attempts=F("attempts") + (1 if lost else 0),
        started_at=Coalesce(F("started_at"), Value(now)),
        snapshot_at=Coalesce(F("snapshot_at"), Value(now)),
    )
    if not taken:
        return None
    return ExportClaim(job_id=job_id, token=token, previous_token=job["claim_token"] if lost else "")


def _discard(storage: RecordingStorage, job: ExportJob, n: int, token: str) -> None:
    for key in (temp_key(job, n, token), final_key(job, n, token)):
        try:
            storage.delete(key)
        except StorageError:
            logger.warning("Export %s: could not remove %s", job.public_id, key, exc_info=True)


class _Lost(Exception):
    """The claim is no longer ours: the job was cancelled, or another worker took it over."""


def _heartbeat(claim: ExportClaim, *, rows: int, size: int) -> None:
    with transaction.atomic():
        # A renewal lost with the database server only makes the lease and progress look older (the
        # worker's connection is gone with it anyway): a tenth of an export's time on a busy disk.
        commit_without_flush_wait()
        held = ExportJob.objects.filter(pk=claim.job_id, claim_token=claim.token, state=ExportState.RUNNING).update(
            claimed_until=_lease_until(), rows=rows, bytes=size
        )
    if not held:
        raise _Lost()


def export_run(*, job_id: int) -> str:
    """One task: claim the job, write and publish its next file, then queue the next task or finish.
    Returns the job's state afterwards, or "" when the job was not ours to run."""
    claim = export_claim(job_id=job_id)
    if claim is None:
        return ""
    job = ExportJob.objects.select_related("account").get(pk=job_id)
    if job.attempts > settings.EXPORT_MAX_ATTEMPTS:
        return _fail(job, claim, "worker_stopped", WORKER_STOPPED.format(attempts=job.attempts))
    storage = job_storage(job)
    published = list(job.files.order_by("n").values("n", "rows", "bytes", "last_key"))
    n = len(published) + 1
    if claim.previous_token:
        _discard(storage, job, n, claim.previous_token)
    try:
        return _next_file(job, claim, storage, n=n, published=published)
    except _Lost:
        logger.info("Export %s: claim %s lost (cancelled or taken over); stopping", job.public_id, claim.token)
        _discard(storage, job, n, claim.token)
        return ""
    except Exception as error:
        logger.exception("Export %s failed", job.public_id)
        _discard(storage, job, n, claim.token)
        return _fail(job, claim, "internal_error", INTERNAL_ERROR, detail=f"{type(error).__name__}: {error}")


def _next_file(job: ExportJob, claim: ExportClaim, storage: RecordingStorage, *, n: int, published: list[dict]) -> str:
    """Write file ``n`` from where file ``n - 1`` ended, at most ``EXPORT_MAX_ROWS_PER_FILE`` records."""
    dataset = DATASETS[job.dataset]
    cap = settings.EXPORT_MAX_ROWS_PER_FILE
    done_rows = sum(item["rows"] for item in published)
    done_bytes = sum(item["bytes"] for item in published)
    start = job.window_start
    if dataset.kept is not None:
        # What the dataset's endpoint still served when the export began reading (every file alike):
        # the creation refused an older start, but a job may be read a while after it was created.
        start = max(start, job.snapshot_at - dataset.kept.age)
    window = ExportWindow(
        account=job.account, start=start, end=job.window_end, filters=job.filters,
        after=published[-1]["last_key"] if published else None,
    )
    temp, final = temp_key(job, n, claim.token), final_key(job, n, claim.token)
    # On the filesystem the file is written where its temporary key lives (no copy of it afterwards).
    in_place = storage.local_path(temp)
    with tempfile.TemporaryDirectory(prefix="export-") as work:
        writer = file_writer(path=in_place or Path(work) / "file", dataset=dataset, fmt=job.format,
                             compression=job.compression, durable=in_place is not None)
        last_key, more = _fill(writer, dataset.blocks(window, BLOCK_ROWS), claim, cap=cap,
                               done_rows=done_rows, done_bytes=done_bytes)
        written = writer.close()
        if written.rows == 0 and published:
            if in_place is not None:
                storage.delete(temp)
            return _complete(job, claim, file=None)
        if in_place is None:
            with open(writer.path, "rb") as handle:
                storage.save(temp, handle)
    storage.promote(temp, final)
    item = ExportFile(
        job=job, n=n, rows=written.rows, bytes=written.bytes, sha256=written.sha256, storage_key=final,
        last_key=last_key or (published[-1]["last_key"] if published else []),
    )
    if more:
        return _publish_and_continue(job, claim, item, rows=done_rows + written.rows, size=done_bytes + written.bytes)
    return _complete(job, claim, file=item)


def _fill(writer: FileWriter, blocks: Generator[Block, None, None], claim: ExportClaim, *, cap: int, done_rows: int,
          done_bytes: int) -> tuple[list[Any] | None, bool]:
    """Write ``blocks`` until the file holds ``cap`` records; renew the lease every ``HEARTBEAT_ROWS``.
    Returns the last written record's key and whether records are left for the next file."""
    last_key: list[Any] | None = None
    beaten = 0
    try:
        for block in blocks:
            room = cap - writer.rows
            if room == 0:
                return last_key, True
            more = block.count > room
            if more:
                block = block.head(room)
            writer.write_block(block)
            last_key = block.key(block.count - 1)
            if more:
                return last_key, True
            if writer.rows - beaten >= HEARTBEAT_ROWS:
                _heartbeat(claim, rows=done_rows + writer.rows, size=done_bytes + writer.size())
                beaten = writer.rows
        return last_key, False
    except BaseException:
        writer.abort()
        raise
    finally:
        blocks.close()  # closes the server-side cursor at once, not when collected


def _publish_and_continue(job: ExportJob, claim: ExportClaim, item: ExportFile, *, rows: int, size: int) -> str:
    with transaction.atomic():
        held = ExportJob.objects.filter(pk=job.pk, claim_token=claim.token, state=ExportState.RUNNING).update(
            rows=rows, bytes=size, claim_token="", claimed_until=None
        )
        if not held:
            raise _Lost()
        item.save()
        transaction.on_commit(lambda: export_queue(job_id=job.pk))
    EXPORT_ROWS.labels(dataset=job.dataset, format=job.format).inc(item.rows)
    return ExportState.RUNNING


def _complete(job: ExportJob, claim: ExportClaim, *, file: ExportFile | None) -> str:
    """Publish the last file and complete the job, with its webhook, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        if file is not None:
            rows = ExportFile.objects.filter(job=job).values_list("rows", "bytes")
            total_rows = sum(r for r, _b in rows) + file.rows
            total_bytes = sum(b for _r, b in rows) + file.bytes
        else:
            total_rows, total_bytes = job.rows, job.bytes
        held = ExportJob.objects.filter(pk=job.pk, claim_token=claim.token, state=ExportState.RUNNING).update(
            state=ExportState.COMPLETED, rows=total_rows, bytes=total_bytes, claim_token="", claimed_until=None,
            finished_at=now, expires_at=now + timedelta(hours=settings.EXPORT_TTL_HOURS),
        )
        if not held:
            raise _Lost()
        if file is not None:
            file.save()
        _notify(job, "export.completed")
    if file is not None:
        EXPORT_ROWS.labels(dataset=job.dataset, format=job.format).inc(file.rows)
    EXPORT_JOBS_FINISHED.labels(dataset=job.dataset, state=ExportState.COMPLETED).inc()
    logger.info("Export %s completed: %s rows, %s bytes", job.public_id, total_rows, total_bytes)
    return ExportState.COMPLETED


def _fail(job: ExportJob, claim: ExportClaim, code: str, message: str, *, detail: str = "") -> str:
    with transaction.atomic():
        held = ExportJob.objects.filter(pk=job.pk, claim_token=claim.token, state=ExportState.RUNNING).update(
            state=ExportState.FAILED, error_code=code, error=message, claim_token="", claimed_until=None,
            finished_at=timezone.now(),
        )
        if not held:
            return ""
        _notify(job, "export.failed")
    EXPORT_JOBS_FINISHED.labels(dataset=job.dataset, state=ExportState.FAILED).inc()
    logger.warning("Export %s failed (%s): %s %s", job.public_id, code, message, detail)
    return ExportState.FAILED


def _notify(job: ExportJob, event: str) -> None:
    """Queue the job's webhook (its ``webhookUrl``, else the account's) inside the finishing transaction."""
    fresh = ExportJob.objects.get(pk=job.pk)
    webhook_enqueue(
        account_id=job.account_id, event=event, payload=export_document(fresh, base_url=""),
        url=job.webhook_url or None, api_client_id=job.api_client_id,
    )


def export_queue(*, job_id: int) -> None:
    async_task("exports.tasks.export_run_task", job_id, task_name=f"export-{job_id}")


def exports_runnable(*, limit: int) -> list[int]:
    """Jobs a task could take now: queued or released (their task may have been lost with the
    queue), or running under a lease that ran out (their worker died)."""
    now = timezone.now()
    runnable = ExportJob.objects.filter(
        Q(state__in=(ExportState.QUEUED, ExportState.RUNNING), claim_token="")
        | Q(state=ExportState.RUNNING, claimed_until__lt=now)
    ).order_by("created_at", "pk")
    return list(runnable.values_list("pk", flat=True)[:limit])
