from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.ingestion import format_import_report, import_report_check
from analytics_api.models import Account
from content.services import conversations_import


class Command(BaseCommand):
    help = (
        "Import conversation content (status, transcript, events, voice turns, …) from a JSON-lines file, one "
        "record per line, through the same validation as POST /api/v1/ingest/conversations. Streams the file; "
        "prints a progress bar, a summary and the reason for every rejected line; exits with status 1 when "
        "any line was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_id", metavar="accountId")
        parser.add_argument("path", metavar="file.jsonl", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(account_id=options["account_id"]).first()
        if account is None:
            raise CommandError(f"No account {options['account_id']!r}; create it with create_account.")
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No file {str(path)!r}.")
        report = conversations_import(account=account, path=path, progress=self.stderr)
        self.stdout.write(format_import_report(report))
        import_report_check(report)
