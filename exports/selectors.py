"""Reads of export jobs: the caller's jobs, one job, and the document the API and webhooks show."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from exports.models import ExportFile, ExportJob, ExportState
from exports.registry import SCHEMA_VERSION

LIST_LIMIT_MAX = 100
LIST_LIMIT_DEFAULT = 20


def _time(value: datetime | None) -> str | None:
    return render_utc_ms(value) if value is not None else None


def export_complete_up_to(job: ExportJob) -> datetime | None:
    """Up to when the export's data is complete: for now the moment its first attempt began reading.

    The one place to change once the change feed's own ``completeUpTo`` (the position below every
    transaction still in flight) is available.
    """
    return job.snapshot_at


def export_file_path(job: ExportJob, n: int) -> str:
    return f"/api/v1/exports/{job.public_id}/files/{n}"


def export_document(job: ExportJob, *, base_url: str, files: list[ExportFile] | None = None) -> dict[str, Any]:
    """The job as ``GET /api/v1/exports/{id}`` shows it; file urls are ``base_url`` + their path."""
    document: dict[str, Any] = {
        "id": str(job.public_id),
        "dataset": job.dataset,
        "state": job.state,
        "startDate": _time(job.window_start),
        "endDate": _time(job.window_end),
        "filters": job.filters,
        "format": job.format,
        "compression": job.compression,
        "progress": {"rows": job.rows, "bytes": job.bytes},
        "createdAt": _time(job.created_at),
        "startedAt": _time(job.started_at),
        "finishedAt": _time(job.finished_at),
    }
    if job.webhook_url:
        document["webhookUrl"] = job.webhook_url
    if job.state == ExportState.FAILED:
        document["error"] = {"code": job.error_code, "msg": job.error}
    if job.state in (ExportState.COMPLETED, ExportState.EXPIRED):
        document["expiresAt"] = _time(job.expires_at)
    if job.state == ExportState.COMPLETED:
        items = files if files is not None else list(job.files.order_by("n"))
        document["manifest"] = {
            "files": [
                {"n": item.n, "rows": item.rows, "bytes": item.bytes, "sha256": item.sha256,
                 "url": base_url + export_file_path(job, item.n)}
                for item in items
            ],
            "rows": job.rows,
            "schemaVersion": SCHEMA_VERSION,
            "completeUpTo": _time(export_complete_up_to(job)),
            "expiresAt": _time(job.expires_at),
        }
    return document


def export_get(*, account: Account, export_id: str) -> ExportJob:
    """The account's job ``export_id``; another account's, or an unknown or malformed id, is 404."""
    try:
        public_id = uuid.UUID(export_id)
    except ValueError:
        public_id = None
    job = ExportJob.objects.filter(account=account, public_id=public_id).first() if public_id else None
    if job is None:
        raise ApiError(f"No export {export_id!r} in this account.", code="not_found", status_code=404, field="id")
    return job


def export_list(*, account: Account, limit: int) -> tuple[list[ExportJob], dict[int, list[ExportFile]]]:
    """The account's newest jobs and the files of the completed ones (two queries)."""
    jobs: QuerySet[ExportJob] = ExportJob.objects.filter(account=account).order_by("-created_at", "-pk")
    page = list(jobs[:limit])
    files: dict[int, list[ExportFile]] = {job.pk: [] for job in page}
    completed = [job.pk for job in page if job.state == ExportState.COMPLETED]
    if completed:
        for item in ExportFile.objects.filter(job_id__in=completed).order_by("job_id", "n"):
            files[item.job_id].append(item)
    return page, files


def export_file_get(*, job: ExportJob, n: str) -> ExportFile:
    if job.state != ExportState.COMPLETED:
        raise ApiError(
            f"The export is {job.state}: its files can be downloaded only while it is completed.",
            code="export_not_completed" if job.state != ExportState.EXPIRED else "export_expired",
            status_code=409 if job.state != ExportState.EXPIRED else 410,
            field="id",
        )
    item = job.files.filter(n=int(n)).first() if n.isascii() and n.isdigit() and len(n) < 10 else None
    if item is None:
        raise ApiError(f"The export has no file {n!r}.", code="not_found", status_code=404, field="n")
    return item
