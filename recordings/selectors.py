"""Reads for recordings."""

from __future__ import annotations

from collections.abc import Iterable

from analytics_api.models import Account


def recording_links(*, account: Account, conversation_ids: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """``{conversationId: {"agent": [url, ...], "customer": [url, ...]}}`` for available recordings."""
    raise NotImplementedError("filled in by the recordings work (issue 5)")
