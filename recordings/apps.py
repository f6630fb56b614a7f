from __future__ import annotations

from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = "Recordings"

    def ready(self) -> None:
        # Attaches the recordings' state gauge to /metrics.
        from recordings import metrics  # noqa: F401 — models are loaded only now
