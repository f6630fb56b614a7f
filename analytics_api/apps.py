from __future__ import annotations

from django.apps import AppConfig


class AnalyticsApiConfig(AppConfig):
    name = "analytics_api"
    verbose_name = "Accounts and API clients"
