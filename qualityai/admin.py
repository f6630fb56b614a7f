from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from qualityai.models import QaContact, StreamSettings


@admin.register(StreamSettings)
class StreamSettingsAdmin(admin.ModelAdmin):
    list_display = ("stream", "stream_account", "min_duration_seconds", "updated_at")
    search_fields = ("stream__bot_id", "stream__name", "stream__account__account_id")
    list_select_related = ("stream__account",)
    raw_id_fields = ("stream",)

    @admin.display(description="Account")
    def stream_account(self, obj: StreamSettings) -> str:
        return obj.stream.account.account_id


@admin.register(QaContact)
class QaContactAdmin(admin.ModelAdmin):
    list_display = ("conversation_id", "stream", "started_at", "direction", "duration_ms", "audit_complete")
    list_filter = ("direction", "direction_defaulted", "audit_complete")
    search_fields = ("conversation_id", "stream__bot_id")
    list_select_related = ("stream",)
    raw_id_fields = ("account", "stream")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False

    # Contacts are written by ingestion and erased by supervision's erasure, which also keep the
    # change feed and the kept day counts; an edit here would bypass both.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: QaContact | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: QaContact | None = None) -> bool:
        return False
