"""The Conversations table's criteria: one check (exact messages naming the criterion) and one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from analytics_api.kernel.errors import flatten_validation_errors
from analytics_api.kernel.validation import Invalid
from content.criteria import MAX_IDS, MAX_QUEUES, MAX_TAG_CLAUSES, conversations_matching, criteria_check
from content.models import Sentiment, Status
from tests.conftest import Tenant
from tests.content.conftest import conversation_of, voice_record
from tests.content.factories import BASE, ConversationAgentFactory
from tests.conversations.factories import QueueEntryFactory

START, END = BASE - timedelta(days=1), BASE + timedelta(days=1)


def errors(data: Any) -> list[dict[str, str]]:
    with pytest.raises(Invalid) as raised:
        criteria_check(data)
    return flatten_validation_errors(raised.value.detail)


def test_valid_criteria_are_normalized() -> None:
    assert criteria_check({
        "ids": ["s-1", "s-1", "s-2"], "queues": [], "channels": ["Voice", "email"], "status": ["error"],
        "csat": [5, 1, 5], "flagged": False, "sentiment": ["negative"], "agents": None,
        "customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "EU"}],
    }) == {
        "ids": ["s-1", "s-2"], "channels": ["voice", "email"], "status": ["error"], "csat": [1, 5],
        "flagged": False, "sentiment": ["negative"],
        "customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "EU"}],
    }


def test_every_bad_criterion_is_named_at_once() -> None:
    assert errors({
        "ids": "s-1", "queues": ["q"] * (MAX_QUEUES + 1), "channels": ["fax"], "status": ["done"],
        "csat": [0], "flagged": "yes", "sentiment": ["happy"], "agents": [""],
        "customTags": [{"tag": "Region", "predicate": "LIKE"}], "queue": ["q"],
    }) == [{"msg": "Unknown criterion 'queue': use ids, queues, channels, agents, status, csat, flagged, "
                   "sentiment, customTags.", "code": "unknown_field", "field": "queue"}]
    assert errors({
        "ids": "s-1", "queues": ["q"] * (MAX_QUEUES + 1), "channels": ["fax"], "status": ["done"],
        "csat": [0], "flagged": "yes", "sentiment": ["happy"], "agents": [""],
        "customTags": [{"tag": "Region", "predicate": "LIKE"}],
    }) == [
        {"msg": "ids must be a list of session ids (strings).", "code": "invalid", "field": "ids"},
        {"msg": f"queues may list at most {MAX_QUEUES} queue ids.", "code": "too_many", "field": "queues"},
        {"msg": "channels must be one of rtm, voice, email, not 'fax'.", "code": "invalid_choice",
         "field": "channels[0]"},
        {"msg": "Each item of agents must be a non-empty string of at most 128 characters.", "code": "invalid",
         "field": "agents[0]"},
        {"msg": "status must be one of in_progress, error, completed_drop_off, completed_user_hangup, "
                "completed_ai_agent_hangup, completed, not 'done'.", "code": "invalid_choice", "field": "status[0]"},
        {"msg": "Each csat score must be an integer from 1 to 5.", "code": "out_of_range", "field": "csat[0]"},
        {"msg": "flagged must be true or false.", "code": "invalid", "field": "flagged"},
        {"msg": "sentiment must be one of positive, neutral, negative, mixed, not 'happy'.",
         "code": "invalid_choice", "field": "sentiment[0]"},
        {"msg": "predicate must be CONTAINS or DOES_NOT_CONTAIN.", "code": "invalid_choice",
         "field": "customTags[0].predicate"},
        {"msg": "value is required.", "code": "required", "field": "customTags[0].value"},
    ]


def test_caps_are_checked_before_the_items() -> None:
    assert errors({"ids": [1] * (MAX_IDS + 1)}) == [
        {"msg": f"ids may list at most {MAX_IDS} session ids.", "code": "too_many", "field": "ids"}
    ]
    clause = {"tag": "t", "predicate": "CONTAINS", "value": "v"}
    assert errors({"customTags": [clause] * (MAX_TAG_CLAUSES + 1)}) == [
        {"msg": f"customTags may hold at most {MAX_TAG_CLAUSES} clauses (all of them must hold).",
         "code": "too_many", "field": "customTags"}
    ]


def test_criteria_must_be_an_object() -> None:
    assert errors(["ids"]) == [{"msg": "Expected a JSON object.", "code": "invalid_type"}]


def _sessions(tenant: Tenant, criteria: dict[str, Any]) -> set[str]:
    rows = conversations_matching(account=tenant.account, start=START, end=END, criteria=criteria_check(criteria))
    return set(rows.values_list("session_id", flat=True))


@pytest.fixture
def table(tenant: Tenant, outsider: Tenant) -> Tenant:
    """Five conversations of the tenant (one outside the window) and one of the outsider."""
    tags = [{"name": "Region", "value": "EU-West"}]
    conversation_of(
        tenant, record=voice_record(BASE, sessionId="s-queue", sessionleveltags=tags,
                                    destinations=[QueueEntryFactory(queueId="qu-billing")]),
        status=Status.ERROR, csat_score=2, csat_asked=True, sentiment=Sentiment.NEGATIVE, flagged=True,
    )
    conversation_of(
        tenant, record=voice_record(BASE + timedelta(minutes=1), sessionId="s-user-tag", channel="rtm",
                                    userleveltags=[{"name": "Region", "value": "US"}], destinations=[]),
        sentiment=Sentiment.POSITIVE,
    )
    agent_row = conversation_of(tenant, session_id="s-agent", started_at=BASE + timedelta(minutes=2), channel="email")
    ConversationAgentFactory(conversation=agent_row, agent_id="u-7")
    conversation_of(tenant, session_id="s-late", started_at=END + timedelta(seconds=1))
    conversation_of(outsider, record=voice_record(BASE, sessionId="s-other", sessionleveltags=tags,
                                                  destinations=[QueueEntryFactory(queueId="qu-billing")]),
                    status=Status.ERROR)
    return tenant


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({}, {"s-queue", "s-user-tag", "s-agent"}),
        ({"ids": ["s-agent", "s-late", "s-other"]}, {"s-agent"}),
        ({"queues": ["qu-billing"]}, {"s-queue"}),
        ({"agents": ["u-7", "u-8"]}, {"s-agent"}),
        ({"channels": ["email", "rtm"]}, {"s-user-tag", "s-agent"}),
        ({"status": ["error"]}, {"s-queue"}),
        ({"csat": [2, 3]}, {"s-queue"}),
        ({"flagged": True}, {"s-queue"}),
        ({"flagged": False}, {"s-user-tag", "s-agent"}),
        ({"sentiment": ["positive", "mixed"]}, {"s-user-tag"}),
        ({"customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "eu"}]}, {"s-queue"}),
        ({"customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": ""}]}, {"s-queue", "s-user-tag"}),
        (
            {"customTags": [{"tag": "Region", "predicate": "DOES_NOT_CONTAIN", "value": "EU"}]},
            {"s-user-tag", "s-agent"},
        ),
        ({"customTags": [{"tag": "region", "predicate": "CONTAINS", "value": "EU"}]}, set()),
        (
            {"customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "U"},
                            {"tag": "Region", "predicate": "DOES_NOT_CONTAIN", "value": "west"}]},
            {"s-user-tag"},
        ),
        ({"status": ["error"], "queues": ["qu-billing"], "customTags": [
            {"tag": "Region", "predicate": "CONTAINS", "value": "west"}]}, {"s-queue"}),
    ],
)
def test_each_criterion_narrows_the_account_window(table: Tenant, criteria: dict[str, Any], expected: set[str]) -> None:
    assert _sessions(table, criteria) == expected
