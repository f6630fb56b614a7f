from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import Delivery, DeliveryState
from webhooks.services import delivery_retry


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("pk", "event", "account", "url", "state", "attempts", "next_attempt_at", "last_status",
                    "created_at")
    list_filter = ("state", "event")
    search_fields = ("account__account_id", "url", "event")
    list_select_related = ("account",)
    readonly_fields = ("account", "api_client", "event", "url", "body_text", "state", "attempts", "next_attempt_at",
                       "claimed_until", "last_status", "last_error", "created_at", "delivered_at")
    exclude = ("body", "claim_token")
    actions = ["retry_failed"]

    @admin.display(description="Body")
    def body_text(self, obj: Delivery) -> str:
        return bytes(obj.body).decode("utf-8", "replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected failed deliveries")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        failed = list(queryset.filter(state=DeliveryState.FAILED).values_list("pk", flat=True))
        for delivery_id in failed:
            delivery_retry(delivery_id=delivery_id)
        self.message_user(request, f"{len(failed)} failed deliveries queued again.", messages.SUCCESS)
