from __future__ import annotations

from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "changes"
    verbose_name = "Change feed"

    def ready(self) -> None:
        from changes import metrics  # noqa: F401 — models are loaded only now
