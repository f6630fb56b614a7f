from __future__ import annotations

from pathlib import Path

from analytics_api.kernel.import_command import ImportCommand
from analytics_api.kernel.imports import ImportReport
from analytics_api.models import Account
from conversations.services import interactions_import


class Command(ImportCommand):
    help = (
        "Import interaction records from a JSON-lines file (one record per line, times in UTC with Z or an "
        "offset) through the same validation as POST /api/v1/ingest/interactions. Streams the file; "
        "prints a progress bar, a summary and the reason for every rejected line."
    )

    def run(self, target: Account, path: Path, *, writers: int) -> ImportReport:
        return interactions_import(account=target, path=path, progress=self.stderr, writers=writers)
