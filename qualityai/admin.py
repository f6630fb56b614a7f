from __future__ import annotations

from django.contrib import admin

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
