from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from analytics_api.kernel.errors import ApiError
from recordings.models import AuditEntry, Recording, RecordingFile, RecordingSourceGrant, RetentionSettings
from recordings.retention import retention_settings_update
from recordings.services import recording_retry


class RecordingFileInline(admin.TabularInline):
    model = RecordingFile
    extra = 0
    can_delete = False
    fields = (
        "channel", "source_url", "state", "attempt_kind", "attempts", "due_at", "auto_retry_at",
        "claimed_until", "size_bytes", "sha256", "source_format", "source_bytes", "source_sha256", "storage_key",
        "last_error", "reason",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("conversation_id", "account", "state", "call_ended_at", "notice_sent_at", "deleted_at")
    list_filter = ("state",)
    search_fields = ("conversation_id", "account__account_id")
    readonly_fields = (
        "account", "conversation_id", "call_ended_at", "state", "created_at", "updated_at",
        "notice_sent_at", "deleted_at",
    )
    exclude = ("retention_batch",)
    inlines = [RecordingFileInline]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry fetching the selected failed recordings now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Recording]) -> None:
        queued = 0
        for recording in queryset.select_related("account"):
            try:
                recording_retry(account=recording.account, conversation_id=recording.conversation_id)
            except ApiError as error:
                self.message_user(request, f"{recording.conversation_id}: {error}", messages.WARNING)
            else:
                queued += 1
        self.message_user(request, f"{queued} recording(s) queued for a retry.")


@admin.register(RecordingSourceGrant)
class RecordingSourceGrantAdmin(admin.ModelAdmin):
    """Where an account may fetch recordings from beyond the public internet; only operators set it."""

    list_display = ("account", "source", "created_at")
    search_fields = ("account__account_id", "source")
    fields = ("account", "source")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A grant is added or removed, never edited into another one.
        return False


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(admin.ModelAdmin):
    list_display = ("account", "retention_days", "notify_customers", "notification_email", "updated_at")
    search_fields = ("account__account_id", "notification_email")

    def save_model(self, request: HttpRequest, obj: RetentionSettings, form: Any, change: bool) -> None:
        # Through the service, so that an admin's change is audited like an API client's.
        retention_settings_update(
            account=obj.account,
            actor=f"admin:{request.user.get_username()}",
            retention_days=obj.retention_days,
            notify_customers=obj.notify_customers,
            notification_email=obj.notification_email,
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "account", "actor", "action", "conversation_id")
    list_filter = ("action",)
    search_fields = ("account__account_id", "conversation_id", "actor")
    readonly_fields = ("account", "at", "actor", "action", "conversation_id", "details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
