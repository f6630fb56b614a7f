"""One synchronous pass of due recording fetches and of retention, for cron-driven deployments."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from recordings.jobs import recordings_process_due
from recordings.retention import retention_run


class Command(BaseCommand):
    help = (
        "Fetch every recording that is due (first attempts, automatic and user retries, claims whose "
        "task was lost), record attempts whose worker died as failed, and run the retention notices "
        "and deletions, in this process. Each fetch gives up after RECORDING_FETCH_MAX_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skip-fetch", action="store_true", help="Only run retention")
        parser.add_argument("--skip-retention", action="store_true", help="Only fetch due recordings")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_fetch"]:
            outcomes = recordings_process_due()
            summary = ", ".join(f"{state}: {count}" for state, count in sorted(outcomes.items())) or "none due"
            self.stdout.write(f"Recording fetches: {summary}")
        if not options["skip_retention"]:
            report = retention_run()
            self.stdout.write(f"Retention: {report.notices} notice(s), {report.deletions} deletion(s)")
