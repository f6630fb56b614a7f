"""Search through the API: POST /api/v1/conversations/query with q, the transcript's ?q=, and the writers
that keep the index current (ingestion, append, dispositions, erasure) — docs/contract.md#search-query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from content.models import Conversation
from conversations.services import interactions_ingest
from search.caller import ACTING_USER_HEADER
from search.models import SearchMessage
from supervision.actors import Actor
from supervision.erasure import conversation_delete
from tests.conftest import Tenant
from tests.content.factories import BASE, utc_ms
from tests.conversations.factories import SessionRecordFactory

QUERY = "/api/v1/conversations/query"
INGEST = "/api/v1/ingest/conversations"
HISTORY = "/api/v1/conversations/search-history"
DAY = {"startDate": "2025-09-30", "endDate": "2025-09-30"}


def said(at: int, text: str, *, role: str = "customer", **extra: Any) -> dict[str, Any]:
    return {"id": f"m{at}", "time": utc_ms(BASE + timedelta(seconds=at)), "role": role, "text": text, **extra}


def ingest(tenant: Tenant, *records: dict[str, Any], **batch: Any) -> None:
    response = tenant.post(INGEST, {"records": list(records), **batch})
    assert response.status_code == 200, response.content
    assert response.json()["rejected"] == [], response.content


def found(tenant: Tenant, q: str, **body: Any) -> tuple[list[tuple[str, int]], int]:
    response = tenant.post(QUERY, {**DAY, "q": q, **body})
    assert response.status_code == 200, response.content
    answer = response.json()
    return [(row["sessionId"], row["tier"]) for row in answer["results"]], answer["total"]


def test_q_ranks_ingested_conversations_with_tiers_and_snippets(tenant: Tenant) -> None:
    ingest(
        tenant,
        {"sessionId": "s-phrase", "transcript": [said(1, "Hello"), said(2, "My refund was not received")]},
        {"sessionId": "s-some", "transcript": [said(5, "What is your refund policy?")]},
        {"sessionId": "s-none", "transcript": [said(9, "Thanks, bye")]},
    )
    response = tenant.post(QUERY, {**DAY, "q": "refund not received"})
    answer = response.json()
    assert [(row["sessionId"], row["tier"]) for row in answer["results"]] == [("s-phrase", 1), ("s-some", 3)]
    assert (answer["total"], answer["nextCursor"]) == (2, None)
    assert answer["results"][0]["snippets"] == [{
        "source": "message", "id": "m2", "field": "text", "text": "My refund was not received",
        "highlights": [{"start": 3, "end": 26}],
    }]
    # The rest of the row is the table's.
    assert answer["results"][0]["status"] == {"value": "in_progress", "label": "In Progress"}


def test_pages_filters_sorts_and_agent_ai_through_the_endpoint(tenant: Tenant) -> None:
    ingest(tenant, *({"sessionId": f"s-{n}", "transcript": [said(n, "card declined")]} for n in range(1, 6)))
    ingest(tenant, {"sessionId": "s-ai", "transcript": [
        said(30, "hello"), said(31, "card declined again", role="agent", kind="agent_ai"),
    ]})
    first = tenant.post(QUERY, {**DAY, "q": "card declined", "limit": 4}).json()
    second = tenant.post(QUERY, {**DAY, "q": "card declined", "limit": 4, "cursor": first["nextCursor"]}).json()
    ranked = [row["sessionId"] for row in first["results"] + second["results"]]
    assert ranked == ["s-ai", "s-5", "s-4", "s-3", "s-2", "s-1"]
    assert (first["total"], second["total"], second["nextCursor"]) == (6, 6, None)
    assert found(tenant, "card declined", excludeAgentAi=True)[1] == 5
    assert found(tenant, "card declined", sort="start_asc", limit=2)[0] == [("s-1", 1), ("s-2", 1)]
    assert found(tenant, "card declined", filters={"ids": ["s-2", "s-ai"]}) == ([("s-ai", 1), ("s-2", 1)], 2)
    outside = tenant.post(QUERY, {"startDate": "2025-10-01", "endDate": "2025-10-02", "q": "card declined"})
    assert outside.json()["total"] == 0


def test_a_cursor_of_the_start_sorted_table_is_refused_with_q(tenant: Tenant) -> None:
    ingest(tenant, *({"sessionId": f"s-{n}", "transcript": [said(n, "card declined")]} for n in range(1, 4)))
    table = tenant.post(QUERY, {**DAY, "limit": 1}).json()
    response = tenant.post(QUERY, {**DAY, "q": "card", "sort": "start_desc", "cursor": table["nextCursor"]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_relevance_cursor_made_under_other_scores_is_refused_and_not_saved(tenant: Tenant, monkeypatch: Any) -> None:
    ingest(tenant, *({"sessionId": f"s-{n}", "transcript": [said(n, "card declined")]} for n in range(1, 4)))
    monkeypatch.setattr("search.selectors.RANKING_VERSION", 1)
    before = tenant.post(QUERY, {**DAY, "q": "card", "limit": 1}).json()
    monkeypatch.undo()
    response = tenant.post(QUERY, {**DAY, "q": "card", "limit": 1, "cursor": before["nextCursor"]},
                           **{ACTING_USER_HEADER: "ana"})
    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "msg": "cursor is not one this search returned: send the nextCursor of the previous page unchanged, with "
        "the same q, sort and excludeAgentAi; a relevance cursor from before the ranking changed is refused too: "
        "start again from the first page.", "code": "invalid_cursor", "field": "cursor",
    }]}
    assert tenant.get(HISTORY, **{ACTING_USER_HEADER: "ana"}).json() == {"results": []}


def test_a_query_of_stop_words_is_refused_and_not_saved(tenant: Tenant) -> None:
    response = tenant.post(QUERY, {**DAY, "q": "what is it"})
    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "msg": "q holds only stop words (articles, pronouns, prepositions and the like), which the search "
        "ignores: add a significant word.", "code": "only_stop_words", "field": "q",
    }]}
    assert tenant.get(HISTORY).json() == {"results": []}


def test_every_search_is_saved_for_the_caller(tenant: Tenant) -> None:
    tenant.post(QUERY, {**DAY, "q": "Refund"}, **{ACTING_USER_HEADER: "ana"})
    tenant.post(QUERY, {**DAY, "q": "late parcel"}, **{ACTING_USER_HEADER: "ana"})
    tenant.post(QUERY, {**DAY, "q": "refund"}, **{ACTING_USER_HEADER: "ana"})
    tenant.post(QUERY, DAY, **{ACTING_USER_HEADER: "ana"})
    phrases = [entry["phrase"] for entry in tenant.get(HISTORY, **{ACTING_USER_HEADER: "ana"}).json()["results"]]
    assert phrases == ["refund", "late parcel"]
    assert tenant.get(HISTORY).json() == {"results": []}


def test_an_appended_message_is_found(tenant: Tenant) -> None:
    ingest(tenant, {"sessionId": "s-live", "transcript": [said(1, "hello")]})
    assert found(tenant, "parcel lost") == ([], 0)
    ingest(tenant, {"sessionId": "s-live", "transcript": [said(2, "my parcel was lost")]}, transcriptMode="append")
    assert found(tenant, "parcel lost") == ([("s-live", 1)], 1)
    ingest(tenant, {"sessionId": "s-live", "transcript": [said(3, "never mind")]})
    assert found(tenant, "parcel lost") == ([], 0)


def test_interaction_records_bring_remarks_and_user_ids(tenant: Tenant) -> None:
    record = SessionRecordFactory(sessionId="s-voice", botId=tenant.bot.bot_id, userId="u-51f0c2",
                                  dispositionRemarks=["Customer asked for a supervisor callback"])
    assert interactions_ingest(account=tenant.account, records=[record]).rejected == []
    assert found(tenant, "supervisor callback") == ([("s-voice", 1)], 1)
    assert found(tenant, "U-51F0C2") == ([("s-voice", 0)], 1)


def test_a_conversation_whose_start_an_interaction_moved_is_found_in_its_new_window_only(tenant: Tenant) -> None:
    # The search rows carry the conversation's start (PostgreSQL's index applies the window with the
    # words): they must move with it, in every order.
    ingest(tenant, {"sessionId": "s-moved", "transcript": [said(1, "my refund never arrived")]})
    assert found(tenant, "refund") == ([("s-moved", 1)], 1)
    moved_to = BASE + timedelta(days=5)
    record = SessionRecordFactory(sessionId="s-moved", botId=tenant.bot.bot_id, start=moved_to)
    assert interactions_ingest(account=tenant.account, records=[record]).rejected == []
    conversation = Conversation.objects.get(session_id="s-moved")
    assert conversation.started_at == moved_to
    assert set(SearchMessage.objects.filter(conversation=conversation).values_list("started_at", flat=True)) == {
        moved_to}
    assert found(tenant, "refund") == ([], 0)
    later = {"startDate": "2025-10-05", "endDate": "2025-10-05"}
    for sort in ("relevance", "start_desc", "start_asc"):
        assert found(tenant, "refund", sort=sort, **later) == ([("s-moved", 1)], 1)


def test_edited_remarks_are_found_and_deleted_conversations_are_not(tenant: Tenant) -> None:
    record = SessionRecordFactory(sessionId="s-done", botId=tenant.bot.bot_id)
    assert interactions_ingest(account=tenant.account, records=[record]).rejected == []
    response = tenant.put("/api/v1/conversations/s-done/dispositions",
                          {"dispositions": ["Resolved"], "remarks": "Chargeback filed with the bank"})
    assert response.status_code == 200, response.content
    assert found(tenant, "chargeback filed") == ([("s-done", 1)], 1)
    conversation_delete(account=tenant.account, session_id="s-done", actor=Actor(client=tenant.api_client,
                                                                                 acting_user=""))
    assert found(tenant, "chargeback filed") == ([], 0)
    assert found(tenant, "s-done") == ([], 0)


def test_another_accounts_conversations_are_never_found(tenant: Tenant, outsider: Tenant) -> None:
    ingest(outsider, {"sessionId": "c-outside-7", "transcript": [said(1, "secret merger plans")]})
    assert found(tenant, "secret merger plans") == ([], 0)
    assert found(tenant, "c-outside-7") == ([], 0)
    assert found(outsider, "c-outside-7") == ([("c-outside-7", 0)], 1)


def test_the_search_page_costs_the_same_queries_for_5_or_25_rows(tenant: Tenant) -> None:
    ingest(tenant, *({"sessionId": f"s-{n}", "transcript": [said(n, "card declined")]} for n in range(30)))
    counts = []
    # Two new phrases: each search saves its phrase the same way.
    for q, limit in (("card", 5), ("declined", 25)):
        with CaptureQueriesContext(connection) as captured:
            assert len(tenant.post(QUERY, {**DAY, "q": q, "limit": limit}).json()["results"]) == limit
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_transcript_counts_and_highlights_the_occurrences(tenant: Tenant) -> None:
    ingest(tenant, {"sessionId": "s-mail", "transcript": [
        said(1, "Refund not received. Where is my refund?", email={"subject": "Refund request"}),
        said(2, "Checking", role="agent"),
    ]})
    answer = tenant.get("/api/v1/conversations/s-mail/transcript?q=refund%20not%20received").json()
    assert answer["occurrences"] == 3
    assert [(m["occurrences"], m["highlights"]) for m in answer["messages"]] == [
        (3, [{"field": "subject", "start": 0, "end": 6}, {"field": "text", "start": 0, "end": 19},
             {"field": "text", "start": 33, "end": 39}]),
        (0, []),
    ]
    plain = tenant.get("/api/v1/conversations/s-mail/transcript").json()
    assert "occurrences" not in plain and "occurrences" not in plain["messages"][0]
    refused = tenant.get("/api/v1/conversations/s-mail/transcript?q=the")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "only_stop_words"


def test_a_search_page_costs_the_same_queries_for_5_or_25_rows(tenant: Tenant, django_assert_num_queries: Any) -> None:
    for number in range(25):
        record = SessionRecordFactory(sessionId=f"s-{number}", botId=tenant.bot.bot_id,
                                      start=BASE + timedelta(minutes=number), dispositionRemarks=["parcel lost"])
        assert interactions_ingest(account=tenant.account, records=[record]).rejected == []
    tenant.get("/api/v1/conversations/warm-up")  # the API client is then in this process's cache
    # The ranked page, then the page's conversations with their transcripts and interaction records
    # (one statement, read once for the snippets and the rows) and agent links; then the phrase
    # saved in the caller's history: on PostgreSQL one string (synchronous_commit off, the upsert,
    # the trim to ten), elsewhere a savepoint, the upsert, the trim and its release.
    history = 1 if connection.vendor == "postgresql" else 4
    for limit in (5, 25):
        with django_assert_num_queries(3 + history):
            response = tenant.post(QUERY, {**DAY, "q": "parcel lost", "limit": limit})
        rows = response.json()["results"]
        assert len(rows) == limit
        assert rows[0]["snippets"][0]["source"] == "dispositionRemarks"
        # The row's record fields come from the interaction record the search read.
        assert rows[0]["customer"]["userId"] == "u-test"
