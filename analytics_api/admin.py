from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from analytics_api.metrics import RATE_LIMITED
from analytics_api.models import Account, ApiClient, Bot
from analytics_api.tenancy.throttling import client_address, window_counts, window_reset

logger = logging.getLogger("analytics_api.tenancy.auth")


class LimitedAdminLoginForm(AdminAuthenticationForm):
    """The /admin/ login form, allowing ``ADMIN_LOGIN_ATTEMPTS`` per username and per address.

    Every attempt counts, in fixed windows of ``ADMIN_LOGIN_WINDOW_SECONDS``, before the password
    is checked; past the limit the password is not checked at all (each check costs a few hundred
    milliseconds of CPU, and a right guess must not get through either).
    """

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is not None and self.cleaned_data.get("password"):
            self._count_attempt(username)
        return super().clean()

    def _count_attempt(self, username: str) -> None:
        now = time.time()
        window = settings.ADMIN_LOGIN_WINDOW_SECONDS
        address = client_address(self.request)
        counts = window_counts(
            [(f"adminlogin:user:{username.casefold()}", window), (f"adminlogin:addr:{address}", window)], now=now
        )
        if max(counts) > settings.ADMIN_LOGIN_ATTEMPTS:
            logger.warning("Admin login throttled for username %r from %s", username, address)
            RATE_LIMITED.labels(reason="admin_login").inc()
            minutes = math.ceil(window_reset(window, now) / 60)
            raise ValidationError(
                f"Too many login attempts for this username or from this address: try again in {minutes} "
                "minute(s).",
                code="too_many_attempts",
            )


admin.site.login_form = LimitedAdminLoginForm


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
