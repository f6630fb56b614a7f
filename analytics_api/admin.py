from __future__ import annotations

from django.contrib import admin

from analytics_api.models import Account, ApiClient, Bot


class BotInline(admin.TabularInline):
    model = Bot
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("account_id", "org_id", "name", "created_at")
    search_fields = ("account_id", "org_id", "name")
    inlines = [BotInline]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("client_id", "name", "account", "enabled", "scopes_display", "enforce_jti")
    list_filter = ("enabled", "enforce_jti")
    search_fields = ("client_id", "name", "account__account_id")
    readonly_fields = ("client_id", "secret_prefix", "created_at")
    fields = (
        "client_id", "secret_prefix", "account", "name", "scopes", "enabled",
        "rate_limit_per_minute", "rate_limit_per_hour", "enforce_jti", "created_at",
    )

    @admin.display(description="Scopes")
    def scopes_display(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="Secret")
    def secret_prefix(self, obj: ApiClient) -> str:
        # The secret is shown in full only once, by create_api_client.
        return f"{obj.secret[:4]}…" if obj.sealed_secret else ""
