"""Recordings (docs/contract.md#recording-states): one recording per conversation, one fetch job per source, retention.

Recordings are keyed by ``(account, conversation_id)`` rather than by a foreign key to the
conversations app, so that ingestion can register sources inside its own transaction and the two
apps stay independent.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from analytics_api.models import Account
from recordings.grants import GrantInvalid, grant_parse


class RecordingState(models.TextChoices):
    """The documented states and messages (docs/contract.md#recording-states)."""

    CALL_IN_PROGRESS = "call_in_progress", "Call in progress"
    MEDIA_IN_PROGRESS = "media_in_progress", "Media in progress"
    FETCHING_IN_PROGRESS = "fetching_in_progress", "Fetching in progress"
    AVAILABLE = "available", "Available"
    MEDIA_UNAVAILABLE = "media_unavailable", "Media unavailable"
    INITIAL_FETCH_FAILED = "initial_fetch_failed", "Initial fetch failed"
    RETRY_FAILED = "retry_failed", "Retry failed"
    RETRY_24HR_FAILED = "24hr_retry_failed", "24-hour retry failed"
    PARTIAL_DOWNLOAD_FAILED = "partial_download_failed", "Partial download failed"
    PARTIAL_UPLOAD_FAILED = "partial_upload_failed", "Partial upload failed"
    PARTIAL_FAILED = "partial_failed", "Partial failed"
    FAILED = "failed", "Failed"
    # Ours, not in the table: the retention job removed the audio.
    DELETED = "deleted", "Deleted (retention)"


STATE_MESSAGES: dict[str, str] = {
    RecordingState.FAILED: "Media generation failed due to a technical issue. Please contact your administrator.",
    RecordingState.MEDIA_UNAVAILABLE: "No audio recording found on the server. Please contact your administrator.",
    RecordingState.CALL_IN_PROGRESS: (
        "Media unavailable while the call is in progress. Please recheck once the call has ended."
    ),
    RecordingState.MEDIA_IN_PROGRESS: "Media generation is in progress. Please wait for a few minutes.",
    RecordingState.PARTIAL_DOWNLOAD_FAILED: "Unable to fetch the recording. Please click the button below to retry.",
    RecordingState.PARTIAL_UPLOAD_FAILED: "Unable to fetch the recording. Please click the button below to retry.",
    RecordingState.PARTIAL_FAILED: "Unable to fetch the recording. Please click the button below to retry.",
    RecordingState.FETCHING_IN_PROGRESS: (
        "Generating your call recording... This may take a few minutes. Please wait."
    ),
    RecordingState.INITIAL_FETCH_FAILED: "We couldn\u2019t load the call recording. Please try again.",
    RecordingState.RETRY_FAILED: "Still unable to fetch the recording. Please try again after 15 minutes.",
    RecordingState.RETRY_24HR_FAILED: (
        "We couldn\u2019t generate the call recording due to a technical issue. "
        "Please contact your administrator for assistance."
    ),
    RecordingState.AVAILABLE: "The call recording is available.",
    RecordingState.DELETED: (
        "Recording not available. It may have been deleted as per your data retention policy."
    ),
}

# States a user may retry (POST .../retry): every failure the system could recover from.
RETRYABLE_STATES = frozenset(
    {
        RecordingState.INITIAL_FETCH_FAILED,
        RecordingState.RETRY_FAILED,
        RecordingState.RETRY_24HR_FAILED,
        RecordingState.PARTIAL_DOWNLOAD_FAILED,
        RecordingState.PARTIAL_UPLOAD_FAILED,
        RecordingState.PARTIAL_FAILED,
        RecordingState.FAILED,
    }
)


class Channel(models.TextChoices):
    MIXED = "mixed", "Both parties in one file"
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"


class AttemptKind(models.TextChoices):
    """Which attempt of the documented rhythm the next (or current) fetch is."""

    INITIAL = "initial", "First attempt, 10 minutes after the call"
    AUTO_RETRY = "auto_retry", "Automatic retry, 24 hours after the first failure"
    USER = "user", "Retry asked for by a user"


class Recording(models.Model):
    # No index of its own: the unique pair (account, conversation_id) starts with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="recordings", db_index=False)
    conversation_id = models.CharField(max_length=200)
    call_ended_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=32, choices=RecordingState.choices, default=RecordingState.CALL_IN_PROGRESS, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Retention bookkeeping; each mark is set by one conditional UPDATE so it happens once.
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    retention_batch = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "conversation_id"], name="recording_unique_per_conversation")
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} ({self.state})"

    @property
    def message(self) -> str:
        return STATE_MESSAGES[self.state]


class RecordingFile(models.Model):
    """One source of a recording, and the fetch job that copies it into storage."""

    # No index of its own: the unique triple (recording, channel, source_url) starts with it.
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="files", db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    source_url = models.TextField()
    state = models.CharField(
        max_length=32, choices=RecordingState.choices, default=RecordingState.CALL_IN_PROGRESS
    )
    attempt_kind = models.CharField(max_length=16, choices=AttemptKind.choices, default=AttemptKind.INITIAL)
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Next attempt; empty = nothing scheduled")
    auto_retry_at = models.DateTimeField(
        null=True, blank=True, help_text="The pending automatic 24-hour retry; empty once it has run"
    )
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the worker fetching it")
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the claimed attempt began; empty while the claim waits for a worker"
    )
    # The stored (and served) FLAC; a source in another format was transcoded when fetched.
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # The source as it was downloaded: its libsndfile format name (WAV, MP3, FLAC…), size and checksum.
    source_format = models.CharField(max_length=16, blank=True)
    source_bytes = models.BigIntegerField(null=True, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    storage_key = models.CharField(max_length=500, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last attempt failed, in full (for operators)")
    reason = models.TextField(
        blank=True, help_text="Why the last attempt failed, in a sentence safe to show the account (no internal detail)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "channel", "source_url"], name="recording_file_unique_source"
            )
        ]
        indexes = [models.Index(fields=["due_at", "claimed_until"], name="recording_file_due")]

    def __str__(self) -> str:
        return f"{self.recording.conversation_id}/{self.channel} ({self.state})"


class RecordingSourceGrant(models.Model):
    """An operator's permission for one account to fetch from an S3 bucket/prefix or an internal host.

    Set in the Django admin or with ``manage.py recording_source_grants``, never by an ingest
    client; see :mod:`recordings.grants` for the forms and how sources are matched against them.
    """

    # No index of its own: the unique pair (account, source) starts with it.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="recording_source_grants", db_index=False
    )
    source = models.CharField(
        max_length=1100,
        help_text="s3://bucket/prefix/ (s3:// sources under that prefix) or a host name / IP address "
        "(http(s) sources on that host may resolve to internal addresses, if the host is also in "
        "RECORDING_SOURCE_ALLOWED_HOSTS)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "source"], name="recording_source_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.source}"

    def clean(self) -> None:
        try:
            self.source = grant_parse(self.source).text
        except GrantInvalid as error:
            raise ValidationError({"source": str(error)}) from None


class RetentionSettings(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="recording_retention")
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a recording is kept after the call; empty = forever"
    )
    notify_customers = models.BooleanField(
        default=False, help_text="E-mail a notice 7 days before deletion and a confirmation after it"
    )
    notification_email = models.EmailField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention settings"
        verbose_name_plural = "retention settings"

    def __str__(self) -> str:
        days = "forever" if self.retention_days is None else f"{self.retention_days} days"
        return f"{self.account}: {days}"


class AuditAction(models.TextChoices):
    RETENTION_CHANGED = "retention_changed", "Retention settings changed"
    DELETION_NOTICE_SENT = "deletion_notice_sent", "Deletion notice sent"
    RECORDING_DELETED = "recording_deleted", "Recording deleted"
    DELETION_CONFIRMATION_SENT = "deletion_confirmation_sent", "Deletion confirmation sent"
    # Supervisor workflows (supervision): the same audit log for the account's other privacy actions.
    PRIVACY_CHANGED = "privacy_changed", "Privacy settings changed"
    CONVERSATION_DELETED = "conversation_deleted", "Conversation deleted"
    CUSTOMER_ERASED = "customer_erased", "Customer erased"
    FLAG_REMOVED = "flag_removed", "Supervisor flag removed"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who did what when to retention settings, recordings, privacy settings and conversations (deletion,
    erasure); rows are never changed or removed."""

    # No index of its own: audit_entry_account_recent (account, -id) starts with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_entries", db_index=False)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(
        max_length=300, help_text="client:<id> (and user:<X-Acting-User>), admin:<username> or system"
    )
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    conversation_id = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["account", "-id"], name="audit_entry_account_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")
