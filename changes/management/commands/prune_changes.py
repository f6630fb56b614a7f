"""``manage.py prune_changes``: what the daily job does, on demand (docs/contract.md#change-feed-retention)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from changes.services import changes_prune


class Command(BaseCommand):
    help = (
        "Delete changes older than CHANGE_FEED_RETENTION_DAYS that a later change supersedes, and old tombstones; "
        "cursors handed out before the prune and older than that answer 410 cursor_expired."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = changes_prune()
        self.stdout.write(
            f"Pruned {report.deleted} change(s) older than {settings.CHANGE_FEED_RETENTION_DAYS} days; "
            f"cursors before {report.horizon[0]:016x}{report.horizon[1]:016x} handed out before generation "
            f"{report.generation} are expired."
        )
