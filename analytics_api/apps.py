from __future__ import annotations

from django.apps import AppConfig


class AnalyticsApiConfig(AppConfig):
    name = "analytics_api"
    verbose_name = "Accounts and API clients"

    def ready(self) -> None:
        # The django-q2 workers' task metrics and log context (signal receivers).
        from analytics_api import task_hooks  # noqa: F401 — django_q's models are loaded only now
