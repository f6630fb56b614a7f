"""The ranked query on each engine (docs/search.md#ranking): one SQL statement per page.

Both engines answer the same statement shape; only the full-text fragments differ:

1. ``hits``: the account's units holding any query word, among the candidate conversations (the
   caller's window and filters), each with flags — does it hold the whole phrase, each word, all
   words near one another (SQLite) — and a relevance score (FTS5 ``bm25``; PostgreSQL
   ``ts_rank``: how often the words occur, each further occurrence of a word counting less).
2. ``fulltext``: one row per conversation — tier 1 when some unit holds the phrase, 2 when every
   word is somewhere, else 3 — and the summed score rounded to 6 decimals (stable across plans, so
   the cursor's score compares equal).
3. ``idhits``: conversations one of whose identifiers equals ``q`` (tier 0, always first).
4. ``ranked``: both, with the conversation's start and session id; the page is the keyset slice of
   it and ``total`` its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from analytics_api.kernel.planner import past_settings, settings_sql
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
# Settings for the ranked statement only (SET LOCAL: its own implicit transaction, or the caller's
# until it ends).
# * jit: PostgreSQL JIT-compiles a statement whose estimated cost passes jit_above_cost, which the
#   ranked statement's counts do on a large account: compiling took ~700 ms of a 1.5 s page on
#   60,000 conversations (EXPLAIN ANALYZE, "JIT: Emission"), and never pays back for a page of rows.
# * enable_seqscan: the planner costs ``@@`` as one cheap operator and ignores that the vectors are
#   TOASTed, so when the words are common it reads every vector of the account in a sequential
#   scan (61 ms for the total of "late delivery" on 20,000 conversations) instead of the GIN index
#   on (account, start, vector), which answers the total without reading a vector (17 ms). Every
#   lookup of the statement has an index, so this only steers it to them.
# * work_mem: the bitmap of a common word's rows in a 7-day window (200,000 rows at 1M conversations
#   a month) went lossy in the default 4 MB, and PostgreSQL then re-read and re-checked every row
#   of a lossy page; the rows a tier ranks were sorted on disk.
POSTGRESQL_SETTINGS = settings_sql(jit="off", enable_seqscan="off", work_mem="'64MB'")
# The first column of the PostgreSQL GIN index (search migration 0005): the account and the UTC day
# of the conversation's start as one number, so that a window is one equality per day, each a
# posting list the index intersects with the words' (a range of timestamps made the index visit
# one entry per conversation of the window: 170-250 ms of a 7-day page at 1M conversations a
# month). Only a narrowing device: the account and the exact bounds are checked on the rows too,
# so a key shared across accounts (a start before 2000 or after 2273) finds nothing extra.
_KEY_EPOCH = date(2000, 1, 1)
_KEY_DAYS = 100000  # days of keys per account
WINDOW_KEY_SQL = (
    f"(m.account_id * {_KEY_DAYS} + (date(timezone('UTC', m.started_at)) - DATE '{_KEY_EPOCH.isoformat()}'))"
)
# Windows longer than this are not turned into day keys (one index scan per day): the bounds alone
# apply. The Conversations query allows 92 days.
WINDOW_KEY_DAYS = 100
# A row's relevance on PostgreSQL: ``ts_rank`` of its vector for the query "any word". Each word's
# occurrences count less and less (the n-th adds 1/n² of the first), so a unit holding more of the
# query's words outranks one repeating a single word. ``ts_rank_cd`` (cover density), used before,
# only counted occurrences for such a query — each word alone is a cover, so its score was 0.1 per
# occurrence with no proximity — and cost ~3.4 µs a row against ~0.5 µs: 12,000 rows of "late
# delivery" in a 7-day window at 1M conversations a month spent ~40 ms of the statement scoring.
# Proximity is the tiers' (the phrase's consecutive words first, then every word).
_RANK = "ts_rank(m.vector, %s::tsquery)"
# Bump when a score changes on either engine: a relevance cursor carries it (search.selectors), so a
# cursor made under the old scores is refused rather than continuing the new order from a score
# it never had (which could skip or repeat matches). 2: ts_rank instead of ts_rank_cd.
RANKING_VERSION = 2


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


def window_keys(account_id: int, window: tuple[datetime, datetime]) -> list[int]:
    """The :data:`WINDOW_KEY_SQL` values of ``account_id``'s rows started in ``window`` (UTC days)."""
    first, last = (moment.astimezone(UTC).date() for moment in window)
    days = (last - first).days + 1
    base = account_id * _KEY_DAYS + (first - _KEY_EPOCH).days
    return [base + day for day in range(days)] if 0 < days <= WINDOW_KEY_DAYS else []


def _window(account_id: int, window: tuple[datetime, datetime] | None) -> tuple[str, list[Any]]:
    """PostgreSQL: the search rows' own start within the window, so the GIN index applies it with the words.

    The day keys are what the index uses; the exact bounds are checked on the rows it returns.
    Only narrows when the candidates (``conversation_id IN``) are given: they still decide.
    """
    if window is None:
        return "", []
    keys = window_keys(account_id, window)
    sql = f" AND {WINDOW_KEY_SQL} = ANY(%s::bigint[])" if keys else ""
    return sql + " AND m.started_at >= %s AND m.started_at <= %s", [*([keys] if keys else []), *window]


def _candidates(
    base: tuple[str, tuple[Any, ...]], *, filtered: bool, window: tuple[datetime, datetime] | None, postgresql: bool
) -> tuple[str, list[Any]]:
    """The condition keeping the search rows ``m`` of the candidate conversations (``base``), or none
    on PostgreSQL when the rows' own account and window (:func:`_window`) are the same set: no
    criteria (``filtered`` false) and a window. Saves joining every lookup with the window's
    conversations (233,000 at 1M a month)."""
    if postgresql and not filtered and window is not None:
        return "", []
    return f" AND m.conversation_id IN ({base[0]})", list(base[1])


def _postgresql_hits(query: SearchQuery) -> tuple[str, list[Any], str]:
    any_words = _tsquery(query.words, "|")
    flags = ["CASE WHEN m.vector @@ %s::tsquery THEN 1 ELSE 0 END AS f_phrase"]
    params: list[Any] = [any_words, _tsquery(query.terms, "<->")]
    for index, word in enumerate(query.words):
        flags.append(f"CASE WHEN m.vector @@ %s::tsquery THEN 1 ELSE 0 END AS f_{index}")
        params.append(_tsquery((word,), "|"))
    sql = (
        f"SELECT m.conversation_id AS cid, {_RANK} AS s, {', '.join(flags)} "
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


def _tier_keyset(tier: int, after: Position | None, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]] | None:
    """The condition after the cursor inside one tier of the relevance order; ``None`` when the cursor is past it."""
    if after is None or after.tier < tier:
        return "", []
    if after.tier > tier:
        return None
    started = connection.ops.adapt_datetimefield_value(after.started_at)
    return (
        "(score < %s OR (score = %s AND (started_at < %s OR (started_at = %s AND session_id < %s))))",
        [after.score, after.score, started, started, after.session_id],
    )


def _postgresql_relevance_statement(
    *,
    account_id: int,
    base: tuple[str, tuple[Any, ...]],
    query: SearchQuery,
    identifier: str,
    exclude_agent_ai: bool,
    after: Position | None,
    limit: int,
    window: tuple[datetime, datetime] | None,
    filtered: bool,
    connection: BaseDatabaseWrapper,
) -> tuple[str, list[Any]]:
    """The relevance page on PostgreSQL, tier by tier, ranking only the tiers the page reaches.

    When the words are common, most conversations of the window match some word; ranking all of
    them (reading every matching vector for its score and the phrase) is what made a page slow.
    The order is tier first, so:

    1. ``anyrows``: the rows holding some word (the GIN lookup, then each row's id, conversation id
       and start, and the phrase checked on its vector as it is read: a row holding the phrase is
       scored there). ``total``: their distinct conversations (counted by sorting), plus the
       identifier matches holding none. One read of these rows: a second GIN lookup and heap read
       for the phrase cost more than checking the phrase on every row of the first (measured at 1M
       conversations a month: 81 → 58 ms for two words, 334 → 272 ms for a four-word phrase).
    2. ``phrase_rows``: those of them holding the phrase, with their score; ``phrase``: their
       conversations.
    3. ``s1``–``s3``: a tier's conversations with their start and score (the summed ``ts_rank``
       of the conversation's vectors holding some word), each row scored where it is read — for
       tier 1 the phrase's rows, plus the conversations' other ``anyrows`` read by id (an
       agent-assist log, say: few); ``t0``–``t3``: each tier's slice of the page (keyset inside
       the tier, ``limit`` rows). A slice takes the ``limit`` best by (score, start) with every row
       tied with the last (``FETCH FIRST … WITH TIES``), plus,
       after a cursor inside the tier, those at exactly the cursor's (score, start); only they are
       joined with their conversations for the session id, the last tie-break, read through the
       conversation's partition (the row carries its start). A tier is computed only when the tiers
       above it left the page short (a one-time filter on their row counts), so a page that tier 1
       fills never ranks tiers 2 and 3; tier 2 is the conversations found by every word's own GIN
       lookup.
    4. The page is the union of the slices in the relevance order, cut at ``limit``.
    """
    base_sql, base_params = base
    window_sql, window_params = _window(account_id, window)
    agent_ai = window_sql + (" AND m.agent_ai = %s" if exclude_agent_ai else "")
    agent_params: list[Any] = [*window_params, *([False] if exclude_agent_ai else [])]
    any_words = _tsquery(query.words, "|")
    candidates, candidates_params = _candidates(base, filtered=filtered, window=window, postgresql=True)

    def matching(tsquery: str, columns: str = "m.conversation_id") -> tuple[str, list[Any]]:
        # The candidate conversations' vectors matching ``tsquery``: the GIN lookup every tier starts from.
        return (
            f"SELECT {columns} FROM {_MESSAGES} m WHERE m.vector @@ %s::tsquery AND m.account_id = %s"
            f"{agent_ai}{candidates}",
            [tsquery, account_id, *agent_params, *candidates_params],
        )

    # One read of the rows holding some word: the phrase is checked on each row's vector as it is read
    # (a row holding the phrase holds some word), and such a row is scored there and then.
    any_sql, any_params = matching(
        any_words,
        "m.id, m.conversation_id AS cid, m.started_at, "
        f"CASE WHEN m.vector @@ %s::tsquery THEN {_RANK} END AS phrase_rank",
    )
    sql = [
        f"WITH idhits AS MATERIALIZED (SELECT DISTINCT conversation_id AS cid FROM {_IDENTIFIERS} "
        f"WHERE account_id = %s AND value = %s AND conversation_id IN ({base_sql})), "
        f"anyrows AS MATERIALIZED ({any_sql}), "
        "phrase_rows AS MATERIALIZED (SELECT id, cid, started_at, phrase_rank AS rank FROM anyrows "
        "WHERE phrase_rank IS NOT NULL AND cid NOT IN (SELECT cid FROM idhits)), "
        "phrase AS MATERIALIZED (SELECT DISTINCT cid FROM phrase_rows)"
    ]
    params: list[Any] = [
        account_id, identifier, *base_params, _tsquery(query.terms, "<->"), any_words, *any_params,
    ]
    every_word = []
    for word in query.words:
        word_sql, word_params = matching(_tsquery((word,), "|"))
        every_word.append(f"SELECT conversation_id FROM ({word_sql}) w")
        params.extend(word_params)
    # Every word somewhere in the conversation (any of its vectors): the intersection of each word's lookup.
    sql.append(
        f", every_word AS MATERIALIZED (SELECT conversation_id AS cid FROM ({' INTERSECT '.join(every_word)}) w "
        "WHERE conversation_id NOT IN (SELECT cid FROM idhits) AND conversation_id NOT IN (SELECT cid FROM phrase))"
    )

    # A conversation's score: its rows' ranks summed, rounded (stable across plans, so the cursor's
    # score compares equal).
    score = "CAST(round(CAST(sum(r.rank) AS numeric), 6) AS double precision) AS score"

    def scored(members: str, members_params: list[Any]) -> tuple[str, list[Any]]:
        # One tier's conversations with their start and score. Each row is scored where it is read
        # (OFFSET 0 keeps that subquery whole), so only ids and scores are grouped, not the vectors.
        return (
            f"SELECT r.cid, r.started_at, {score} "
            f"FROM (SELECT m.conversation_id AS cid, m.started_at, {_RANK} AS rank "
            f"FROM {_MESSAGES} m WHERE m.vector @@ %s::tsquery AND m.account_id = %s{agent_ai} AND {members} "
            "OFFSET 0) r GROUP BY r.cid, r.started_at",
            [any_words, any_words, account_id, *agent_params, *members_params],
        )

    # Tier 1: the phrase's rows were scored as they were checked; the conversations' other rows
    # holding some word (an agent-assist log, say: few) are read by id to be scored.
    phrase_scored = (
        f"SELECT r.cid, r.started_at, {score} "
        "FROM (SELECT cid, started_at, rank FROM phrase_rows UNION ALL SELECT m.conversation_id, m.started_at, "
        f"{_RANK} FROM {_MESSAGES} m WHERE m.id IN (SELECT a.id FROM anyrows a WHERE "
        "a.phrase_rank IS NULL AND a.cid IN (SELECT cid FROM phrase))) r "
        "GROUP BY r.cid, r.started_at",
        [any_words],
    )
    members = {
        1: phrase_scored,
        2: scored("m.conversation_id IN (SELECT cid FROM every_word)", []),
        3: scored(
            "m.conversation_id NOT IN (SELECT cid FROM idhits) "
            "AND m.conversation_id NOT IN (SELECT cid FROM phrase) "
            f"AND m.conversation_id NOT IN (SELECT cid FROM every_word){candidates}",
            candidates_params,
        ),
    }
    in_tier = "score DESC, started_at DESC, session_id DESC"
    slices: list[str] = []
    for tier in (TIER_ID, *members):
        keyset = _tier_keyset(tier, after, connection)
        if keyset is None:
            continue
        # Computed only when the slices above left the page short (a one-time filter).
        short, short_params = (
            (f"({' + '.join(f'(SELECT count(*) FROM {name})' for name in slices)}) < %s", [limit])
            if slices else ("", [])
        )
        if tier == TIER_ID:
            conditions = [text for text in (keyset[0], short) if text]
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            sql.append(
                ", t0 AS MATERIALIZED (SELECT * FROM (SELECT c.id AS cid, 0 AS tier, CAST(0.0 AS double precision) "
                f"AS score, c.started_at, c.session_id FROM idhits JOIN {_CONVERSATIONS} c ON c.id = idhits.cid) "
                f"tiered{where} ORDER BY {in_tier} LIMIT %s)"
            )
            params.extend([*keyset[1], *short_params, limit])
            slices.append("t0")
            continue
        scored_sql, scored_params = members[tier]
        sql.append(f", s{tier} AS MATERIALIZED ({scored_sql})")
        params.extend(scored_params)
        # The page's candidates by (score, start) alone, with every row tied with the last, so that
        # only they are joined with their conversations for the session id (the last tie-break):
        # those strictly after the cursor's (score, start), plus those at exactly it (kept or not
        # by their session id below).
        gate = f" AND {short}" if short else ""
        where_short = f" WHERE {short}" if short else ""
        if after is not None and after.tier == tier:
            started = connection.ops.adapt_datetimefield_value(after.started_at)
            leading = (
                f"(SELECT * FROM s{tier} WHERE (score < %s OR (score = %s AND started_at < %s)){gate} "
                "ORDER BY score DESC, started_at DESC FETCH FIRST %s ROWS WITH TIES) UNION ALL "
                f"(SELECT * FROM s{tier} WHERE score = %s AND started_at = %s{gate})"
            )
            params.extend([after.score, after.score, started, *short_params, limit, after.score, started,
                           *short_params])
        else:
            leading = (
                f"SELECT * FROM s{tier}{where_short} ORDER BY score DESC, started_at DESC FETCH FIRST %s ROWS WITH TIES"
            )
            params.extend([*short_params, limit])
        where = f" WHERE {keyset[0]}" if keyset[0] else ""
        sql.append(
            f", t{tier} AS MATERIALIZED (SELECT * FROM (SELECT p.cid, {tier} AS tier, p.score, c.started_at, "
            f"c.session_id FROM ({leading}) p JOIN {_CONVERSATIONS} c ON c.id = p.cid AND c.started_at = p.started_at) "
            f"joined{where} ORDER BY {in_tier} LIMIT %s)"
        )
        params.extend([*keyset[1], limit])
        slices.append(f"t{tier}")
    union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in slices)
    order = "tier ASC, score DESC, started_at DESC, session_id DESC"
    # The total: the conversations with a row holding some word (one pass over the rows, distinct
    # ids sorted), plus the identifier matches with none (a probe each; there are few).
    sql.append(
        " SELECT total, cid, tier, score FROM (SELECT (SELECT count(DISTINCT cid) FROM anyrows) + "
        f"(SELECT count(*) FROM idhits WHERE NOT EXISTS (SELECT 1 FROM {_MESSAGES} m WHERE m.conversation_id = "
        f"idhits.cid AND m.vector @@ %s::tsquery AND m.account_id = %s{agent_ai})) AS total) counted LEFT JOIN "
        f"(SELECT * FROM ({union}) slices ORDER BY {order} LIMIT %s) page ON 1 = 1 ORDER BY {order}"
    )
    params.extend([any_words, account_id, *agent_params, limit])
    return "".join(sql), params


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
    window: tuple[datetime, datetime] | None = None,
    filtered: bool = True,
) -> tuple[str, list[Any]]:
    """The SQL of one page: rows ``(total, conversation id, tier, score)``, the first always there.

    On PostgreSQL the SQL starts with :data:`POSTGRESQL_SETTINGS` (SETs: read the last result).

    ``candidates`` is a queryset of conversations (the account's window and filters); ``identifier``
    is the folded ``q`` compared with the identifiers. ``window`` (inclusive bounds holding every
    candidate's start), when the caller knows it, lets PostgreSQL's GIN index apply it too; with
    ``filtered`` false (the candidates are exactly the account's conversations in ``window``: no
    criteria), PostgreSQL takes the search rows' own account and start instead of joining the
    candidates — the same set, since a row carries its conversation's start and is written and
    deleted with it. On PostgreSQL the relevance order is ranked tier by tier
    (:func:`_postgresql_relevance_statement`); otherwise every match is ranked.
    """
    # The database the candidates are read from (a replica for the read endpoints, docs/contract.md#read-replicas).
    connection = connections[candidates.db]
    base_sql, base_params = candidates.order_by().values("id").query.sql_with_params()
    if connection.vendor == "postgresql" and sort == SORT_RELEVANCE:
        sql, params = _postgresql_relevance_statement(
            account_id=account_id, base=(base_sql, base_params), query=query, identifier=identifier,
            exclude_agent_ai=exclude_agent_ai, after=after, limit=limit, window=window, filtered=filtered,
            connection=connection,
        )
        return POSTGRESQL_SETTINGS + sql, params
    hits_sql, hits_params, score = (
        _postgresql_hits(query) if connection.vendor == "postgresql" else _sqlite_hits(query)
    )
    every_word = " AND ".join(f"max(f_{index}) = 1" for index in range(len(query.words)))
    postgresql = connection.vendor == "postgresql"
    window_sql, window_params = _window(account_id, window) if postgresql else ("", [])
    agent_ai = window_sql + (" AND m.agent_ai = %s" if exclude_agent_ai else "")
    hits_candidates, hits_candidates_params = _candidates(
        (base_sql, base_params), filtered=filtered, window=window, postgresql=postgresql
    )
    keyset_sql, keyset_params, order = _keyset(sort, after, connection)
    sql = (
        f"WITH hits AS ({hits_sql} AND m.account_id = %s{agent_ai}{hits_candidates}), "
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
        *hits_params, account_id, *window_params, *([False] if exclude_agent_ai else []),
        *hits_candidates_params,
        account_id, identifier, *base_params,
        *keyset_params, limit,
    ]
    return (POSTGRESQL_SETTINGS + sql if postgresql else sql), params


def ranked_page(**statement: Any) -> tuple[list[Ranked], int]:
    """The matches of :func:`ranked_statement`'s page and how many match in all (one query)."""
    sql, params = ranked_statement(**statement)
    with connections[statement["candidates"].db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = past_settings(cursor).fetchall()
    total = rows[0][0]
    rows = [row for row in rows if row[1] is not None]
    return [Ranked(conversation_id=row[1], tier=row[2], score=float(row[3])) for row in rows], total
