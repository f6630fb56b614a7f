"""Reads of interaction records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db.models import Exists, OuterRef, QuerySet

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


def interaction_rows(
    *, account: Account, query: InteractionQuery, bot_id: str | None = None, channel: str | None = None
) -> QuerySet[Interaction] | None:
    """The matching interactions in page order, or None when the filters exclude everything.

    ``bot_id`` (the IId header) and ``channel`` (calldetails) narrow the caller's filters further.

    1. Filter on indexed columns only: the account, the UTC window on ``session_start``, channel,
       bot and, through the queue link table, queues (``EXISTS``, so a record is never repeated).
    2. Order by session start then session id: a total order, so consecutive pages neither overlap
       nor skip.
    """
    channels = query.channels
    if channel is not None:
        # calldetails: the caller's channel filter, narrowed to the endpoint's one channel.
        if channels and channel not in channels:
            return None
        channels = (channel,)
    rows = Interaction.objects.filter(
        account=account, session_start__gte=query.start, session_start__lte=query.end
    )
    if channels:
        rows = rows.filter(channel__in=channels)
    if query.bots:
        rows = rows.filter(bot_id__in=query.bots)
    if bot_id is not None:
        rows = rows.filter(bot_id=bot_id)
    if query.queues:
        # The link rows repeat the account and session start so that this probe is a range scan of
        # their (account, queue_id, session_start) index, not a scan of every link.
        entered = InteractionQueue.objects.filter(
            interaction=OuterRef("pk"),
            account=account,
            queue_id__in=query.queues,
            session_start__gte=query.start,
            session_start__lte=query.end,
        )
        rows = rows.filter(Exists(entered))
    return rows.order_by("session_start", "session_id")


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

    1. Select the rows with :func:`interaction_rows`.
    2. Read only ``limit + 1`` rows after ``skip`` (no count), in one query: their pre-rendered
       text, or their documents when sections are filtered by name.
    3. Render the documents of rows without a current pre-rendered text (rare: see
       ``analytics_api.kernel.prerender``) from a second query by primary key. When the account
       obscures customer info, every document is read and masked before rendering instead.
    4. Turn the texts into the page for the caller's offset and sections in one pass.
    """
    rows = interaction_rows(account=account, query=query, bot_id=bot_id, channel=channel)
    if rows is None:
        return InteractionPage(data=orjson.Fragment("[]"), count=0, has_more=False)
    offset, sections = query.offset_minutes, query.sections

    obscure = account_obscures(account=account)

    def rendered(document: dict[str, Any]) -> str:
        if obscure:
            document = Masker.of(document=document).value(document)
        return json_text(document_render(document, offset=offset, sections=sections))

    # Customer info is masked per document (supervision.masking): the pre-rendered texts hold it as stored.
    if obscure or page_needs_documents(sections):
        documents, has_more = page_rows(rows.values_list("document", flat=True), skip=query.skip, limit=query.limit)
        texts = [rendered(document) for document in documents]
    else:
        served, has_more = page_rows(
            rows.values_list("pk", SERVED_DOCUMENTS.current_text()), skip=query.skip, limit=query.limit
        )
        unrendered = SERVED_DOCUMENTS.unrendered(served)
        texts = [text if text is not None else rendered(unrendered[pk].document) for pk, text in served]
    return InteractionPage(
        data=orjson.Fragment(served_page(texts, offset=offset, sections=sections)),
        count=len(texts),
        has_more=has_more,
    )
