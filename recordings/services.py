"""Recording jobs: registration from ingestion, fetching, retry and retention (DESIGN §8)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from analytics_api.models import Account


def recording_sources_register(
    *, account: Account, conversation_id: str, call_ended_at: datetime | None, sources: Sequence[dict[str, Any]]
) -> None:
    """Create or update one recording job per source of an ingested voice conversation."""
    raise NotImplementedError("filled in by the recordings work (issue 5)")
