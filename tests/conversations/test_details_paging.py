"""Paging walks every record exactly once, in one query per page, and tenants never mix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from tests.conftest import Tenant
from tests.conversations.conftest import details, ingest
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory, SessionRecordFactory

START = datetime(2025, 9, 30, 6, 0, tzinfo=UTC)


def test_pages_neither_overlap_nor_skip(tenant: Tenant, window: dict[str, Any]) -> None:
    # Many records share a start time, so the order relies on the session id tie-breaker.
    records = [
        SessionRecordFactory(botId=tenant.bot.bot_id, sessionId=f"s-{index:03d}", start=START + timedelta(
            seconds=index % 4))
        for index in reversed(range(23))
    ]
    ingest(tenant, records)
    expected = [r["sessionId"] for r in sorted(records, key=lambda r: (r["sessionStartTime"], r["sessionId"]))]

    walked: list[str] = []
    for page in range(7):
        body = details(tenant, window, query=f"?limit=4&offset={page}").json()
        walked.extend(record["sessionId"] for record in body["data"])
        assert body["numResults"] == len(body["data"])
        assert body["hasMore"] is (page < 5)
    assert walked == expected


def test_queue_pages_count_a_record_of_several_queues_once(tenant: Tenant, window: dict[str, Any]) -> None:
    # Records entered one, two or three queues; the filter names two. Starts are shared, so the
    # order relies on the session id, and a record of both queues must be neither repeated nor skipped.
    layouts = (["qu-a"], ["qu-b"], ["qu-a", "qu-b"], ["qu-c"], ["qu-b", "qu-c", "qu-a"])
    records = [
        ConversationRecordFactory(
            botId=tenant.bot.bot_id, sessionId=f"s-{index:03d}", start=START + timedelta(seconds=index % 3),
            channel=("voice", "rtm")[index % 2],
            destinations=[QueueEntryFactory(queueId=queue) for queue in layouts[index % len(layouts)]],
        )
        for index in reversed(range(25))
    ]
    ingest(tenant, records)
    ordered = sorted(records, key=lambda r: (r["sessionStartTime"], r["sessionId"]))

    def entered(record: dict[str, Any], queues: set[str]) -> bool:
        return any(destination["queueId"] in queues for destination in record["destinations"])

    for body, expected in (
        ({"queues": ["qu-b", "qu-a"]}, [r for r in ordered if entered(r, {"qu-a", "qu-b"})]),
        ({"queues": ["qu-a"], "channels": ["voice"]},
         [r for r in ordered if entered(r, {"qu-a"}) and r["channel"] == "voice"]),
    ):
        walked: list[str] = []
        for page in range(8):
            served = details(tenant, {**window, **body}, query=f"?limit=3&offset={page}").json()
            walked.extend(record["sessionId"] for record in served["data"])
            assert served["hasMore"] is (len(walked) < len(expected))
        assert walked == [r["sessionId"] for r in expected]


def test_one_page_is_a_constant_number_of_queries(
    tenant: Tenant, window: dict[str, Any], django_assert_num_queries: Any
) -> None:
    body = {**window, "queues": ["qu-default"], "selectedFields": {"customerinfo": []}}
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(3)])
    details(tenant, body)  # warm-up: caches outside the request path (content types, …)
    # One query reads the page; the client comes from the process's client cache.
    with django_assert_num_queries(1) as small:
        assert details(tenant, body).json()["numResults"] == 3
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(60)])
    with django_assert_num_queries(1):
        assert details(tenant, body).json()["numResults"] == 63
    assert "interaction" in small.captured_queries[-1]["sql"].lower()


def test_account_never_sees_another_accounts_records(tenant: Tenant, outsider: Tenant, window: dict[str, Any]) -> None:
    mine = SessionRecordFactory(botId=tenant.bot.bot_id, sessionId="shared-session")
    theirs = SessionRecordFactory(botId=outsider.bot.bot_id, sessionId="shared-session", userId="u-outsider")
    ingest(tenant, [mine])
    ingest(outsider, [theirs, SessionRecordFactory(botId=outsider.bot.bot_id)])

    for body in (window, {**window, "bots": [outsider.bot.bot_id]}, {**window, "queues": ["qu-default"]}):
        data = details(tenant, body).json()["data"]
        assert all(record["botId"] == tenant.bot.bot_id for record in data)
    assert [r["userId"] for r in details(tenant, window).json()["data"]] == ["u-test"]
    assert len(details(outsider, window).json()["data"]) == 2


def test_another_accounts_path_headers_and_bots_are_refused(
    tenant: Tenant, outsider: Tenant, window: dict[str, Any]
) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    path = f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/interactionDetails"
    assert outsider.post(path, window).status_code == 403
    assert outsider.post(path, window, accountId=tenant.account_id).status_code == 403
    own = f"/agentassist/api/public/analytics/account/{outsider.account_id}/v2/interactionDetails"
    assert outsider.post(own, window, accountId=tenant.account_id).status_code == 403
    assert outsider.post(own, window, IId=tenant.bot.bot_id).status_code == 404
    assert outsider.post(own, window).json()["data"] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_every_page_is_planned_for_its_values_never_prepared(tenant: Tenant, window: dict[str, Any]) -> None:
    # Prepared, a page's statement got a generic plan after five runs on a connection (10x slower
    # for deep and filtered pages, and chosen while serving whichever account came first).
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, sessionId=f"s-{index}",
                                         start=START + timedelta(minutes=index)) for index in range(6)])
    for _ in range(7):
        for query in ("?limit=2&offset=0", "?limit=2&offset=2"):
            assert len(details(tenant, window, query=query).json()["data"]) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert not [sql for sql in prepared if 'FROM "conversations_interaction"' in sql]
