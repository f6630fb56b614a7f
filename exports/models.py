"""Export jobs (docs/contract.md#export-jobs): one row per job, one per published file."""

from __future__ import annotations

import uuid

from django.db import models

from analytics_api.kernel.fields import FastJSONField
from analytics_api.models import Account, ApiClient


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired (files deleted)"


FINISHED_STATES = (ExportState.COMPLETED, ExportState.FAILED, ExportState.CANCELLED, ExportState.EXPIRED)


class ExportFormat(models.TextChoices):
    NDJSON = "ndjson", "NDJSON"
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class Compression(models.TextChoices):
    GZIP = "gzip", "gzip"
    NONE = "none", "none"


class ExportJob(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: export_job_list (account, -created_at) starts with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="export_jobs", db_index=False)
    api_client = models.ForeignKey(
        ApiClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="export_jobs"
    )
    dataset = models.CharField(max_length=32)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    filters = FastJSONField(default=dict, blank=True, help_text="The dataset's filters, validated and normalised")
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    compression = models.CharField(max_length=8, choices=Compression.choices)
    webhook_url = models.CharField(max_length=2000, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_sha256 = models.CharField(max_length=64, blank=True, help_text="Of the normalised request body")
    state = models.CharField(max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    rows = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the worker running it")
    snapshot_at = models.DateTimeField(null=True, blank=True, help_text="When the first attempt began reading")
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, in a sentence the account may read")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="export_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="export_job_list"),
            models.Index(fields=["state", "claimed_until"], name="export_job_due"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} export {self.public_id} ({self.state})"


class ExportFile(models.Model):
    """A complete file: written under a temporary key, published (this row) once whole."""

    # No index of its own: the unique pair (job, n) starts with it.
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files", db_index=False)
    n = models.PositiveIntegerField()
    rows = models.BigIntegerField()
    bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=500)
    last_key = FastJSONField(default=list, help_text="Order key of the file's last record: where the next one starts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "n"], name="export_file_once")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.n}"
