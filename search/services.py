"""Writes of the search app: the index (docs/search.md#index-maintenance) and the search history.

Every writer of searched data calls :func:`search_index_refresh` inside its own transaction, after
its write, with the conversations it touched: content ingestion (transcript replaced or appended,
notes, identifiers), interaction ingestion (disposition remarks, user ids), disposition and note
edits. Erasure calls :func:`search_index_remove` (deleting the conversation also cascades to its
index rows). The index therefore never shows a conversation the database no longer has, nor misses
one it has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from operator import add
from typing import Any

from django.db import connection, transaction

from analytics_api.kernel.ingestion import rows_insert
from analytics_api.kernel.planner import settings_sql
from analytics_api.models import ApiClient
from search.models import HISTORY_SIZE, SearchIdentifier, SearchMessage, SearchPhrase
from search.text import phrase_normalize, text_terms
from search.units import IndexedRow, InteractionFacts, Unit, units_load

# tsvector positions stop at 16,383.
_MAX_POSITION = 16383


# A tsvector keeps at most 255 positions per word.
_MAX_WORD_POSITIONS = 255
# What follows a quoted term at each position ("':7"), made once: a vector is then built by joining
# strings, not formatting each of a batch's ~360,000 terms.
_AT_POSITION = tuple(f"':{position}" for position in range(_MAX_POSITION + 1))


def _vectors(units: list[list[str]]) -> Iterator[str]:
    """PostgreSQL: the units' terms packed into as few tsvector literals as keep every position exact.

    Units follow one another with one position left empty between them, so a phrase (consecutive
    positions) never spans two units. A vector ends before its positions pass 16,383 or a word gets
    more than 255 positions (PostgreSQL's limits); only a single unit beyond them is cut short.
    The stems hold no quotes (search.text). Words are counted only once the vector holds more than
    255 terms: below that no word can pass the limit (the common case, counted for nothing).
    """
    parts: list[str] = []
    counts: Counter[str] = Counter()
    position = 0
    for terms in units:
        full = position + len(terms) > _MAX_POSITION
        if not full and len(parts) + len(terms) > _MAX_WORD_POSITIONS:
            if not counts:
                counts.update(term for part in parts for term in (part[1:part.rindex("'")],))
            full = any(counts[term] + count > _MAX_WORD_POSITIONS for term, count in Counter(terms).items())
        if parts and full:
            yield " ".join(parts)
            parts, position = [], 0
            counts.clear()
        first = position + 1
        if first + len(terms) - 1 <= _MAX_POSITION:
            parts.extend(map(add, map("'".__add__, terms), _AT_POSITION[first:first + len(terms)]))
        else:
            parts.extend(f"'{term}':{min(position + offset, _MAX_POSITION)}" for offset, term in enumerate(terms, 1))
        if counts:
            counts.update(terms)
        position += len(terms) + 1
    if parts:
        yield " ".join(parts)


def _rows(
    pk: int, account_id: int, started_at: datetime, units: list[Unit], *, postgresql: bool
) -> Iterator[dict[str, Any]]:
    """SQLite: one row per unit (FTS5 phrases stay inside a row). PostgreSQL: one row per vector of
    units, usually one for the conversation and one for its agent-assist log (docs/search.md#engines)."""
    if not postgresql:
        for unit in units:
            if terms := text_terms(unit.text):
                yield {"conversation_id": pk, "account_id": account_id, "started_at": started_at,
                       "agent_ai": unit.agent_ai, "terms": " ".join(terms), "vector": None}
        return
    for agent_ai in (False, True):
        terms = [found for unit in units if unit.agent_ai == agent_ai and (found := text_terms(unit.text))]
        for vector in _vectors(terms):
            yield {"conversation_id": pk, "account_id": account_id, "started_at": started_at, "agent_ai": agent_ai,
                   "terms": "", "vector": vector}


def search_index_refresh(
    *,
    account_id: int,
    conversation_ids: Iterable[int],
    interactions: Mapping[str, InteractionFacts] | None = None,
    transcripts: Mapping[int, list[Mapping[str, Any]]] | None = None,
    created: Mapping[int, IndexedRow] | None = None,
) -> None:
    """Rebuild the index rows of these conversations of the account from what is stored now.

    1. Delete their rows (text and identifiers), but for those in ``created``: conversations the
       caller's transaction inserted (their rows as inserted, by pk) have none (their ids are new),
       nor a stored row or transcript to read in step 2; an ingestion batch of new conversations
       probes no index and reads nothing back for them.
    2. Read each conversation's units (transcript less the customer's speech on hold, e-mail
       subjects, notes, disposition remarks) and identifiers (search.units).
       ``interactions`` (by session id) and ``transcripts`` (by conversation pk) are what the
       caller is writing, used as they are.
    3. Insert the text rows (:func:`_rows`, each with the conversation's start) and one row per
       identifier, one statement each.
    A conversation that no longer exists simply keeps no rows. Call it inside the writer's
    transaction (it opens one of its own when there is none).
    """
    ids = sorted(set(conversation_ids))
    if not ids:
        return
    with transaction.atomic():
        created = created or {}
        if stored := [pk for pk in ids if pk not in created]:
            search_index_remove(account_id=account_id, conversation_ids=stored)
        postgresql = connection.vendor == "postgresql"
        messages: list[dict[str, Any]] = []
        identifiers: list[dict[str, Any]] = []
        searchables = units_load(
            account_id=account_id, conversation_ids=ids, interactions=interactions, transcripts=transcripts,
            created=created,
        )
        for pk, searchable in searchables.items():
            messages.extend(_rows(pk, account_id, searchable.conversation.started_at, searchable.units,
                                  postgresql=postgresql))
            identifiers.extend(
                {"conversation_id": pk, "account_id": account_id, "value": value}
                for value in sorted(searchable.identifiers)
            )
        rows_insert(SearchMessage, messages)
        rows_insert(SearchIdentifier, identifiers)


def search_index_remove(*, account_id: int, conversation_ids: Iterable[int]) -> None:
    """Drop the index rows of these conversations of the account (erasure; the first step of a refresh)."""
    ids = list(conversation_ids)
    SearchMessage.objects.filter(account_id=account_id, conversation_id__in=ids).delete()
    SearchIdentifier.objects.filter(account_id=account_id, conversation_id__in=ids).delete()


def _history_statements() -> tuple[str, str]:
    """The history's two statements in SQL both engines run: the upsert on the (caller, phrase)
    constraint, then the delete of whatever falls past the caller's newest HISTORY_SIZE."""
    table = connection.ops.quote_name(SearchPhrase._meta.db_table)
    upsert = (
        f"INSERT INTO {table} (api_client_id, acting_user, phrase, phrase_key, searched_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (api_client_id, acting_user, phrase_key) "
        "DO UPDATE SET phrase = excluded.phrase, searched_at = excluded.searched_at"
    )
    trim = (
        f"DELETE FROM {table} WHERE api_client_id = %s AND acting_user = %s AND id NOT IN ("
        f"SELECT id FROM {table} WHERE api_client_id = %s AND acting_user = %s "
        "ORDER BY searched_at DESC, id DESC LIMIT %s)"
    )
    return upsert, trim


def search_history_record(*, api_client: ApiClient, acting_user: str, phrase: str, now: datetime) -> None:
    """Put ``phrase`` at the top of the caller's history; the same phrase in any letter case is one entry.

    The caller keeps its last ``HISTORY_SIZE`` phrases; older ones are dropped. Every search page
    writes here, so the write is lean:

    1. Two plain statements (:func:`_history_statements`), the upsert then the trim, instead of the
       ORM's: building and compiling its two querysets cost about as much as running them.
    2. On PostgreSQL both go in one string behind ``SET LOCAL synchronous_commit = off`` (a phrase
       lost in a database crash is only a shorter history): one round trip and, outside a
       transaction, one implicit transaction (the planner kit's convention,
       ``analytics_api.kernel.planner``). Five round trips before: begin, the setting, the two
       statements, commit. Elsewhere the two run in a transaction of their own.
    """
    phrase = phrase_normalize(phrase)
    if not phrase:
        return
    owner = (api_client.pk, acting_user)
    searched_at = SearchPhrase._meta.get_field("searched_at").get_db_prep_value(now, connection)
    upsert, trim = _history_statements()
    upsert_params = (*owner, phrase, phrase.casefold(), searched_at)
    trim_params = (*owner, *owner, HISTORY_SIZE)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"{settings_sql(synchronous_commit='off')}{upsert}; {trim}", (*upsert_params, *trim_params))
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(upsert, upsert_params)
        cursor.execute(trim, trim_params)


def search_history_clear(*, api_client: ApiClient, acting_user: str) -> int:
    deleted, _ = SearchPhrase.objects.filter(api_client=api_client, acting_user=acting_user).delete()
    return deleted
