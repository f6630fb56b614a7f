"""Helpers of the change-feed tests: write records through the real services, read the feed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from changes.services import changes_record
from conversations.models import Interaction
from conversations.services import interactions_ingest
from qualityai.services import contacts_ingest
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory, SessionRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

FEED = "/api/v1/changes"
COUNTS = "/api/v1/counts"


def ingest(tenant: Tenant, records: list[dict[str, Any]]) -> None:
    result = interactions_ingest(account=tenant.account, records=records)
    assert result.rejected == [], result.rejected


def ingest_contacts(tenant: Tenant, documents: list[dict[str, Any]]) -> None:
    result = contacts_ingest(stream=tenant.bot, records=documents)
    assert result.rejected == [], result.rejected


def sessions(tenant: Tenant, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [SessionRecordFactory(botId=tenant.bot.bot_id, **kwargs) for _ in range(count)]


def conversations(tenant: Tenant, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [ConversationRecordFactory(botId=tenant.bot.bot_id, **kwargs) for _ in range(count)]


def contacts(count: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [ContactDocumentFactory(**kwargs) for _ in range(count)]


def interactions_delete(tenant: Tenant, session_ids: list[str]) -> None:
    """A deletion as erasure or retention of records will do it: the rows and their tombstones together."""
    with transaction.atomic():
        Interaction.objects.filter(account=tenant.account, session_id__in=session_ids).delete()
        changes_record(account_id=tenant.account.pk, dataset="interactions", keys=session_ids, op="delete")


def feed(tenant: Tenant, dataset: str = "interactions", cursor: str | None = None, limit: int | None = None) -> Any:
    query = f"{FEED}?dataset={dataset}"
    if cursor is not None:
        query += f"&cursor={cursor}"
    if limit is not None:
        query += f"&limit={limit}"
    return tenant.get(query)


def drain(tenant: Tenant, dataset: str = "interactions", cursor: str | None = None, limit: int = 1000) -> tuple[
    list[dict[str, Any]], str
]:
    """Every item from ``cursor`` to the end of the stream, and the last nextCursor."""
    items: list[dict[str, Any]] = []
    while True:
        response = feed(tenant, dataset, cursor, limit)
        assert response.status_code == 200, response.content
        page = response.json()
        items.extend(page["items"])
        cursor = page["nextCursor"]
        if page["endOfStream"]:
            return items, cursor
