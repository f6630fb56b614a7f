"""The window on the search rows themselves (docs/search.md#performance): day keys, exact bounds, no criteria."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from django.db import connection

from content.criteria import criteria_narrow
from content.models import Conversation
from search.engines import (
    POSTGRESQL_SETTINGS,
    SORT_RELEVANCE,
    SORT_START_DESC,
    WINDOW_KEY_DAYS,
    WINDOW_KEY_SQL,
    ranked_statement,
    window_keys,
)
from search.selectors import conversation_search
from search.text import search_query_parse
from search.units import identifier_key
from tests.conftest import Tenant
from tests.content.factories import BASE
from tests.search.conftest import conversation, transcript

LUGGAGE = transcript(("customer", "they lost luggage of mine"))
# The search GIN index's gin_pending_list_limit (search migration 0006, docs/search.md#the-pending-list).
PENDING_LIST_KB = 512


def _day_key(account_id: int, day: date) -> int:
    return account_id * 100000 + (day - date(2000, 1, 1)).days


def test_a_windows_keys_are_its_account_and_each_utc_day() -> None:
    window = (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    first = _day_key(7, date(2026, 11, 30))
    assert window_keys(7, window) == [first, first + 1, first + 2]


def test_a_window_given_in_another_zone_is_keyed_by_its_utc_days() -> None:
    plus_five = timezone(timedelta(hours=5))
    # 2026-12-01 03:00 at +05:00 is 2026-11-30 22:00 UTC.
    window = (datetime(2026, 12, 1, 3, 0, tzinfo=plus_five), datetime(2026, 12, 1, 4, 0, tzinfo=plus_five))
    assert window_keys(7, window) == [_day_key(7, date(2026, 11, 30))]


def test_a_window_longer_than_the_key_limit_has_no_keys() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(window_keys(7, (start, start + timedelta(days=WINDOW_KEY_DAYS - 1)))) == WINDOW_KEY_DAYS
    assert window_keys(7, (start, start + timedelta(days=WINDOW_KEY_DAYS))) == []


@pytest.mark.parametrize(
    ("criteria", "narrow"),
    [
        ({}, False),
        ({"channels": [], "agents": [], "flagged": None, "customTags": []}, False),
        ({"flagged": False}, True),
        ({"channels": ["voice"]}, True),
        ({"customTags": [{"name": "tier", "values": ["gold"]}]}, True),
    ],
)
def test_criteria_narrow_the_window_only_when_they_filter(criteria: dict[str, Any], narrow: bool) -> None:
    assert criteria_narrow(criteria) is narrow


def _in_window(tenant: Tenant, window: tuple[datetime, datetime]) -> Any:
    return Conversation.objects.filter(account=tenant.account, started_at__gte=window[0], started_at__lte=window[1])


@pytest.mark.parametrize("sort", [SORT_RELEVANCE, SORT_START_DESC])
def test_an_unfiltered_window_finds_only_the_accounts_conversations_inside_its_bounds(
    tenant: Tenant, outsider: Tenant, sort: str
) -> None:
    inside = conversation(tenant, minute=10, messages=LUGGAGE)
    conversation(tenant, minute=1, messages=LUGGAGE)  # the same UTC day, before the window
    conversation(tenant, minute=61, messages=LUGGAGE)  # the same UTC day, after it
    conversation(outsider, minute=10, messages=LUGGAGE)
    window = (BASE + timedelta(minutes=5), BASE + timedelta(minutes=60))
    page = conversation_search(account_id=tenant.account.pk, conversations=_in_window(tenant, window),
                               q="lost luggage", sort=sort, window=window, filtered=False)
    assert ([(hit.conversation.session_id, hit.tier) for hit in page.hits], page.total) == (
        [(inside.session_id, 1)], 1
    )


def test_a_window_longer_than_the_day_keys_still_applies_its_bounds(tenant: Tenant) -> None:
    inside = conversation(tenant, minute=10, messages=LUGGAGE)
    conversation(tenant, minute=1, messages=LUGGAGE)
    window = (BASE + timedelta(minutes=5), BASE + timedelta(days=WINDOW_KEY_DAYS + 20))
    page = conversation_search(account_id=tenant.account.pk, conversations=_in_window(tenant, window),
                               q="lost luggage", window=window, filtered=False)
    assert ([hit.conversation.session_id for hit in page.hits], page.total) == ([inside.session_id], 1)


def _statement(tenant: Tenant, window: tuple[datetime, datetime], *, filtered: bool) -> tuple[str, list[Any]]:
    return ranked_statement(
        account_id=tenant.account.pk, candidates=_in_window(tenant, window), query=search_query_parse("lost luggage"),
        identifier=identifier_key("lost luggage"), exclude_agent_ai=False, sort=SORT_RELEVANCE, after=None, limit=26,
        window=window, filtered=filtered,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's statement always joins the candidates")
def test_without_criteria_the_candidates_are_joined_for_identifiers_only(tenant: Tenant) -> None:
    window = (BASE, BASE + timedelta(days=7))
    candidates = 'FROM "content_conversation"'
    assert _statement(tenant, window, filtered=False)[0].count(candidates) == 1
    assert _statement(tenant, window, filtered=True)[0].count(candidates) > 1


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are checked on PostgreSQL")
def test_the_ranked_statement_looks_the_words_up_in_the_window_key_index(tenant: Tenant) -> None:
    # Whether the planner also uses the day keys depends on the table's size (it does at a million
    # conversations: docs/search.md#performance); here: the lookups go through the index, and the
    # rows are restricted by the keys and the exact bounds.
    for minute in range(3):
        conversation(tenant, minute=minute, messages=LUGGAGE)
    window = (BASE, BASE + timedelta(days=7))
    sql, params = _statement(tenant, window, filtered=False)
    assert sql.startswith(POSTGRESQL_SETTINGS)
    assert f"{WINDOW_KEY_SQL} = ANY(%s::bigint[]) AND m.started_at >= %s AND m.started_at <= %s" in sql
    assert window_keys(tenant.account.pk, window) in params
    with connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_SETTINGS + "EXPLAIN (FORMAT JSON) " + sql[len(POSTGRESQL_SETTINGS):], params)
        while cursor.description is None and cursor.nextset():
            pass
        (plan,) = cursor.fetchone()
    plan = orjson.loads(plan) if isinstance(plan, str) else plan
    nodes = _plan_nodes(plan[0]["Plan"])
    looked_up = {node["Index Cond"] for node in nodes if node.get("Index Name") == "search_message_window_key"}
    assert any("vector @@ '''lost'' | ''luggag'''::tsquery" in condition for condition in looked_up), looked_up
    # The phrase is checked on the rows holding some word as they are read, not looked up again.
    assert not any("<->" in condition for condition in looked_up), looked_up
    assert not any(
        node.get("Relation Name") == "search_searchmessage" and node["Node Type"] == "Seq Scan" for node in nodes
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN's pending list is PostgreSQL's")
def test_the_window_key_index_merges_its_pending_entries_past_512_kb(tenant: Tenant) -> None:
    # Every search reads the whole pending list (docs/search.md#the-pending-list): it must stay small
    # while rows keep arriving. 6,000 rows of a few words each are about 700 kB of pending entries.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reloptions FROM pg_class c WHERE c.relname = 'search_message_window_key'"
        )
        assert cursor.fetchone()[0] == [f"gin_pending_list_limit={PENDING_LIST_KB}"]
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")  # undone with the test's transaction
        cursor.execute(
            "INSERT INTO search_searchmessage (conversation_id, account_id, started_at, agent_ai, terms, vector) "
            "SELECT n, %s, %s, false, '', to_tsvector('simple', 'parcel ' || n || ' late ' || (n * 7))"
            " FROM generate_series(1, 6000) n",
            [tenant.account.pk, BASE],
        )
        cursor.execute("SELECT pending_pages, pending_tuples FROM pgstatginindex('search_message_window_key')")
        pages, tuples = cursor.fetchone()
    assert 0 < tuples < 6000  # merged at least once, never all of it pending
    assert pages <= PENDING_LIST_KB // 8 + 1


def test_pages_through_conversations_tied_on_score_and_start_skip_and_repeat_none(tenant: Tenant) -> None:
    # Seven conversations at the same start with the same text (the same score), two of another
    # start: the session id alone orders the tied ones, across the pages' boundaries.
    tied = [conversation(tenant, minute=10, messages=LUGGAGE, session_id=f"tied-{index}") for index in range(7)]
    later = conversation(tenant, minute=20, messages=LUGGAGE, session_id="later")
    earlier = conversation(tenant, minute=5, messages=LUGGAGE, session_id="earlier")
    window = (BASE, BASE + timedelta(hours=1))
    found, cursor = [], None
    while True:
        page = conversation_search(account_id=tenant.account.pk, conversations=_in_window(tenant, window),
                                   q="lost luggage", window=window, filtered=False, limit=3, cursor=cursor)
        found.extend(hit.conversation.session_id for hit in page.hits)
        assert page.total == 9
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = [later.session_id, *sorted((row.session_id for row in tied), reverse=True), earlier.session_id]
    assert found == expected
