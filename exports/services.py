"""Writes of export jobs: creating one (validated, idempotent), cancelling or deleting it, expiry."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics_api.kernel.dates import DateFormatError, parse_utc, render_utc_ms
from analytics_api.kernel.errors import ApiError, error_item, flatten_validation_errors
from analytics_api.kernel.validation import Invalid
from analytics_api.metrics import EXPORT_JOBS_FINISHED
from analytics_api.models import Account, ApiClient
from exports.datasets import DATASETS, PLANNED, dataset_names
from exports.jobs import export_queue
from exports.models import Compression, ExportFile, ExportFormat, ExportJob, ExportState
from exports.registry import Dataset
from exports.storage import job_storage
from recordings.storage import StorageError
from webhooks.addresses import webhook_url_check

logger = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=366)
IDEMPOTENCY_KEY_MAX = 255
REUSED_KEY = (
    "This Idempotency-Key was already used for an export with a different request body; "
    "send the same body to get that export, or use a new key for a new export."
)


@dataclass(frozen=True)
class ExportRequest:
    dataset: str
    start: Any
    end: Any
    filters: dict[str, Any]
    format: str
    compression: str
    webhook_url: str
    # The window reaches past what the dataset serves: refused, unless it replays an existing job.
    expired: tuple[dict[str, str], ...] = ()

    def sha256(self) -> str:
        canonical = {
            "dataset": self.dataset, "startDate": render_utc_ms(self.start), "endDate": render_utc_ms(self.end),
            "filters": self.filters, "format": self.format, "compression": self.compression,
            "webhookUrl": self.webhook_url,
        }
        return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _choice(body: Mapping[str, Any], name: str, choices: list[str], default: str, errors: list) -> str:
    value = body.get(name, default)
    if value not in choices:
        errors.append(error_item(f"{name} must be {', '.join(choices[:-1])} or {choices[-1]}, not {value!r}.",
                                 "invalid_choice", name))
        return default
    return value


def _window(body: Mapping[str, Any], errors: list) -> tuple[Any, Any]:
    times = {}
    for name, end_of_day in (("startDate", False), ("endDate", True)):
        if body.get(name) is None:
            errors.append(error_item(f"{name} is required (UTC, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS).", "required", name))
            continue
        try:
            times[name] = parse_utc(body[name], end_of_day=end_of_day)
        except DateFormatError as error:
            errors.append(error_item(f"{name} {error}.", "invalid_date", name))
    start, end = times.get("startDate"), times.get("endDate")
    if start is not None and end is not None:
        if end < start:
            errors.append(error_item("endDate is before startDate.", "invalid_window", "endDate"))
        elif end - start > MAX_WINDOW:
            errors.append(error_item(
                f"The window is {(end - start).days} days long; an export covers at most {MAX_WINDOW.days} days: "
                "split it into several exports.", "window_too_long", "endDate",
            ))
    return start, end


def _expired(dataset: Dataset | None, start: datetime | None) -> list[dict[str, str]]:
    """400 naming ``startDate`` when the window starts before the oldest record the dataset still serves."""
    if dataset is None or dataset.kept is None or start is None:
        return []
    oldest = timezone.now() - dataset.kept.age
    if start >= oldest:
        return []
    return [error_item(
        f"{dataset.kept.message.removesuffix('.')}: startDate must be {render_utc_ms(oldest)} or later.",
        dataset.kept.code, "startDate",
    )]


def export_request_validate(*, body: Any, account: Account, client: ApiClient) -> ExportRequest:
    """Every problem of the body at once (400); a dataset the client may not read is 403. A window
    starting before what the dataset still serves is returned with its ``expired`` errors: the caller
    refuses it unless it replays an existing job."""
    if not isinstance(body, Mapping):
        raise ApiError("The request body must be a JSON object.", code="invalid", field="body")
    errors: list[dict[str, str]] = []
    name = body.get("dataset")
    dataset = DATASETS.get(name) if isinstance(name, str) else None
    if name is None:
        errors.append(error_item(f"dataset is required: one of {', '.join(dataset_names())}.", "required", "dataset"))
    elif dataset is None and name in PLANNED:
        errors.append(error_item(
            f"The {name} dataset is not available on this service yet; available: {', '.join(DATASETS)}.",
            "dataset_unavailable", "dataset",
        ))
    elif dataset is None:
        errors.append(error_item(
            f"Unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.", "invalid_choice", "dataset"
        ))
    start, end = _window(body, errors)
    fmt = _choice(body, "format", list(ExportFormat.values), ExportFormat.NDJSON, errors)
    compression = _choice(body, "compression", list(Compression.values), Compression.NONE, errors)
    webhook_url = ""
    if body.get("webhookUrl") is not None:
        try:
            webhook_url = webhook_url_check(body["webhookUrl"])
        except Invalid as error:
            errors.extend(flatten_validation_errors(error.detail, "webhookUrl"))
    filters: dict[str, Any] = {}
    if dataset is not None:
        try:
            filters = dataset.filters_check(body.get("filters"), account)
        except Invalid as error:
            errors.extend(flatten_validation_errors(error.detail, "filters"))
    expired = _expired(dataset, start)
    if errors:
        raise ApiError.many(errors + expired)
    assert dataset is not None
    if not client.has_scope(dataset.read_scope):
        raise ApiError(
            f"This API client lacks the scope {dataset.read_scope!r}, which the {dataset.name} dataset needs.",
            code="permission_denied", status_code=403, field="dataset",
        )
    return ExportRequest(dataset=dataset.name, start=start, end=end, filters=filters, format=fmt,
                         compression=compression, webhook_url=webhook_url, expired=tuple(expired))


def export_create(*, account: Account, client: ApiClient, body: Any, idempotency_key: str | None) -> ExportJob:
    """Validate and queue an export; with an ``Idempotency-Key`` already used for the same body, the
    job it created (a different body is 422 ``idempotency_key_reused``)."""
    key = (idempotency_key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(f"Idempotency-Key may have at most {IDEMPOTENCY_KEY_MAX} characters.",
                       code="invalid", field="Idempotency-Key")
    request = export_request_validate(body=body, account=account, client=client)
    digest = request.sha256()
    if key:
        existing = _existing(account, key, digest)
        if existing is not None:
            return existing  # also once its window has aged past what the dataset serves
    if request.expired:
        raise ApiError.many(list(request.expired))
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(
                account=account, api_client=client, dataset=request.dataset, window_start=request.start,
                window_end=request.end, filters=request.filters, format=request.format,
                compression=request.compression, webhook_url=request.webhook_url, idempotency_key=key,
                request_sha256=digest,
            )
            transaction.on_commit(lambda: export_queue(job_id=job.pk))
    except IntegrityError:
        # Another request with the same key won the race: answer as if this one came second.
        existing = _existing(account, key, digest) if key else None
        if existing is None:
            raise
        return existing
    return job


def _existing(account: Account, key: str, digest: str) -> ExportJob | None:
    job = ExportJob.objects.filter(account=account, idempotency_key=key).first()
    if job is not None and job.request_sha256 != digest:
        raise ApiError(REUSED_KEY, code="idempotency_key_reused", status_code=422, field="Idempotency-Key")
    return job


def export_files_delete(*, job: ExportJob) -> int:
    """Unpublish the job's files; their objects are removed from storage once the transaction
    commits (a rolled-back deletion leaves every published file readable). The count unpublished."""
    storage = job_storage(job)
    keys = list(job.files.values_list("storage_key", flat=True))
    job.files.all().delete()

    def remove() -> None:
        for key in keys:
            try:
                storage.delete(key)
            except StorageError:
                logger.warning("Export %s: could not remove %s", job.public_id, key, exc_info=True)

    transaction.on_commit(remove)
    return len(keys)


@transaction.atomic
def export_cancel_or_delete(*, job: ExportJob) -> ExportJob | None:
    """A queued or running job is cancelled (its worker stops at its next heartbeat and removes what
    it was writing) and its published files removed; the job is returned. A finished job is deleted
    with its files; None is returned."""
    cancelled = ExportJob.objects.filter(
        pk=job.pk, state__in=(ExportState.QUEUED, ExportState.RUNNING)
    ).update(state=ExportState.CANCELLED, claim_token="", claimed_until=None, finished_at=timezone.now())
    export_files_delete(job=job)
    if cancelled:
        EXPORT_JOBS_FINISHED.labels(dataset=job.dataset, state=ExportState.CANCELLED).inc()
        job.refresh_from_db()
        return job
    job.delete()
    return None


def exports_expire() -> int:
    """Completed jobs past ``expiresAt`` become ``expired`` and lose their files; files left by failed
    or cancelled jobs are removed too. The number of jobs expired."""
    now = timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(state=ExportState.COMPLETED, expires_at__lte=now).order_by("expires_at")[:500]:
        with transaction.atomic():
            if ExportJob.objects.filter(pk=job.pk, state=ExportState.COMPLETED).update(state=ExportState.EXPIRED):
                export_files_delete(job=job)
                expired += 1
    leftovers = ExportFile.objects.filter(job__state__in=(ExportState.FAILED, ExportState.CANCELLED))
    for job in ExportJob.objects.filter(pk__in=leftovers.values("job_id")[:500]):
        with transaction.atomic():
            export_files_delete(job=job)
    return expired
