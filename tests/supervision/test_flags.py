"""Supervisor flags beside the AI review's: who and when, `flagged` kept right, removal audited."""

from __future__ import annotations

from typing import Any

import pytest

from content.models import Conversation
from recordings.models import AuditEntry
from tests.conftest import Tenant
from tests.supervision.conftest import a_conversation, errors_of

pytestmark = pytest.mark.django_db

PATH = "/api/v1/conversations/{}/flags"


def test_a_supervisor_flag_is_added_beside_the_ai_reviews(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)

    response = tenant.post(PATH.format("s-1"), {"reason": "Refund outside policy"}, **{"X-Acting-User": "jane"})

    assert response.status_code == 201
    flag = response.json()
    assert flag == {
        "id": flag["id"], "reason": "Refund outside policy", "source": "supervisor",
        "time": "2026-03-02T10:15:00.000Z",
        "createdBy": {"client": tenant.api_client.client_id, "actingUser": "jane"},
    }
    conversation = Conversation.objects.get(session_id="s-1")
    assert [(item["id"], item["source"]) for item in conversation.sections["flags"]] == [
        ("ai-1", "ai_review"), (flag["id"], "supervisor"),
    ]
    assert conversation.flagged is True


def test_removing_the_last_flag_unflags_the_conversation_and_is_audited(tenant: Tenant, clock: Any) -> None:
    conversation = a_conversation(tenant)
    flag = tenant.post(PATH.format("s-1"), {"reason": "Check"}).json()

    assert tenant.delete(PATH.format("s-1") + f"/{flag['id']}").status_code == 204
    conversation.refresh_from_db()
    assert conversation.flagged is True
    assert tenant.delete(PATH.format("s-1") + "/ai-1", **{"X-Acting-User": "jane"}).status_code == 204

    conversation.refresh_from_db()
    assert (conversation.sections["flags"], conversation.flagged) == ([], False)
    entries = AuditEntry.objects.filter(action="flag_removed").order_by("pk")
    assert [(entry.actor, entry.conversation_id, entry.details["flag"]["id"]) for entry in entries] == [
        (f"client:{tenant.api_client.client_id}", "s-1", flag["id"]),
        (f"client:{tenant.api_client.client_id} user:jane", "s-1", "ai-1"),
    ]


def test_unknown_flag_unknown_and_another_accounts_conversation_are_404(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    a_conversation(tenant)
    a_conversation(outsider, "theirs")

    assert errors_of(tenant.delete(PATH.format("s-1") + "/nope"), 404) == [
        {"msg": "The conversation has no flag 'nope'.", "code": "not_found", "field": "flagId"}
    ]
    missing = [{"msg": "No conversation 'theirs' in this account.", "code": "not_found", "field": "sessionId"}]
    assert errors_of(tenant.post(PATH.format("theirs"), {"reason": "x"}), 404) == missing
    assert errors_of(tenant.delete(PATH.format("theirs") + "/ai-1"), 404) == missing
    assert Conversation.objects.get(session_id="theirs").sections["flags"][0]["id"] == "ai-1"
    assert not AuditEntry.objects.exists()


def test_a_flag_needs_a_reason(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)

    assert errors_of(tenant.post(PATH.format("s-1"), {"reason": "  "})) == [{
        "msg": "reason must be a non-empty string of at most 500 characters.", "code": "invalid", "field": "reason",
    }]
    assert errors_of(tenant.post(PATH.format("s-1"), {})) == [
        {"msg": "reason is required.", "code": "required", "field": "reason"}
    ]
    assert len(Conversation.objects.get(session_id="s-1").sections["flags"]) == 1
