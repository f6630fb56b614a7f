"""Writes of call diagnostics: the ``diagnostics`` section of ingested conversation records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analytics_api.kernel.ingestion import rows_insert
from diagnostics.models import CallDiagnostics


def diagnostics_replace(*, account_id: int, sections: Mapping[int, tuple[datetime, dict[str, Any]]]) -> None:
    """Give each conversation (by primary key) exactly the validated section sent: the section is
    replaced as a whole, like every section of a record. Two statements per batch, inside the
    caller's transaction. ``sections`` maps a conversation's pk to (its start, the section)."""
    if not sections:
        return
    CallDiagnostics.objects.filter(account_id=account_id, conversation_id__in=list(sections)).delete()
    rows_insert(
        CallDiagnostics,
        [
            {"conversation_id": pk, "account_id": account_id, "started_at": started_at, "document": document}
            for pk, (started_at, document) in sections.items()
        ],
    )
