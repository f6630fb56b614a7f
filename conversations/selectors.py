"""Reads of interaction records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.paging import page_rows
from analytics_api.models import Account
from conversations.documents import SERVED_DOCUMENTS, document_render, page_needs_documents, served_page
from conversations.models import Interaction, InteractionQueue
from supervision.masking import Masker, account_obscures


@dataclass(frozen=True)
class InteractionQuery:
    """A validated request: the UTC window, the filters, the sections and the page."""

    start: datetime
    end: datetime
    offset_minutes: int
    channels: tuple[str, ...]
    queues: tuple[str, ...]
    bots: tuple[str, ...]
    sections: Mapping[str, list[str]]
    skip: int
    limit: int


def conversation_interaction(column: str) -> Subquery:
    """``column`` of the outer conversation's interaction record (None when it has none), as a
    subquery of a ``Conversation`` queryset: same account and session id, and it starts when the
    conversation does (every interaction upsert moves its conversation's start to its own,
    ``start_from_interaction``), so on PostgreSQL only that month's partition is read."""
    return Subquery(
        Interaction.objects.filter(
            account_id=OuterRef("account_id"), session_id=OuterRef("session_id"), session_start=OuterRef("started_at")
        ).values(column)[:1]
    )


def _filters(
    *, account: Account, query: InteractionQuery, bot_id: str | None, channel: str | None
) -> dict[str, Any] | None:
    """The values the records are filtered by, only those given (see :func:`_filtered`); None when
    the filters exclude everything."""
    channels = query.channels
    if channel is not None:
        # calldetails: the caller's channel filter, narrowed to the endpoint's one channel.
        if channels and channel not in channels:
            return None
        channels = (channel,)
    filters: dict[str, Any] = {"account_id": account.pk, "start": query.start, "end": query.end}
    for name, values in (("channels", channels), ("bots", query.bots), ("queues", query.queues)):
        if values:
            filters[name] = list(values)
    if bot_id is not None:
        filters["bot_id"] = bot_id
    return filters


def _filtered(
    *, account_id: Any, start: Any, end: Any, channels: Any = (), bots: Any = (), queues: Any = (), bot_id: Any = None
) -> tuple[QuerySet[Interaction], QuerySet[InteractionQueue] | None]:
    """The records narrowed by every filter but ``queues``, and the queue links narrowed by all of
    them (None when ``queues`` is not given).

    Built from the values of :func:`_filters` or from a compiled query's slots for them
    (``interaction_page``), so it depends only on which filters are given and how many queues.
    """
    narrowing: dict[str, Any] = {}
    if channels:
        narrowing["channel__in"] = channels
    if bots:
        narrowing["bot_id__in"] = bots
    window = {"account_id": account_id, "session_start__gte": start, "session_start__lte": end}
    rows = Interaction.objects.filter(**window, **narrowing)
    if bot_id is not None:
        rows = rows.filter(bot_id=bot_id)
    if not queues:
        return rows, None
    # The links repeat the channel, bot, start and session id of their record, so the whole filter
    # is a range scan of their (account, queue_id, session_start, session_id) index.
    links = InteractionQueue.objects.filter(**window, **narrowing, queue_id__in=queues)
    if bot_id is not None:
        links = links.filter(bot_id=bot_id)
    if len(queues) > 1:
        # A record that entered several of the queues counts once: at the first of them by id.
        earlier = InteractionQueue.objects.filter(
            interaction=OuterRef("interaction"),
            session_start=OuterRef("session_start"),
            queue_id__in=queues,
            queue_id__lt=OuterRef("queue_id"),
        )
        links = links.exclude(Exists(earlier))
    return rows, links.order_by("session_start", "session_id")


def interaction_rows(
    *, account: Account, query: InteractionQuery, bot_id: str | None = None, channel: str | None = None
) -> QuerySet[Interaction] | None:
    """Every matching interaction in page order (exports), or None when the filters exclude everything.

    ``bot_id`` (the IId header) and ``channel`` (calldetails) narrow the caller's filters further.

    1. Filter on indexed columns only: the account, the UTC window on ``session_start``, channel,
       bot and, through the queue link table, queues (a semi-join, so a record is never repeated).
    2. Order by session start then session id: a total order, so consecutive pages neither overlap
       nor skip.
    """
    filters = _filters(account=account, query=query, bot_id=bot_id, channel=channel)
    if filters is None:
        return None
    rows, links = _filtered(**filters)
    if links is not None:
        rows = rows.filter(pk__in=links.values("interaction"))
    return rows.order_by("session_start", "session_id")


def _page_rows(*, skip: int, limit: int, **filters: Any) -> QuerySet[Interaction]:
    """The page's records, ``limit + 1`` at most (the extra one says more follow), in page order.

    1. Without ``queues``: the rows of :func:`interaction_rows` after ``skip``, one ordered range
       scan of a window index.
    2. With ``queues``: the page is cut from the queue links' own ordered index (skip and limit in
       the sub-select), then only its records are read by key, so a deep page of a queue costs an
       index range scan of link entries rather than a probe of every record before it.
    """
    rows, links = _filtered(**filters)
    window = slice(skip, skip + limit + 1)
    if links is None:
        return rows.order_by("session_start", "session_id")[window]
    page = links.values("interaction")[window]
    return rows.filter(pk__in=page).order_by("session_start", "session_id")


def interaction_page_rows(
    *, account: Account, query: InteractionQuery, bot_id: str | None = None, channel: str | None = None
) -> QuerySet[Interaction] | None:
    """The page's records as a queryset (:func:`_page_rows`), or None when the filters exclude
    everything: the statement ``interaction_page`` runs, for the benchmark's floor."""
    filters = _filters(account=account, query=query, bot_id=bot_id, channel=channel)
    if filters is None:
        return None
    return _page_rows(skip=query.skip, limit=query.limit, **filters)


def _page_columns(*, skip: int, limit: int, documents: bool, version: Any, **filters: Any) -> QuerySet[Interaction]:
    rows = _page_rows(skip=skip, limit=limit, **filters)
    if documents:
        return rows.values_list("document")
    return rows.values_list("pk", SERVED_DOCUMENTS.current_text(version))


# The page's statement, compiled once per shape (which filters, how many of each, offset, limit).
# Never prepared: it is planned for its values on every request. Prepared, PostgreSQL settled on a
# generic plan after five pages of a shape on a connection, which for a deep page or a filter reads
# the window the wrong way: on 60,000 interactions an account, page 5 and page 10 of the week took
# 17.7-22.8 ms against 2.4-3.8 ms planned for their values, the queue page 0 12.7-15.6 against
# 3.2-4.2, the sections page 10 16.4-19.3 against 2.9-3.1 (in process, medians of 10 pages). And
# a generic plan settled on while serving one account would serve every account of the connection.
_PAGE: CompiledQuery[Interaction] = CompiledQuery(_page_columns)


@dataclass(frozen=True)
class InteractionPage:
    """A page as served: ``data`` is the records' JSON array, already rendered."""

    data: orjson.Fragment
    count: int
    has_more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"numResults": self.count, "hasMore": self.has_more, "data": self.data}


def interaction_page(
    *, account: Account, query: InteractionQuery, bot_id: str | None = None, channel: str | None = None
) -> InteractionPage:
    """One page of served records and whether more follow.

    1. Select the page's rows with :func:`interaction_page_rows`'s statement, compiled once per
       shape (``analytics_api.kernel.compiled``) and planned for its values (never prepared).
    2. Read only those ``limit + 1`` rows (no count), in one query: their pre-rendered
       text, or their documents when sections are filtered by name.
    3. Render the documents of rows without a current pre-rendered text (rare: see
       ``analytics_api.kernel.prerender``) from a second query by primary key. When the account
       obscures customer info, every document is read and masked before rendering instead.
    4. Turn the texts into the page for the caller's offset and sections in one pass.
    """
    filters = _filters(account=account, query=query, bot_id=bot_id, channel=channel)
    if filters is None:
        return InteractionPage(data=orjson.Fragment("[]"), count=0, has_more=False)
    offset, sections = query.offset_minutes, query.sections
    obscure = account_obscures(account=account)
    documents = obscure or page_needs_documents(sections)
    rows = _PAGE.rows(
        fixed={"skip": query.skip, "limit": query.limit, "documents": documents}, prepare=False,
        version=SERVED_DOCUMENTS.version, **filters,
    )

    def rendered(document: dict[str, Any]) -> str:
        if obscure:
            document = Masker.of(document=document).value(document)
        return json_text(document_render(document, offset=offset, sections=sections))

    # Customer info is masked per document (supervision.masking): the pre-rendered texts hold it as stored.
    if documents:
        page, has_more = page_rows(rows, skip=0, limit=query.limit)
        texts = [rendered(document) for (document,) in page]
    else:
        served, has_more = page_rows(rows, skip=0, limit=query.limit)
        unrendered = SERVED_DOCUMENTS.unrendered(served)
        texts = [text if text is not None else rendered(unrendered[pk].document) for pk, text in served]
    return InteractionPage(
        data=orjson.Fragment(served_page(texts, offset=offset, sections=sections)),
        count=len(texts),
        has_more=has_more,
    )
