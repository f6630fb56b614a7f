"""ListOf: the related rows' values as one list inside another query, in their order, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import OuterRef

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.lists import ListOf
from content.models import Conversation, ConversationAgent
from tests.content.factories import ConversationAgentFactory, ConversationFactory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _agents(order: tuple[str, ...] = ("position", "pk")) -> ListOf:
    return ListOf(ConversationAgent.objects.filter(conversation_id=OuterRef("pk")).order_by(*order), "agent_id")


def test_each_row_gets_its_own_values_in_the_subquerys_order(django_assert_num_queries: Any) -> None:
    account = AccountFactory()
    first, second, alone = ConversationFactory.create_batch(3, account=account)
    # Inserted out of order: the list follows the subquery's ORDER BY, not the insertion.
    ConversationAgentFactory(conversation=first, agent_id="u-late", position=2)
    ConversationAgentFactory(conversation=first, agent_id="u-first", position=0)
    ConversationAgentFactory(conversation=first, agent_id="u-middle", position=1)
    ConversationAgentFactory(conversation=second, agent_id="u-only", position=0)

    with django_assert_num_queries(1):
        found = dict(
            Conversation.objects.filter(account=account).annotate(agent_ids=_agents()).values_list("pk", "agent_ids")
        )

    assert found == {first.pk: ["u-first", "u-middle", "u-late"], second.pk: ["u-only"], alone.pk: []}


def test_a_descending_order_is_kept() -> None:
    conversation = ConversationFactory(account=AccountFactory())
    for position, agent in enumerate(["u-a", "u-b", "u-c"]):
        ConversationAgentFactory(conversation=conversation, agent_id=agent, position=position)

    (agent_ids,) = Conversation.objects.annotate(agent_ids=_agents(("-position",))).values_list("agent_ids", flat=True)

    assert agent_ids == ["u-c", "u-b", "u-a"]


def test_a_compiled_model_read_sets_the_list_on_each_instance() -> None:
    read: CompiledQuery[Conversation] = CompiledQuery(
        lambda session_id: Conversation.objects.filter(session_id=session_id).annotate(agent_ids=_agents())[:1]
    )
    conversation = ConversationFactory(account=AccountFactory(), session_id="s-listed")
    ConversationAgentFactory(conversation=conversation, agent_id="u-1", position=0)
    ConversationAgentFactory(conversation=conversation, agent_id="u-2", position=1)
    ConversationFactory(account=conversation.account, session_id="s-bare")

    (listed,) = read.instances(session_id="s-listed")
    (bare,) = read.instances(session_id="s-bare")

    assert (listed.pk, listed.session_id, listed.started_at) == (
        conversation.pk, "s-listed", conversation.started_at
    )
    assert listed.agent_ids == ["u-1", "u-2"] and bare.agent_ids == []
