"""Reads of the search app: ranked conversation search, in-conversation search, search history.

The Conversations query (``POST /api/v1/conversations/query``) calls :func:`conversation_search`
with its candidate conversations (account, window and filters applied) when ``q`` is given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import QuerySet

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import ApiError
from analytics_api.models import ApiClient
from content.models import Conversation
from search.engines import RANKING_VERSION, SORT_RELEVANCE, SORTS, Position, ranked_page
from search.models import HISTORY_SIZE, SearchPhrase
from search.snippets import conversation_snippets
from search.text import SearchQuery, search_query_parse
from search.units import identifier_key, page_searchables

CURSOR_FIELD = "cursor"
_CURSOR_SALT = "search.conversation-search.cursor"


@dataclass(frozen=True)
class SearchHit:
    conversation: Conversation
    tier: int
    snippets: list[dict[str, Any]] = field(default_factory=list)
    # The interaction record's document as read for the snippets (None before it arrives): the
    # caller renders the row from it instead of reading it again.
    document: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]
    next_cursor: str | None


def _fingerprint(query: SearchQuery, sort: str, exclude_agent_ai: bool) -> str:
    # A cursor continues the search that made it, not another one; in relevance order, under the
    # scores it was made with.
    version = f"\x00{RANKING_VERSION}" if sort == SORT_RELEVANCE else ""
    key = f"{query.phrase.casefold()}\x00{sort}\x00{exclude_agent_ai}{version}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cursor_encode(position: Position, fingerprint: str) -> str:
    payload = {
        "f": fingerprint, "t": position.tier, "r": position.score,
        "a": position.started_at.isoformat(), "i": position.session_id,
    }
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def cursor_decode(cursor: str, fingerprint: str) -> Position:
    """The position a cursor of this search holds; signed, so a cursor changed by hand is refused."""
    invalid = ApiError(
        "cursor is not one this search returned: send the nextCursor of the previous page unchanged, with the "
        "same q, sort and excludeAgentAi; a relevance cursor from before the ranking changed is refused too: "
        "start again from the first page.",
        code="invalid_cursor", field=CURSOR_FIELD,
    )
    try:
        payload = signing.loads(cursor, salt=_CURSOR_SALT)
        started_at = datetime.fromisoformat(payload["a"])
        position = Position(tier=int(payload["t"]), score=float(payload["r"]), started_at=started_at,
                            session_id=str(payload["i"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise invalid from exc
    if payload["f"] != fingerprint or started_at.tzinfo is None:
        raise invalid
    return position


def conversation_search(
    *,
    account_id: int,
    conversations: QuerySet[Conversation],
    q: str,
    sort: str = SORT_RELEVANCE,
    limit: int = 25,
    cursor: str | None = None,
    exclude_agent_ai: bool = False,
    window: tuple[datetime, datetime] | None = None,
    filtered: bool = True,
    snippet_masks: Callable[
        [Sequence[Conversation], Mapping[str, Mapping[str, Any] | None]], Mapping[int, Callable[[str], str]]
    ] | None = None,
) -> SearchPage:
    """A page of the conversations among ``conversations`` that match ``q``, best first.

    1. ``q`` is parsed (400 naming ``q`` for stop words only, too long, too many words).
    2. The engine ranks every match (tier 0 for an identifier equal to ``q``, then tiers 1–3 by
       relevance, then newest) and returns the exact total and this page (keyset after ``cursor``).
    3. Snippets are computed for the page's conversations only (one query for the page), each
       conversation's units first passed through its mask from ``snippet_masks`` (privacy masking),
       which is given the page's conversations and their interaction records' documents by session id.
    ``sort`` ``start_desc``/``start_asc`` order the same matches by start instead. ``window``: the
    inclusive bounds of the candidates' starts when the caller has them (the engine's index applies
    them with the words; the candidates alone still decide what matches). ``filtered`` false says the
    candidates are exactly the account's conversations in ``window`` (no criteria), which the engine
    may then take from the search rows themselves (:func:`search.engines.ranked_statement`).
    """
    if sort not in SORTS:
        raise ApiError(f"sort must be one of {', '.join(SORTS)}.", code="invalid", field="sort")
    query = search_query_parse(q)
    fingerprint = _fingerprint(query, sort, exclude_agent_ai)
    after = cursor_decode(cursor, fingerprint) if cursor else None
    ranked, total = ranked_page(
        account_id=account_id, candidates=conversations, query=query, identifier=identifier_key(q),
        exclude_agent_ai=exclude_agent_ai, sort=sort, after=after, limit=limit + 1, window=window,
        filtered=filtered,
    )
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    searchables = page_searchables(account_id=account_id, conversation_ids=[row.conversation_id for row in ranked])
    # Each statement reads its own snapshot: a conversation erased after the ranked statement and
    # before this read is left out of the page instead of failing it (the total still counts it, a
    # match when it was counted), and the cursor is the last conversation served.
    ranked = [row for row in ranked if row.conversation_id in searchables]
    served = [searchables[row.conversation_id] for row in ranked]
    masks = snippet_masks(
        [found.conversation for found in served],
        {found.conversation.session_id: found.document for found in served},
    ) if snippet_masks else {}
    hits = [
        SearchHit(
            conversation=found.conversation,
            tier=row.tier,
            document=found.document,
            snippets=conversation_snippets(found.units, query, exclude_agent_ai=exclude_agent_ai,
                                           mask=masks.get(row.conversation_id)),
        )
        for row, found in zip(ranked, served, strict=True)
    ]
    next_cursor = None
    if has_more and hits:
        last, row = hits[-1].conversation, ranked[-1]
        next_cursor = cursor_encode(
            Position(tier=row.tier, score=row.score, started_at=last.started_at, session_id=last.session_id),
            fingerprint,
        )
    return SearchPage(total=total, hits=hits, next_cursor=next_cursor)


def search_history_list(*, api_client: ApiClient, acting_user: str) -> list[dict[str, str]]:
    phrases = SearchPhrase.objects.filter(api_client=api_client, acting_user=acting_user)
    phrases = phrases.order_by("-searched_at", "-id")
    return [{"phrase": row.phrase, "searchedAt": render_utc_ms(row.searched_at)} for row in phrases[:HISTORY_SIZE]]
