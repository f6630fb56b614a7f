"""Reads for Quality AI: the rawdata page of a stream (docs/contract.md#rawdata-paging).

The public read API; the statements it sends are in qualityai.statements and the exact total in
qualityai.totals (imported one way: selectors → totals → statements).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db.models import QuerySet

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.paging import page_rows
from analytics_api.models import Account, Bot
from qualityai.models import DEFAULT_MIN_DURATION_SECONDS, QaContact
from qualityai.rendering import SERVED_RESULTS, contact_result, served_result
from qualityai.statements import (
    KEY_ROW_START,
    MIN_DURATION,
    PAGE_ROWS,
    STRETCH_COUNTS,
    contacts_matching,
    custom_keys_count,
    statements_preparable,
)
from qualityai.totals import Segment, contacts_count
from recordings.selectors import recording_links

# From this many skipped contacts on, the page starts from its first contact's key (see contacts_page).
DEEP_SKIP = 500


@dataclass(frozen=True)
class RawdataQuery:
    start: datetime
    end: datetime
    skip: int
    limit: int
    include_below_threshold: bool = False
    direction: str | None = None
    # key → accepted values (any of them); keys are AND-ed.
    custom_fields: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> RawdataQuery:
        """The query of a validated rawdata body: records skipped = offset + (page − 1) × limit."""
        return cls(
            start=data["startDate"],
            end=data["endDate"],
            skip=data["offset"] + (data["page"] - 1) * data["limit"],
            limit=data["limit"],
            include_below_threshold=data["include_below_threshold"],
            direction=data.get("contact_direction"),
            custom_fields=data.get("custom_fields", {}),
        )


@dataclass(frozen=True)
class RawdataPage:
    results: orjson.Fragment  # the JSON array of results, already rendered
    count: int
    total: int
    has_more: bool
    total_pages: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "totalResults": self.total,
            "hasMore": self.has_more,
            "totalPages": self.total_pages,
        }


def stream_by_id(*, stream_id: str, account_id: str | None = None) -> Bot:
    """A stream named on the command line: its bot id, and the account when two accounts share it."""
    streams = list(Bot.objects.select_related("account").filter(bot_id=stream_id)[:2])
    if account_id is not None:
        streams = [stream for stream in streams if stream.account.account_id == account_id]
    if not streams:
        where = f" in account {account_id}" if account_id else ""
        raise ApiError(
            f"No stream (bot/app) {stream_id!r}{where}; add it with create_account --bot.",
            code="not_found",
            status_code=404,
            field="streamId",
        )
    if len(streams) > 1:
        raise ApiError(
            f"Several accounts have a stream {stream_id!r}: name the account with --account.",
            code="ambiguous",
            field="streamId",
        )
    return streams[0]


def stream_min_duration_ms(*, stream_id: int) -> int:
    found = MIN_DURATION.rows(stream_id=stream_id)  # one row at most: the settings are one-to-one
    return (found[0][0] if found else DEFAULT_MIN_DURATION_SECONDS) * 1000


def bound_values(*, stream_id: int, query: RawdataQuery, min_duration_ms: int) -> dict[str, Any]:
    """The values a rawdata statement binds; which of them there are (and how many custom values)
    is the statement's shape."""
    values: dict[str, Any] = {"stream_id": stream_id, "start": query.start, "end": query.end}
    if query.direction:
        values["direction"] = query.direction
    if not query.include_below_threshold:
        values["min_duration_ms"] = min_duration_ms
    for number, (key, accepted) in enumerate(query.custom_fields.items()):
        values[f"key_{number}"], values[f"values_{number}"] = key, list(accepted)
    return values


def contact_queryset(*, stream: Bot, query: RawdataQuery, min_duration_ms: int) -> QuerySet[QaContact]:
    """The contacts a query matches, on indexed columns only (unordered).

    Below-threshold means a *known* duration under the minimum: contacts without a duration are
    ``duration_unavailable`` and stay in the default answer.
    """
    return contacts_matching(**bound_values(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms))


def rawdata_page(*, account: Account, stream: Bot, query: RawdataQuery) -> RawdataPage:
    """One page of a stream's contacts, with the total count.

    1. Read the stream's current minimum duration (it may have changed since ingestion).
    2. Count the matching contacts exactly, from the kept day counts where they serve
       (:func:`qualityai.totals.contacts_count`).
    3. Load the page in ``PAGE_ORDER``: start time, then conversation id (``contacts_page``; a deep
       page starts from the segment of the window that holds its first contact).
    4. Fetch the page's recording links in one call and complete each pre-rendered result.
    """
    min_duration_ms = stream_min_duration_ms(stream_id=stream.pk)
    values = bound_values(stream_id=stream.pk, query=query, min_duration_ms=min_duration_ms)
    total, segments = contacts_count(values=values)
    rows, has_more = contacts_page(
        values=values, skip=query.skip, limit=query.limit, segments=segments
    ) if total else ([], False)
    links = recording_links(account=account, conversation_ids=[row[1] for row in rows]) if rows else {}
    # Contacts without a current pre-rendered result (see analytics_api.kernel.prerender) are rendered from their row.
    unrendered = SERVED_RESULTS.unrendered((pk, text) for pk, _, _, text in rows)
    results = [
        served_result(text, duration_ms=duration_ms, min_duration_ms=min_duration_ms, recordings=links.get(cid))
        if text is not None
        else json_text(contact_result(unrendered[pk], min_duration_ms=min_duration_ms, recordings=links.get(cid)))
        for pk, cid, duration_ms, text in rows
    ]
    return RawdataPage(
        results=orjson.Fragment("[" + ",".join(results) + "]"),
        count=len(results),
        total=total,
        has_more=has_more,
        total_pages=math.ceil(total / query.limit),
    )


def contacts_page(
    *, values: dict[str, Any], skip: int, limit: int, segments: list[Segment] | None = None
) -> tuple[list[tuple[Any, ...]], bool]:
    """The page's (pk, conversation id, duration, pre-rendered text) rows in ``PAGE_ORDER``, and
    whether more follow, for the query's bound ``values`` (:func:`bound_values`).

    A deep page (``skip`` ≥ ``DEEP_SKIP``) is read in two steps: where its first contact lies, then
    ``limit + 1`` contacts from there on.

    1. With the window's ``segments`` (counted, in time order: see :func:`qualityai.totals.contacts_count`),
       skip the segments before the one holding the page's first contact: they are counted, not read;
       within a kept day whose counts by hour are kept, skip its hours before the one holding it too.
    2. With one ``custom_fields`` key (whose rows are one per matching contact), find the start ``t``
       of the page's first contact among the segment's rows of that key, ordered by start alone (an
       index-only read), and count those starting before ``t``; the page is then the contacts from
       ``t`` on, after the few that start at ``t`` too and come first by conversation id.
    3. Otherwise find the key (start, conversation id) of the page's first contact by skipping over
       the window index alone — on PostgreSQL an index-only scan of the covering (stream,
       started_at, conversation_id) index, no table row read for the skipped contacts — and read
       from that key on. The key is unique within the stream, so the page is exactly the one
       ``OFFSET`` would read.
    """
    version, prepare = SERVED_RESULTS.version, statements_preparable(values)
    # Where the page's first contact lies: the window, or the segment that holds it (bounded on both
    # sides, so the planner reads one segment, not the rest of the window).
    after: dict[str, Any] = {}
    holding: dict[str, Any] = {}
    if skip >= DEEP_SKIP and segments is not None:
        for segment in segments:
            if skip < segment.count:
                # Within a kept day, the hour that holds it (see Segment.parts).
                for part in segment.parts():
                    if skip < part.count:
                        break
                    skip -= part.count
                after = {"page_from": part.start}
                holding = {"page_from": part.start, "page_to": part.end}
                break
            skip -= segment.count
        else:
            return [], False
    if skip < DEEP_SKIP:
        rows = PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip, "limit": limit}, version=version, **after,
                              **values)
        return page_rows(rows, skip=0, limit=limit)
    if holding and custom_keys_count(values) == 1:
        started = KEY_ROW_START.rows(prepare=prepare, fixed={"skip": skip}, **holding, **values)
        if not started:
            return [], False
        [(started_at,)] = started
        before = dict(STRETCH_COUNTS.rows(prepare=prepare, fixed={"stretches": 1}, from_0=holding["page_from"],
                                          to_0=started_at, **values)).get(0, 0)
        rows = PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip - before, "limit": limit}, version=version,
                              after_started=started_at, **values)
        return page_rows(rows, skip=0, limit=limit)
    key = PAGE_ROWS.rows(prepare=prepare, fixed={"skip": skip, "limit": 0, "key_only": True}, **holding, **values)
    if not key:
        return [], False
    [(started_at, conversation_id)] = key
    rows = PAGE_ROWS.rows(prepare=prepare, fixed={"skip": 0, "limit": limit}, version=version,
                          after_started=started_at, after_conversation=conversation_id, **after, **values)
    return page_rows(rows, skip=0, limit=limit)
