from __future__ import annotations

from django.contrib import admin

from exports.models import ExportFile, ExportJob


class ExportFileInline(admin.TabularInline):
    model = ExportFile
    extra = 0
    can_delete = False
    readonly_fields = ("n", "rows", "bytes", "sha256", "storage_key", "created_at")
    exclude = ("last_key",)


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("public_id", "account", "dataset", "format", "state", "rows", "bytes", "attempts", "created_at")
    list_filter = ("state", "dataset", "format")
    search_fields = ("public_id", "account__account_id")
    list_select_related = ("account",)
    readonly_fields = [field.name for field in ExportJob._meta.fields]
    inlines = [ExportFileInline]

    def has_add_permission(self, request: object) -> bool:
        return False
