from __future__ import annotations

from django.apps import AppConfig


class QualityAiConfig(AppConfig):
    name = "qualityai"
    verbose_name = "Quality AI"
