"""Reads of the supervisor workflows: the conversation an action targets, the disposition log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import is_storable
from analytics_api.models import Account
from content.criteria import conversations_matching
from content.models import Conversation
from conversations.models import Interaction
from supervision.models import DispositionChange

# The disposition log of one conversation is served whole, newest last, up to this many changes.
MAX_LOG_CHANGES = 1000


def conversation_missing(session_id: str) -> ApiError:
    return ApiError(
        f"No conversation {session_id!r} in this account.", code="not_found", status_code=404, field="sessionId"
    )


@dataclass
class Target:
    """A conversation of the account: its content row and/or its interaction record (either may be missing)."""

    session_id: str
    conversation: Conversation | None
    interaction: Interaction | None


def conversation_target(*, account: Account, session_id: str, lock: bool = False) -> Target:
    """The conversation ``session_id`` of ``account``; unknown or another account's is 404.

    ``lock`` takes the rows for update (call it inside a transaction): two edits of the same
    conversation then run one after the other.
    """
    if not is_storable(session_id) or len(session_id) > 128:
        raise conversation_missing(session_id)
    conversations: QuerySet[Conversation] = Conversation.objects.filter(account=account, session_id=session_id)
    interactions: QuerySet[Interaction] = Interaction.objects.filter(account=account, session_id=session_id)
    if lock:
        conversations, interactions = conversations.select_for_update(), interactions.select_for_update()
    target = Target(session_id=session_id, conversation=conversations.first(), interaction=interactions.first())
    if target.conversation is None and target.interaction is None:
        raise conversation_missing(session_id)
    return target


def disposition_log(*, account: Account, session_id: str) -> list[DispositionChange]:
    """Every change of the conversation's dispositions, oldest first (404 for an unknown conversation)."""
    conversation_target(account=account, session_id=session_id)
    rows = DispositionChange.objects.filter(account=account, session_id=session_id).order_by("id")
    return list(rows[:MAX_LOG_CHANGES])


def conversations_selected(*, account: Account, session_ids: list[str]) -> QuerySet[Conversation]:
    """The account's conversations among ``session_ids`` (others' and unknown ones are simply absent)."""
    return Conversation.objects.filter(account=account, session_id__in=session_ids)


EXPORT_SEARCH_UNSUPPORTED = (
    "The conversation export does not search: leave q out, and select the conversations with filters, "
    "filterId or sessionIds."
)


def conversations_queried(
    *, account: Account, start: datetime, end: datetime, criteria: dict[str, Any] | None, q: str | None
) -> QuerySet[Conversation]:
    """The conversations a query body selects (its window and criteria); none when the criteria exclude all."""
    if q is not None:
        raise ApiError(EXPORT_SEARCH_UNSUPPORTED, code="invalid", field="q")
    if criteria is None:
        return Conversation.objects.none()
    return conversations_matching(account=account, start=start, end=end, criteria=criteria)
