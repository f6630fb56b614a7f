"""Id search: a q equal to any identifier of a conversation returns it first (docs/search.md#id-search)."""

from __future__ import annotations

import pytest

from conversations.services import interactions_ingest
from search.services import search_index_refresh
from tests.conftest import Tenant
from tests.conversations.factories import SessionRecordFactory
from tests.search.conftest import conversation, ranking, transcript

SESSION = "68db819479cb8cebd651abcd"


@pytest.fixture
def identified(tenant: Tenant) -> Tenant:
    """A conversation known by every kind of identifier, and another whose transcript quotes them all."""
    row = conversation(
        tenant, minute=1, session_id=SESSION, messages=transcript(("customer", "hello")),
        identifiers={"callId": "CA-7731", "callConversationId": "c-call-42", "agentConversationId": "c-agent-43",
                     "externalCallId": "ext-9001", "caller": "+13213550100", "callee": "+13343550100"},
    )
    result = interactions_ingest(account=tenant.account, records=[SessionRecordFactory(
        sessionId=SESSION, botId=tenant.bot.bot_id, userId="u-ae9c9170-7a27",
        channelSpecificUserId="John.Doe@example.com",
    )])
    assert result.rejected == []
    search_index_refresh(account_id=tenant.account.pk, conversation_ids=[row.pk])
    conversation(tenant, minute=30, session_id="68db819479cb8cebd651ffff", messages=transcript(
        ("agent", f"Your ids: {SESSION} CA-7731 c-call-42 c-agent-43 ext-9001 u-ae9c9170-7a27 John.Doe@example.com"),
    ))
    return tenant


@pytest.mark.parametrize("q", [
    SESSION, "CA-7731", "c-call-42", "c-agent-43", "ext-9001", "u-ae9c9170-7a27", "john.doe@example.com",
    f"  {SESSION.upper()} ",
])
def test_an_identifier_returns_its_conversation_first(identified: Tenant, q: str) -> None:
    found, total = ranking(identified, q)
    # The newer conversation quotes the id (a full-text match), yet the identified one comes first.
    assert found == [(SESSION, 0), ("68db819479cb8cebd651ffff", 1)]
    assert total == 2


def test_caller_numbers_are_not_identifiers(identified: Tenant) -> None:
    found, _ = ranking(identified, "+13213550100")
    assert found == []


def test_another_accounts_identifier_finds_nothing(identified: Tenant, outsider: Tenant) -> None:
    conversation(outsider, minute=2, session_id="68db819479cb8cebd6510000", identifiers={"callId": "CA-1"})
    assert ranking(identified, "68db819479cb8cebd6510000") == ([], 0)
    assert ranking(outsider, "CA-7731") == ([], 0)
