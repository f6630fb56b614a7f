"""The one shape of the JSON-lines import commands (``import_interactions``, ``import_qualityai``,
``import_conversations``): a target (an account or a stream), a file, a progress bar on stderr, the
report on stdout, and exit status 1 when any line was rejected (docs/contract.md#import-commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.collector import collector_tuned
from analytics_api.kernel.imports import (
    IMPORT_WRITERS,
    MAX_IMPORT_WRITERS,
    ImportReport,
    format_import_report,
    import_report_check,
)
from analytics_api.models import Account


class ImportCommand(BaseCommand):
    """Subclasses name their target argument and say how to resolve it and what to import into it."""

    def add_target_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId")

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_target_arguments(parser)
        parser.add_argument("path", metavar="file.jsonl", type=Path)
        parser.add_argument(
            "--writers",
            type=int,
            default=IMPORT_WRITERS,
            help=(
                f"Chunks of 1,000 lines stored at once on PostgreSQL, each on its own connection "
                f"(1 to {MAX_IMPORT_WRITERS}, default {IMPORT_WRITERS}); SQLite stores one at a time."
            ),
        )

    def target(self, options: dict[str, Any]) -> Any:
        """The account of ``accountId`` (the default target); a CommandError that says how to fix it."""
        account = Account.objects.filter(account_id=options["account_id"]).first()
        if account is None:
            raise CommandError(f"No account {options['account_id']!r}; create it with create_account.")
        return account

    def run(self, target: Any, path: Path, *, writers: int) -> ImportReport:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        writers: int = options["writers"]
        if not 1 <= writers <= MAX_IMPORT_WRITERS:
            raise CommandError(f"--writers must be 1 to {MAX_IMPORT_WRITERS} (got {writers}).")
        target = self.target(options)
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No file {str(path)!r}.")
        # A file is parsed in batches of a thousand records: the collector's default rhythm costs a
        # sixth of the CPU (analytics_api.kernel.collector).
        with collector_tuned():
            report = self.run(target, path, writers=writers)
        self.stdout.write(format_import_report(report))
        import_report_check(report)
