"""Helpers of the content tests: a conversation with its interaction record, stored through the real paths."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from content.models import Conversation
from conversations.records import channel_code
from conversations.services import interactions_ingest
from tests.conftest import Tenant
from tests.content.factories import BASE
from tests.conversations.factories import ConversationRecordFactory

QUERY = "/api/v1/conversations/query"


def conversation_of(tenant: Tenant, *, record: dict[str, Any] | None = None, **fields: Any) -> Conversation:
    """A conversation of ``tenant``; with ``record`` (an interaction record) its interaction too.

    The row is updated in place when ingestion already created it, so the helper holds whichever
    side (interaction or content) creates the row first.
    """
    if record is not None:
        record = {**record, "botId": tenant.bot.bot_id}
        result = interactions_ingest(account=tenant.account, records=[record])
        assert result.rejected == [], result.rejected
        fields.setdefault("session_id", record["sessionId"])
        fields.setdefault("started_at", datetime.fromisoformat(record["sessionStartTime"]))
        if record.get("sessionEndTime"):
            fields.setdefault("ended_at", datetime.fromisoformat(record["sessionEndTime"]))
        fields.setdefault("channel", channel_code(record["channel"]))
        fields.setdefault("start_from_interaction", True)
    fields.setdefault("started_at", BASE)
    fields.setdefault("ended_at", fields["started_at"] + timedelta(minutes=5))
    session_id = fields.pop("session_id")
    conversation, _ = Conversation.objects.update_or_create(
        account=tenant.account, session_id=session_id, defaults=fields
    )
    return conversation


def voice_record(start: datetime, **fields: Any) -> dict[str, Any]:
    """An agent-handled voice call that entered one queue, starting at ``start``."""
    return ConversationRecordFactory(start=start, **fields)

