from __future__ import annotations

from pathlib import Path

from analytics_api.kernel.import_command import ImportCommand
from analytics_api.kernel.imports import ImportReport
from analytics_api.models import Account
from content.services import conversations_import


class Command(ImportCommand):
    help = (
        "Import conversation content (status, transcript, events, voice turns, …) from a JSON-lines file, one "
        "record per line, through the same validation as POST /api/v1/ingest/conversations. Streams the file; "
        "prints a progress bar, a summary and the reason for every rejected line; exits with status 1 when "
        "any line was rejected."
    )

    def run(self, target: Account, path: Path, *, writers: int) -> ImportReport:
        return conversations_import(account=target, path=path, progress=self.stderr, writers=writers)
