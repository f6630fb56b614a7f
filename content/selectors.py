"""Reads of conversations: the Conversations table (docs/contract.md#conversation-query) and one conversation.

The table is paged by keyset on (start, session id), a total order within an account: a page never
overlaps or skips the one before, whatever is ingested between them, and costs the same at any
depth. Every read is a constant number of queries, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Q, QuerySet

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.lists import ListOf
from analytics_api.models import Account
from content.criteria import conversations_matching, criteria_narrow
from content.details import conversation_detail
from content.models import Conversation, ConversationAgent, ConversationDocument, EventLog, Transcript, VoiceTurns
from content.queries import START_ASC, Position, cursor_encode
from content.rows import conversation_row
from conversations.models import Interaction
from conversations.selectors import conversation_interaction
from search.selectors import conversation_search
from supervision.masking import Masker, account_obscures

ORDER = {
    "start_desc": ("-started_at", "-session_id"),
    START_ASC: ("started_at", "session_id"),
}


@dataclass(frozen=True)
class ConversationQuery:
    """A validated query body."""

    start: datetime
    end: datetime
    criteria: dict[str, Any]
    sort: str
    limit: int
    position: Position | None = None
    q: str | None = None
    cursor: str | None = None
    exclude_agent_ai: bool = False

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> ConversationQuery:
        return cls(
            start=data["startDate"],
            end=data["endDate"],
            criteria=data.get("filters", {}),
            sort=data["sort"],
            limit=data["limit"],
            position=data.get("position"),
            q=data.get("q"),
            cursor=data.get("cursor"),
            exclude_agent_ai=data.get("excludeAgentAi", False),
        )


@dataclass(frozen=True)
class ConversationPage:
    total: int
    results: list[dict[str, Any]]
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "results": self.results, "nextCursor": self.next_cursor}


def _conversation_missing(session_id: str) -> ApiError:
    """404 for a session id the account has no conversation of (another account's included)."""
    return ApiError(
        f"No conversation {session_id!r} in this account.", code="not_found", status_code=404, field="sessionId"
    )


# Each read below is of one conversation by (account, session id) with what its endpoint needs, in
# one statement. Not .first(): its ORDER BY id could lead the planner away from that key.

_INTERACTION_DOCUMENT = conversation_interaction("document")
# The agent links in joining order; they carry their conversation's start (see started_within).
_AGENT_IDS = ListOf(
    ConversationAgent.objects.filter(conversation_id=OuterRef("pk"), started_at=OuterRef("started_at"))
    .order_by("position", "pk"),
    "agent_id",
)
_CONVERSATION_DETAIL: CompiledQuery[Conversation] = CompiledQuery(
    lambda account_id, session_id: Conversation.objects.filter(account_id=account_id, session_id=session_id)
    .annotate(interaction_document=_INTERACTION_DOCUMENT, agent_ids=_AGENT_IDS)[:1]
)


def conversation_detail_get(*, account: Account, session_id: str) -> dict[str, Any]:
    """``GET /api/v1/conversations/{sessionId}``: the conversation, its interaction record and its
    agent links in one statement (one round trip); 404 when the account has no such conversation."""
    found = _CONVERSATION_DETAIL.instances(account_id=account.pk, session_id=session_id)
    if not found:
        raise _conversation_missing(session_id)
    row = found[0]
    (detail,) = _rendered(
        conversation_detail, account=account, conversations=[row],
        documents={row.session_id: row.interaction_document}, agents={row.pk: row.agent_ids},
    )
    return detail


def conversation_document_get(
    *, account: Account, session_id: str, model: type[ConversationDocument], field: str
) -> tuple[Conversation, Any]:
    """The account's conversation ``session_id`` and ``field`` of its document of kind ``model`` (None
    when there is none), in one statement; 404 when the account has no such conversation.

    The document is looked up by the conversation's key and start (``ConversationDocument.of_conversation``).
    """
    read = _CONVERSATION_DOCUMENT_READS.get((model, field))
    if read is None:
        document = model.of_conversation(field)
        read = _CONVERSATION_DOCUMENT_READS[(model, field)] = CompiledQuery(
            lambda account_id, session_id: Conversation.objects.filter(account_id=account_id, session_id=session_id)
            .annotate(document=document)[:1]
        )
    found = read.instances(account_id=account.pk, session_id=session_id)
    if not found:
        raise _conversation_missing(session_id)
    return found[0], found[0].document


_CONVERSATION_DOCUMENT_READS: dict[tuple[type[ConversationDocument], str], CompiledQuery[Conversation]] = {}


def interaction_documents(*, account: Account, conversations: Sequence[Conversation]) -> dict[str, dict[str, Any]]:
    """The interaction records of these conversations, by session id (one query).

    A conversation whose interaction arrived starts when it does (``start_from_interaction``), so
    the lookup is bounded by the conversations' starts: on PostgreSQL it reads only their months.
    """
    if not conversations:
        return {}
    starts = [row.started_at for row in conversations]
    sessions = [row.session_id for row in conversations]
    return dict(
        _INTERACTION_DOCUMENTS.rows(account_id=account.pk, session_ids=sessions, first=min(starts), last=max(starts))
    )


_INTERACTION_DOCUMENTS: CompiledQuery[Interaction] = CompiledQuery(
    lambda account_id, session_ids, first, last: Interaction.objects.filter(
        account_id=account_id, session_id__in=session_ids, session_start__gte=first, session_start__lte=last,
    ).values_list("session_id", "document")
)


def started_within(*, conversations: Sequence[Conversation]) -> dict[str, datetime]:
    """A filter on ``started_at`` covering ``conversations``, for the rows that carry their
    conversation's start (agent links, documents): on PostgreSQL a lookup of those rows by
    conversation then reads only the months of those conversations' partitions."""
    starts = [row.started_at for row in conversations]
    return {"started_at__gte": min(starts), "started_at__lte": max(starts)}


def linked_agents(*, conversations: Sequence[Conversation]) -> dict[int, list[str]]:
    """Each conversation's agent ids in the order they joined (one query)."""
    agents: dict[int, list[str]] = {}
    if not conversations:
        return agents
    links = _LINKED_AGENTS.rows(ids=[row.pk for row in conversations], **started_within(conversations=conversations))
    for conversation_id, agent_id in links:
        agents.setdefault(conversation_id, []).append(agent_id)
    return agents


# The agent links carry their conversation's start (see started_within).
_LINKED_AGENTS: CompiledQuery[ConversationAgent] = CompiledQuery(
    lambda ids, started_at__gte, started_at__lte: ConversationAgent.objects.filter(
        conversation_id__in=ids, started_at__gte=started_at__gte, started_at__lte=started_at__lte
    ).order_by("conversation_id", "position", "pk").values_list("conversation_id", "agent_id")
)


def conversation_rows(
    *, account: Account, conversations: Sequence[Conversation],
    documents: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """The table rows of ``conversations``, in their order, in two queries whatever their number.

    Also the rendering of a ranked (search) page: it selects and orders, this renders, with the
    interaction records' ``documents`` (by session id) the search already read for its snippets,
    in one query fewer. Customer contacts are masked when the account obscures them (supervision.masking).
    """
    if documents is None:
        documents = interaction_documents(account=account, conversations=conversations)
    return _rendered(
        conversation_row, account=account, conversations=conversations, documents=documents,
        agents=linked_agents(conversations=conversations),
    )


def conversation_details(*, account: Account, conversations: Sequence[Conversation]) -> list[dict[str, Any]]:
    """``GET /api/v1/conversations/{sessionId}`` of each of ``conversations``, in their order, in two
    queries whatever their number; customer contacts masked when the account obscures them. The
    change feed's ``conversations`` dataset serves this; the detail endpoint reads its one
    conversation with both parts (:func:`conversation_detail_get`)."""
    return _rendered(
        conversation_detail, account=account, conversations=conversations,
        documents=interaction_documents(account=account, conversations=conversations),
        agents=linked_agents(conversations=conversations),
    )


def _rendered(
    render: Callable[..., dict[str, Any]], *, account: Account, conversations: Sequence[Conversation],
    documents: Mapping[str, Mapping[str, Any] | None], agents: Mapping[int, list[str]],
) -> list[dict[str, Any]]:
    """``render`` (a table row or a detail) of each conversation with its interaction record and
    agents; customer contacts masked when the account obscures them (supervision.masking)."""
    served = [
        render(row, document=documents.get(row.session_id), linked_agents=agents.get(row.pk, ()))
        for row in conversations
    ]
    if account_obscures(account=account):
        served = [
            Masker.of(document=documents.get(row.session_id), sections=row.sections).value(shape)
            for row, shape in zip(conversations, served, strict=True)
        ]
    return served


def _after(rows: QuerySet[Conversation], *, sort: str, position: Position) -> QuerySet[Conversation]:
    """The rows strictly after ``position`` in the order of ``sort``; the first condition bounds the index range."""
    at, session = position.started_at, position.session_id
    if sort == START_ASC:
        return rows.filter(started_at__gte=at).filter(Q(started_at__gt=at) | Q(session_id__gt=session))
    return rows.filter(started_at__lte=at).filter(Q(started_at__lt=at) | Q(session_id__lt=session))


def conversations_by_start(*, account: Account, query: ConversationQuery) -> ConversationPage:
    """A page of the table ordered by start time.

    1. Count every match exactly (the same indexed filter, no rows loaded).
    2. Read ``limit + 1`` rows after the cursor's position in (start, session id) order.
    3. Render the page's rows (:func:`conversation_rows`); the cursor is the last row's position.
    """
    matching = conversations_matching(account=account, start=query.start, end=query.end, criteria=query.criteria)
    total = matching.count()
    page: list[Conversation] = []
    more = False
    if total:
        rows = matching if query.position is None else _after(matching, sort=query.sort, position=query.position)
        page = list(rows.order_by(*ORDER[query.sort])[: query.limit + 1])
        more = len(page) > query.limit
        page = page[: query.limit]
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = cursor_encode(sort=query.sort, position=Position(last.started_at, last.session_id))
    return ConversationPage(total=total, results=conversation_rows(account=account, conversations=page),
                            next_cursor=next_cursor)


def conversations_search(*, account: Account, query: ConversationQuery) -> ConversationPage:
    """A page of the conversations matching ``q`` (docs/contract.md#search-query), in the order of ``sort``.

    The search (search.selectors) ranks the same candidates as the table (window and criteria) and
    returns the page's conversations with their tier and snippets; they are rendered as the table's
    rows, each with ``tier`` and ``snippets`` added.
    """
    assert query.q is not None
    page = conversation_search(
        account_id=account.pk,
        conversations=conversations_matching(account=account, start=query.start, end=query.end,
                                             criteria=query.criteria),
        q=query.q, sort=query.sort, limit=query.limit, cursor=query.cursor,
        exclude_agent_ai=query.exclude_agent_ai, window=(query.start, query.end),
        filtered=criteria_narrow(query.criteria),
        snippet_masks=lambda conversations, documents: _snippet_masks(
            account=account, conversations=conversations, documents=documents
        ),
    )
    rows = conversation_rows(
        account=account, conversations=[hit.conversation for hit in page.hits],
        documents={hit.conversation.session_id: hit.document for hit in page.hits},
    )
    for row, hit in zip(rows, page.hits, strict=True):
        row["tier"] = hit.tier
        row["snippets"] = hit.snippets
    return ConversationPage(total=page.total, results=rows, next_cursor=page.next_cursor)


def _snippet_masks(
    *, account: Account, conversations: Sequence[Conversation], documents: Mapping[str, Mapping[str, Any] | None]
) -> dict[int, Callable[[str], str]]:
    """Per conversation, the mask of its snippets' texts when the account obscures customer info (else none).

    Snippets quote any message, so anything shaped like an e-mail address or a phone number is
    masked in them (supervision.masking); the search applies it before matching, so the highlight
    ranges point into the masked text served.
    """
    if not conversations or not account_obscures(account=account):
        return {}
    return {
        row.pk: Masker.of(document=documents.get(row.session_id), sections=row.sections).free_text
        for row in conversations
    }


def conversation_page(*, account: Account, query: ConversationQuery) -> ConversationPage:
    """The Conversations table: ranked by search when ``q`` is given, else by start time."""
    if query.q is not None:
        return conversations_search(account=account, query=query)
    return conversations_by_start(account=account, query=query)


def conversation_transcript_get(*, account: Account, session_id: str) -> tuple[Conversation, list[dict[str, Any]]]:
    """The conversation and its stored messages in time order (an empty list before any arrives)."""
    conversation, messages = conversation_document_get(
        account=account, session_id=session_id, model=Transcript, field="messages"
    )
    return conversation, messages or []


def conversation_events_get(*, account: Account, session_id: str) -> tuple[Conversation, list[dict[str, Any]]]:
    conversation, events = conversation_document_get(
        account=account, session_id=session_id, model=EventLog, field="events"
    )
    return conversation, events or []


def conversation_turns_get(*, account: Account, session_id: str) -> tuple[Conversation, list[dict[str, Any]]]:
    conversation, turns = conversation_document_get(
        account=account, session_id=session_id, model=VoiceTurns, field="turns"
    )
    return conversation, turns or []
