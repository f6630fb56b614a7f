"""Helpers of the search tests: conversations with content, indexed as the writers index them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from content.models import Conversation
from search.selectors import SearchPage, conversation_search
from search.services import search_index_refresh
from tests.conftest import Tenant
from tests.content.factories import BASE, ConversationFactory, TranscriptFactory, utc_ms


def said(role: str, text: str, *, kind: str = "message", at: int = 0, **extra: Any) -> dict[str, Any]:
    """A transcript message ``at`` seconds into the conversation (ids follow the time)."""
    return {"id": f"m{at:04d}", "time": utc_ms(BASE + timedelta(seconds=at)), "role": role, "kind": kind,
            "text": text, **extra}


def transcript(*lines: tuple[str, str] | dict[str, Any]) -> list[dict[str, Any]]:
    """Messages from (role, text) pairs or ready messages, one second apart."""
    messages = []
    for at, line in enumerate(lines):
        message = dict(line) if isinstance(line, dict) else said(*line)
        message.update(id=f"m{at:04d}", time=utc_ms(BASE + timedelta(seconds=at)))
        messages.append(message)
    return messages


def conversation(tenant: Tenant, *, minute: int, messages: list[dict[str, Any]] | None = None,
                 index: bool = True, session_id: str | None = None, **sections: Any) -> Conversation:
    """A conversation started ``minute`` minutes after BASE, with its transcript, indexed."""
    named = {"session_id": session_id} if session_id else {}
    row = ConversationFactory(account=tenant.account, started_at=BASE + timedelta(minutes=minute),
                              sections=sections, **named)
    if messages is not None:
        TranscriptFactory(conversation=row, messages=messages)
    if index:
        search_index_refresh(account_id=tenant.account.pk, conversation_ids=[row.pk])
    return row


def search(tenant: Tenant, q: str, **options: Any) -> SearchPage:
    return conversation_search(
        account_id=tenant.account.pk, conversations=Conversation.objects.filter(account=tenant.account), q=q,
        **options,
    )


def ranking(tenant: Tenant, q: str, **options: Any) -> tuple[list[tuple[str, int]], int]:
    """The (session id, tier) of every match in order, reading every page, and the total."""
    found: list[tuple[str, int]] = []
    cursor = None
    while True:
        page = search(tenant, q, cursor=cursor, limit=2, **options)
        found.extend((hit.conversation.session_id, hit.tier) for hit in page.hits)
        if page.next_cursor is None:
            return found, page.total
        cursor = page.next_cursor
