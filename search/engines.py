"""The ranked query on each engine (docs/search.md#ranking): one SQL statement per page.

Both engines answer the same statement shape; only the full-text fragments differ:

1. ``hits``: the account's units holding any query word, among the candidate conversations (the
   caller's window and filters), each with flags — does it hold the whole phrase, each word, all
   words near one another (SQLite) — and a relevance score (FTS5 ``bm25``; PostgreSQL
   ``ts_rank_cd``, cover density: frequency and proximity).
2. ``fulltext``: one row per conversation — tier 1 when some unit holds the phrase, 2 when every
   word is somewhere, else 3 — and the summed score rounded to 6 decimals (stable across plans, so
   the cursor's score compares equal).
3. ``idhits``: conversations one of whose identifiers equals ``q`` (tier 0, always first).
4. ``ranked``: both, with the conversation's start and session id; the page is the keyset slice of
   it and ``total`` its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from content.models import Conversation
from search.models import SearchIdentifier, SearchMessage
from search.text import SearchQuery

SORT_RELEVANCE = "relevance"
SORT_START_DESC = "start_desc"
SORT_START_ASC = "start_asc"
SORTS = (SORT_RELEVANCE, SORT_START_DESC, SORT_START_ASC)
TIER_ID = 0

_MESSAGES = SearchMessage._meta.db_table
_IDENTIFIERS = SearchIdentifier._meta.db_table
_CONVERSATIONS = Conversation._meta.db_table
_FTS = "search_message_fts"
# Words within this many significant words of one another count as near (SQLite's proximity).
NEAR_DISTANCE = 10


@dataclass(frozen=True)
class Position:
    """Where a page ends in the ranked order: the cursor's content."""

    tier: int
    score: float
    started_at: datetime
    session_id: str


@dataclass(frozen=True)
class Ranked:
    conversation_id: int
    tier: int
    score: float


def _fts_phrase(terms: tuple[str, ...]) -> str:
    return '"' + " ".join(terms) + '"'


def _sqlite_hits(query: SearchQuery) -> tuple[str, list[Any], str]:
    words = query.words
    flags = [f"(m.id IN (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH %s)) AS f_phrase"]
    params: list[Any] = [_fts_phrase(query.terms)]
    for index, word in enumerate(words):
        flags.append(f"(m.id IN (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH %s)) AS f_{index}")
        params.append(_fts_phrase((word,)))
    if len(words) > 1:
        flags.append(f"(m.id IN (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH %s)) AS f_near")
        params.append("NEAR(" + " ".join(_fts_phrase((word,)) for word in words) + f", {NEAR_DISTANCE})")
    else:
        flags.append("0 AS f_near")
    sql = (
        f"SELECT m.conversation_id AS cid, -bm25({_FTS}) AS s, {', '.join(flags)} "
        f"FROM {_FTS} JOIN {_MESSAGES} m ON m.id = {_FTS}.rowid WHERE {_FTS} MATCH %s"
    )
    params.append(" OR ".join(_fts_phrase((word,)) for word in words))
    return sql, params, "round(sum(s) + sum(f_near), 6)"


def _tsquery(terms: tuple[str, ...], operator: str) -> str:
    return f" {operator} ".join(f"'{term}'" for term in terms)


def _postgresql_hits(query: SearchQuery) -> tuple[str, list[Any], str]:
    any_words = _tsquery(query.words, "|")
    flags = ["CASE WHEN m.vector @@ %s::tsquery THEN 1 ELSE 0 END AS f_phrase"]
    params: list[Any] = [any_words, _tsquery(query.terms, "<->")]
    for index, word in enumerate(query.words):
        flags.append(f"CASE WHEN m.vector @@ %s::tsquery THEN 1 ELSE 0 END AS f_{index}")
        params.append(_tsquery((word,), "|"))
    sql = (
        f"SELECT m.conversation_id AS cid, ts_rank_cd(m.vector, %s::tsquery) AS s, {', '.join(flags)} "
        f"FROM {_MESSAGES} m WHERE m.vector @@ %s::tsquery"
    )
    params.append(any_words)
    return sql, params, "CAST(round(CAST(sum(s) AS numeric), 6) AS double precision)"


def _keyset(sort: str, after: Position | None, connection: BaseDatabaseWrapper) -> tuple[str, list[Any], str]:
    """The WHERE after the cursor and the ORDER BY of ``sort`` (session ids are unique per account)."""
    if sort == SORT_RELEVANCE:
        order = "tier ASC, score DESC, started_at DESC, session_id DESC"
        if after is None:
            return "", [], order
        started = connection.ops.adapt_datetimefield_value(after.started_at)
        return (
            "WHERE tier > %s OR (tier = %s AND (score < %s OR (score = %s AND (started_at < %s "
            "OR (started_at = %s AND session_id < %s)))))",
            [after.tier, after.tier, after.score, after.score, started, started, after.session_id],
            order,
        )
    direction, comparison = ("DESC", "<") if sort == SORT_START_DESC else ("ASC", ">")
    order = f"started_at {direction}, session_id {direction}"
    if after is None:
        return "", [], order
    started = connection.ops.adapt_datetimefield_value(after.started_at)
    return (
        f"WHERE started_at {comparison} %s OR (started_at = %s AND session_id {comparison} %s)",
        [started, started, after.session_id],
        order,
    )


def ranked_statement(
    *,
    account_id: int,
    candidates: Any,
    query: SearchQuery,
    identifier: str,
    exclude_agent_ai: bool,
    sort: str,
    after: Position | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The SQL of one page: rows ``(total, conversation id, tier, score)``, the first always there.

    ``candidates`` is a queryset of conversations (the account's window and filters); ``identifier``
    is the folded ``q`` compared with the identifiers.
    """
    # The database the candidates are read from (a replica for the read endpoints, docs/contract.md#read-replicas).
    connection = connections[candidates.db]
    base_sql, base_params = candidates.order_by().values("id").query.sql_with_params()
    hits_sql, hits_params, score = (
        _postgresql_hits(query) if connection.vendor == "postgresql" else _sqlite_hits(query)
    )
    every_word = " AND ".join(f"max(f_{index}) = 1" for index in range(len(query.words)))
    agent_ai = " AND m.agent_ai = %s" if exclude_agent_ai else ""
    keyset_sql, keyset_params, order = _keyset(sort, after, connection)
    sql = (
        f"WITH hits AS ({hits_sql} AND m.account_id = %s{agent_ai} AND m.conversation_id IN ({base_sql})), "
        f"fulltext AS (SELECT cid, CASE WHEN max(f_phrase) = 1 THEN 1 WHEN {every_word} THEN 2 ELSE 3 END AS tier, "
        f"{score} AS score FROM hits GROUP BY cid), "
        f"idhits AS (SELECT DISTINCT conversation_id AS cid FROM {_IDENTIFIERS} "
        f"WHERE account_id = %s AND value = %s AND conversation_id IN ({base_sql})), "
        f"matched AS (SELECT cid, {TIER_ID} AS tier, 0.0 AS score FROM idhits UNION ALL "
        f"SELECT cid, tier, score FROM fulltext WHERE cid NOT IN (SELECT cid FROM idhits)), "
        f"ranked AS MATERIALIZED (SELECT matched.cid, matched.tier, matched.score, c.started_at, c.session_id "
        f"FROM matched JOIN {_CONVERSATIONS} c ON c.id = matched.cid) "
        # The count on its own row, so the page past the last one still says the total.
        f"SELECT total, cid, tier, score FROM (SELECT count(*) AS total FROM ranked) counted LEFT JOIN "
        f"(SELECT cid, tier, score, started_at, session_id FROM ranked {keyset_sql} ORDER BY {order} LIMIT %s) page "
        f"ON 1 = 1 ORDER BY {order}"
    )
    params = [
        *hits_params, account_id, *([False] if exclude_agent_ai else []), *base_params,
        account_id, identifier, *base_params,
        *keyset_params, limit,
    ]
    return sql, params


def ranked_page(**statement: Any) -> tuple[list[Ranked], int]:
    """The matches of :func:`ranked_statement`'s page and how many match in all (one query)."""
    sql, params = ranked_statement(**statement)
    with connections[statement["candidates"].db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total = rows[0][0]
    rows = [row for row in rows if row[1] is not None]
    return [Ranked(conversation_id=row[1], tier=row[2], score=float(row[3])) for row in rows], total
