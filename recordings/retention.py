"""Recording retention: settings, the daily notice/deletion job, and the audit log (docs/contract.md#retention).

A recording expires ``retention_days`` after its call ended (after it was registered, when the end
is unknown). When the account opted in, a notice goes to its notification address 7 days before
expiry, and a confirmation after deletion. Deletion never happens before expiry, and for an
opted-in account never less than 7 days after the notice: shortening the period therefore still
gives customers their week. Only recordings with stored audio are noticed and deleted.

Every mark (notice sent, deleted) is set by one conditional UPDATE that claims the rows with a
batch token, inside the transaction that sends the e-mail and writes the audit entries: a second
run, concurrent or later, finds nothing left to claim, and a failed e-mail rolls the marks back so
the next run tries again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account
from changes.services import changes_record_qa_contacts
from recordings.models import AuditAction, AuditEntry, Recording, RecordingFile, RecordingState, RetentionSettings
from recordings.selectors import retention_settings_get
from recordings.services import claim_released
from recordings.storage import StorageError, recording_storage

logger = logging.getLogger(__name__)

NOTICE_AHEAD = timedelta(days=7)
BATCH = 500
SYSTEM_ACTOR = "system"


def recording_expires_at(*, recording: Recording, retention: RetentionSettings) -> datetime | None:
    if retention.retention_days is None:
        return None
    base = recording.call_ended_at or recording.created_at
    return base + timedelta(days=retention.retention_days)


def retention_settings_update(
    *, account: Account, actor: str, retention_days: int | None, notify_customers: bool, notification_email: str
) -> RetentionSettings:
    """Replace the account's retention settings; a change is written to the audit log.

    Opting in to notices requires a notification address (400 otherwise).
    """
    if notify_customers and not notification_email:
        raise ApiError(
            "A notificationEmail is required when notifyCustomers is true.",
            code="required",
            field="notificationEmail",
        )
    with transaction.atomic():
        current = RetentionSettings.objects.select_for_update().filter(account=account).first()
        current = current or retention_settings_get(account=account)
        before = _settings_snapshot(current)
        current.retention_days = retention_days
        current.notify_customers = notify_customers
        current.notification_email = notification_email
        after = _settings_snapshot(current)
        if current.pk is None or before != after:
            current.save()
        if before != after:
            AuditEntry.objects.create(
                account=account,
                at=timezone.now(),
                actor=actor,
                action=AuditAction.RETENTION_CHANGED,
                details={"before": before, "after": after},
            )
    return current


def _settings_snapshot(retention: RetentionSettings) -> dict[str, object]:
    return {
        "retentionDays": retention.retention_days,
        "notifyCustomers": retention.notify_customers,
        "notificationEmail": retention.notification_email,
    }


@dataclass
class RetentionReport:
    notices: int = 0
    deletions: int = 0


def retention_run() -> RetentionReport:
    """One pass over every account with a retention period: notices first, then deletions."""
    report = RetentionReport()
    now = timezone.now()
    for retention in RetentionSettings.objects.filter(retention_days__isnull=False).select_related("account"):
        if retention.notify_customers and retention.notification_email:
            report.notices += _send_notices(retention, now)
        report.deletions += _delete_expired(retention, now)
    return report


def _ended_before(moment: datetime) -> Q:
    return Q(call_ended_at__lte=moment) | Q(call_ended_at__isnull=True, created_at__lte=moment)


def _with_audio(retention: RetentionSettings) -> QuerySet[Recording]:
    stored = RecordingFile.objects.filter(state=RecordingState.AVAILABLE).values("recording_id")
    return Recording.objects.filter(account=retention.account, deleted_at__isnull=True, pk__in=stored)


def _system_entries(
    retention: RetentionSettings, now: datetime, action: str, rows: list[Recording], details: dict[str, object]
) -> list[AuditEntry]:
    """One audit entry per recording, written by the retention job itself."""
    return [
        AuditEntry(
            account=retention.account,
            at=now,
            actor=SYSTEM_ACTOR,
            action=action,
            conversation_id=row.conversation_id,
            details=details,
        )
        for row in rows
    ]


def _send_notices(retention: RetentionSettings, now: datetime) -> int:
    """Notice every recording expiring within 7 days that has not had one, in e-mails of ≤ BATCH."""
    days = timedelta(days=retention.retention_days or 0)
    due = _with_audio(retention).filter(_ended_before(now - days + NOTICE_AHEAD), notice_sent_at__isnull=True)
    sent = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        token = uuid.uuid4().hex
        with transaction.atomic():
            due.filter(pk__in=ids).update(notice_sent_at=now, retention_batch=token)
            rows = list(Recording.objects.filter(retention_batch=token).order_by("pk"))
            if not rows:
                continue
            lines = [
                f"- {row.conversation_id}: deleted on or after "
                f"{render_utc_ms(max(recording_expires_at(recording=row, retention=retention), now + NOTICE_AHEAD))}"
                for row in rows
            ]
            send_mail(
                subject=f"{len(rows)} call recording(s) will be deleted in 7 days",
                message=(
                    "As per your data retention policy "
                    f"({retention.retention_days} days), these call recordings will be permanently deleted:\n"
                    + "\n".join(lines)
                    + "\n\nDownload any recording you need to keep before then."
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[retention.notification_email],
            )
            AuditEntry.objects.bulk_create(
                _system_entries(
                    retention, now, AuditAction.DELETION_NOTICE_SENT, rows,
                    {"to": retention.notification_email, "retentionDays": retention.retention_days},
                )
            )
        sent += len(rows)
        logger.info("Retention: deletion notice for %s recording(s) of account %s", len(rows), retention.account)
    return sent


def _delete_expired(retention: RetentionSettings, now: datetime) -> int:
    """Delete the audio of every expired recording (after its notice week, when opted in).

    1. Claim a batch: mark it deleted with a batch token (conditional on not being deleted yet).
    2. Delete the stored objects, then clear the files' keys and cancel their jobs; a storage
       failure rolls the batch back for the next run.
    3. Audit each deletion and, when opted in, send and audit the confirmation.
    """
    days = timedelta(days=retention.retention_days or 0)
    expired = _with_audio(retention).filter(_ended_before(now - days))
    if retention.notify_customers and retention.notification_email:
        expired = expired.filter(notice_sent_at__lte=now - NOTICE_AHEAD)
    storage = recording_storage()
    deleted = 0
    while ids := list(expired.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        token = uuid.uuid4().hex
        with transaction.atomic():
            expired.filter(pk__in=ids).update(
                deleted_at=now, state=RecordingState.DELETED, retention_batch=token, updated_at=now
            )
            rows = list(Recording.objects.filter(retention_batch=token).order_by("pk"))
            if not rows:
                continue
            files = RecordingFile.objects.filter(recording__in=rows)
            keys = [key for key in files.values_list("storage_key", flat=True) if key]
            for key in keys:
                try:
                    storage.delete(key)
                except StorageError:
                    logger.exception("Retention: could not delete %s; the batch will be retried", key)
                    raise
            files.update(
                state=RecordingState.DELETED,
                storage_key="",
                due_at=None,
                auto_retry_at=None,
                **claim_released(now=now),
            )
            entries = _system_entries(
                retention, now, AuditAction.RECORDING_DELETED, rows, {"retentionDays": retention.retention_days}
            )
            if retention.notify_customers and retention.notification_email:
                send_mail(
                    subject=f"{len(rows)} call recording(s) deleted",
                    message=(
                        "As per your data retention policy "
                        f"({retention.retention_days} days), these call recordings were permanently deleted:\n"
                        + "\n".join(f"- {row.conversation_id}" for row in rows)
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[retention.notification_email],
                )
                entries += _system_entries(
                    retention, now, AuditAction.DELETION_CONFIRMATION_SENT, rows,
                    {"to": retention.notification_email},
                )
            AuditEntry.objects.bulk_create(entries)
            # The contacts' recording links no longer list these files.
            changes_record_qa_contacts(
                account_id=retention.account_id, conversation_ids=[row.conversation_id for row in rows]
            )
        deleted += len(rows)
        logger.info("Retention: deleted %s recording(s) of account %s", len(rows), retention.account)
    return deleted
