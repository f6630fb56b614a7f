from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.ingestion import format_import_report, import_report_check
from qualityai.selectors import stream_by_id
from qualityai.services import contacts_import


class Command(BaseCommand):
    help = (
        "Import Quality AI contacts of a stream from a JSON-lines file (one contact per line, in the rawdata "
        "result shape, times with Z or an offset) through the same validation as "
        "POST /api/v1/ingest/qualityai/{streamId}/contacts. Re-importing updates contacts by Conversation ID. "
        "Streams the file; prints a progress bar, a summary and the reason for every rejected line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream_id", metavar="streamId", help="The stream: a bot/app id (st-<uuid>)")
        parser.add_argument("path", metavar="file.jsonl", type=Path)
        parser.add_argument("--account", metavar="accountId", help="The stream's account, if several share its id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            stream = stream_by_id(stream_id=options["stream_id"], account_id=options["account"])
        except ApiError as error:
            raise CommandError(str(error)) from None
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No file {str(path)!r}.")
        report = contacts_import(stream=stream, path=path, progress=self.stderr)
        self.stdout.write(format_import_report(report))
        import_report_check(report)
