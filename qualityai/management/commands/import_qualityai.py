from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.import_command import ImportCommand
from analytics_api.kernel.imports import ImportReport
from analytics_api.models import Bot
from qualityai.selectors import stream_by_id
from qualityai.services import contacts_import


class Command(ImportCommand):
    help = (
        "Import Quality AI contacts of a stream from a JSON-lines file (one contact per line, in the rawdata "
        "result shape, times with Z or an offset) through the same validation as "
        "POST /api/v1/ingest/qualityai/{streamId}/contacts. Re-importing updates contacts by Conversation ID. "
        "Streams the file; prints a progress bar, a summary and the reason for every rejected line."
    )

    def add_target_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream_id", metavar="streamId", help="The stream: a bot/app id (st-<uuid>)")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--account", metavar="accountId", help="The stream's account, if several share its id")

    def target(self, options: dict[str, Any]) -> Bot:
        try:
            return stream_by_id(stream_id=options["stream_id"], account_id=options["account"])
        except ApiError as error:
            raise CommandError(str(error)) from None

    def run(self, target: Bot, path: Path, *, writers: int) -> ImportReport:
        return contacts_import(stream=target, path=path, progress=self.stderr, writers=writers)
