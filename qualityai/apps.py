from __future__ import annotations

from django.apps import AppConfig


class QualityAiConfig(AppConfig):
    name = "qualityai"
    verbose_name = "Quality AI"

    def ready(self) -> None:
        from qualityai import metrics  # noqa: F401 — models are loaded only now
