"""POST /api/v1/conversations/query: the body's rules, the rows, keyset paging, query counts, tenancy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import signing

from content.models import Conversation, Sentiment, Status
from content.queries import Position, cursor_encode
from tests.conftest import Tenant
from tests.content.conftest import QUERY, conversation_of, voice_record
from tests.content.factories import BASE, ConversationAgentFactory, ConversationFactory
from tests.conversations.factories import QueueEntryFactory

pytestmark = pytest.mark.django_db

DAY = {"startDate": "2025-09-30", "endDate": "2025-09-30"}


def errors_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_rules_of_the_body_are_reported_at_once(tenant: Tenant) -> None:
    response = tenant.post(QUERY, {"startDate": "2025-09-30", "endDate": "2025-13-01", "limit": 101,
                                   "sort": "newest", "filters": {"flagged": 1}})
    assert errors_of(response) == [
        {"msg": "endDate is not a real calendar date or time.", "code": "invalid", "field": "endDate"},
        {"msg": "flagged must be true or false.", "code": "invalid", "field": "filters.flagged"},
        {"msg": "sort must be relevance (with q), start_desc or start_asc.", "code": "invalid_choice",
         "field": "sort"},
        {"msg": "limit must be an integer from 1 to 100.", "code": "out_of_range", "field": "limit"},
    ]


def test_window_of_more_than_92_days_is_refused(tenant: Tenant) -> None:
    ninety_two = tenant.post(QUERY, {"startDate": "2025-07-01 00:00:00", "endDate": "2025-10-01 00:00:00"})
    assert ninety_two.status_code == 200, ninety_two.content
    response = tenant.post(QUERY, {"startDate": "2025-07-01 00:00:00", "endDate": "2025-10-01 00:00:01"})
    assert errors_of(response) == [{
        "msg": "The window from startDate to endDate must be at most 92 days.", "code": "invalid", "field": "endDate",
    }]


def test_required_bounds_and_order(tenant: Tenant) -> None:
    assert errors_of(tenant.post(QUERY, {})) == [
        {"msg": "startDate is required.", "code": "required", "field": "startDate"},
        {"msg": "endDate is required.", "code": "required", "field": "endDate"},
    ]
    assert errors_of(tenant.post(QUERY, {"startDate": "2025-09-30", "endDate": "2025-09-29"})) == [
        {"msg": "endDate must not be before startDate.", "code": "invalid", "field": "endDate"}
    ]


def test_relevance_needs_q(tenant: Tenant) -> None:
    assert errors_of(tenant.post(QUERY, {**DAY, "sort": "relevance"})) == [{
        "msg": "sort relevance ranks search results: send q with it, or sort by start_desc or start_asc.",
        "code": "invalid", "field": "sort",
    }]
    # With q the search ranks the matches (tests/search/test_query_endpoint.py).
    assert tenant.post(QUERY, {**DAY, "q": "refund"}).json() == {"total": 0, "results": [], "nextCursor": None}


BAD_CURSOR = {
    "msg": "cursor is not one this service returned (changed, truncated or from another server): send the "
    "nextCursor of the previous page unchanged, or leave cursor out for the first page.",
    "code": "invalid_cursor", "field": "cursor",
}


def test_a_tampered_cursor_is_refused(tenant: Tenant) -> None:
    cursor = cursor_encode(sort="start_desc", position=Position(BASE, "s-1"))
    forged = signing.dumps({"o": "start_desc", "t": BASE.isoformat(), "s": "s-1"}, salt="another", compress=True)
    for bad in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), forged, "not-a-cursor"):
        assert errors_of(tenant.post(QUERY, {**DAY, "cursor": bad})) == [BAD_CURSOR]
    assert errors_of(tenant.post(QUERY, {**DAY, "cursor": cursor, "sort": "start_asc"})) == [{
        "msg": "This cursor continues a query sorted by start_desc: send sort start_desc with it, or leave cursor "
        "out to start again.", "code": "invalid_cursor", "field": "cursor",
    }]


def test_a_row_carries_the_table_columns(tenant: Tenant) -> None:
    record = voice_record(
        BASE, sessionId="s-row", Direction="Inbound", skills=[{"id": "sk-1", "name": "Billing"}],
        customerinfo={"CustomerFirstName": "Jane", "CustomerLastName": "Doe", "CustomerPhone": "+1555",
                      "CustomerEmail": "jane@example.com"},
        destinations=[QueueEntryFactory(queueId="qu-1", queueName="First", entered=BASE),
                      {**QueueEntryFactory(queueId="qu-2", queueName="Second", entered=BASE),
                       "respondingAgent": {"agentId": "u-2", "name": "Ann Lee", "destinationType": "AgentSegment"}}],
    )
    conversation_of(
        tenant, record=record, language="en", status=Status.COMPLETED_USER_HANGUP, smart_status="CLOSED",
        csat_score=4, csat_asked=True, nps_asked=True, like_asked=True, liked=None, sentiment=Sentiment.POSITIVE,
        flagged=True, sections={"flags": [{"id": "f1", "reason": "rude", "source": "ai_review",
                                           "time": "2025-09-30T06:01:00.000Z"}]},
    )
    response = tenant.post(QUERY, DAY)
    assert response.status_code == 200, response.content
    assert response.json() == {"total": 1, "nextCursor": None, "results": [{
        "sessionId": "s-row",
        "customer": {"name": "Jane Doe", "phone": "+1555", "email": "jane@example.com"},
        "direction": "inbound", "language": "en", "channel": "voice",
        "supportAgent": {"id": "u-2", "name": "Ann Lee"},
        "startTime": "2025-09-30T06:00:00.000Z", "endTime": "2025-09-30T06:00:30.000Z", "durationSeconds": 30,
        "agents": [{"id": "u-agent", "name": "John Doe"}, {"id": "u-2", "name": "Ann Lee"}],
        "queues": [{"id": "qu-1", "name": "First"}, {"id": "qu-2", "name": "Second"}],
        "skills": [{"id": "sk-1", "name": "Billing"}],
        "status": {"value": "completed_user_hangup", "label": "Completed (User Hangup)"},
        "smartStatus": "CLOSED",
        "csat": {"score": 4}, "nps": {"score": None}, "like": {"value": None},
        "sentiment": "positive", "flagged": True,
        "flags": [{"id": "f1", "reason": "rude", "source": "ai_review", "time": "2025-09-30T06:01:00.000Z"}],
    }]}


def test_a_conversation_known_only_from_content_is_listed_in_progress(tenant: Tenant) -> None:
    row = ConversationFactory(account=tenant.account, session_id="s-live", started_at=BASE, ended_at=None,
                              status=Status.IN_PROGRESS)
    ConversationAgentFactory(conversation=row, agent_id="u-9")
    [result] = tenant.post(QUERY, DAY).json()["results"]
    assert result["status"] == {"value": "in_progress", "label": "In Progress"}
    assert (result["durationSeconds"], result["endTime"], result["customer"]) == (
        None, None, {"name": None, "phone": None, "email": None})
    assert result["agents"] == [{"id": "u-9", "name": None}]
    assert (result["csat"], result["nps"], result["like"], result["sentiment"]) == (None, None, None, None)


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("in_progress", "In Progress"),
        ("error", "Error"),
        ("completed_drop_off", "Completed (Drop Off)"),
        ("completed_user_hangup", "Completed (User Hangup)"),
        ("completed_ai_agent_hangup", "Completed (AI Agents Hangup)"),
        ("completed", "Completed"),
    ],
)
def test_each_status_is_served_with_its_label_and_filters(tenant: Tenant, status: str, label: str) -> None:
    for number, value in enumerate(Status.values):
        ConversationFactory(account=tenant.account, session_id=f"s-{value}", status=value,
                            started_at=BASE + timedelta(minutes=number))
    response = tenant.post(QUERY, {**DAY, "filters": {"status": [status]}})
    assert response.json()["total"] == 1
    assert response.json()["results"][0]["status"] == {"value": status, "label": label}
    assert response.json()["results"][0]["sessionId"] == f"s-{status}"


def test_both_sorts_order_by_start_then_session(tenant: Tenant) -> None:
    for session_id, minute in (("s-b", 1), ("s-a", 1), ("s-c", 0), ("s-d", 2)):
        ConversationFactory(account=tenant.account, session_id=session_id, started_at=BASE + timedelta(minutes=minute))
    newest = [row["sessionId"] for row in tenant.post(QUERY, DAY).json()["results"]]
    oldest = [row["sessionId"] for row in tenant.post(QUERY, {**DAY, "sort": "start_asc"}).json()["results"]]
    assert newest == ["s-d", "s-b", "s-a", "s-c"]
    assert oldest == list(reversed(newest))


def _page_of(tenant: Tenant, body: dict[str, Any]) -> tuple[list[str], str | None, int]:
    response = tenant.post(QUERY, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    return [row["sessionId"] for row in answer["results"]], answer["nextCursor"], answer["total"]


@pytest.mark.parametrize("sort", ["start_desc", "start_asc"])
def test_keyset_pages_never_overlap_or_skip_while_conversations_arrive(tenant: Tenant, sort: str) -> None:
    # 1,000 conversations, many sharing a start (ties broken by session id).
    Conversation.objects.bulk_create(
        Conversation(account=tenant.account, session_id=f"s-{number:04d}",
                     started_at=BASE + timedelta(seconds=number // 3), status=Status.COMPLETED)
        for number in range(1000)
    )
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        body = {**DAY, "sort": sort, "limit": 100, **({"cursor": cursor} if cursor else {})}
        ids, cursor, _ = _page_of(tenant, body)
        seen.extend(ids)
        pages += 1
        # Between pages: new conversations before, among and after those already listed.
        for offset in (-1, 150, 400):
            ConversationFactory(account=tenant.account, session_id=f"new-{pages}-{offset}",
                                started_at=BASE + timedelta(seconds=offset, microseconds=pages))
        if cursor is None:
            break
    originals = [session for session in seen if session.startswith("s-")]
    assert len(seen) == len(set(seen))
    assert sorted(originals) == [f"s-{number:04d}" for number in range(1000)]


def test_the_page_costs_the_same_queries_for_5_or_25_rows(
    tenant: Tenant, django_assert_num_queries: Any
) -> None:
    for number in range(25):
        # Interaction ingestion links the record's responding agent (u-agent) to the conversation.
        conversation_of(tenant, record=voice_record(BASE + timedelta(minutes=number), sessionId=f"s-{number}"))
    tenant.get("/api/v1/conversations/warm-up")  # the API client is then in this process's cache
    # The count, the page, the page's interaction records and agent links.
    for limit in (5, 25):
        with django_assert_num_queries(4):
            response = tenant.post(QUERY, {**DAY, "limit": limit, "filters": {"queues": ["qu-default"]}})
        assert len(response.json()["results"]) == limit
        assert response.json()["results"][0]["agents"] == [{"id": "u-agent", "name": "John Doe"}]


def test_another_accounts_conversations_are_never_listed(tenant: Tenant, outsider: Tenant) -> None:
    conversation_of(outsider, record=voice_record(BASE, sessionId="s-theirs"))
    ConversationFactory(account=tenant.account, session_id="s-mine", started_at=BASE)
    answer = tenant.post(QUERY, {**DAY, "filters": {"ids": ["s-theirs", "s-mine"]}}).json()
    assert [row["sessionId"] for row in answer["results"]] == ["s-mine"]
    assert answer["total"] == 1
