"""Editing dispositions: only once ended, logged in order, shown everywhere, an event, a signed webhook."""

from __future__ import annotations

import json
from typing import Any

import pytest

from content.models import Conversation, EventLog, Status
from conversations.documents import SERVED_DOCUMENTS
from conversations.models import Interaction
from supervision.models import DispositionChange
from tests.conftest import Tenant, make_tenant
from tests.supervision.conftest import CALLS, a_conversation, details, errors_of
from tests.webhook_receiver import Receiver, webhook_receiver
from webhooks.models import Delivery, DeliveryState
from webhooks.services import delivery_attempt
from webhooks.signing import webhook_signature_valid

pytestmark = pytest.mark.django_db

PATH = "/api/v1/conversations/{}/dispositions"
NEW = {"dispositions": ["Resolved", "Sale Completed"], "remarks": "Refund confirmed by phone."}


def test_an_ended_conversations_dispositions_are_replaced_and_the_change_answered(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)

    response = tenant.put(PATH.format("s-1"), NEW, **{"X-Acting-User": "supervisor.jane"})

    assert response.status_code == 200
    assert response.json() == {
        "sessionId": "s-1",
        "time": "2026-03-02T10:15:00.000Z",
        "client": tenant.api_client.client_id,
        "actingUser": "supervisor.jane",
        "before": {"dispositions": ["Follow-up Needed"], "remarks": ""},
        "after": NEW,
    }
    conversation = Conversation.objects.get(session_id="s-1")
    assert conversation.sections["dispositions"] == NEW["dispositions"]
    assert conversation.sections["dispositionRemarks"] == [NEW["remarks"]]


def test_interaction_details_and_calldetails_serve_the_new_values_from_the_refreshed_text(
    tenant: Tenant, clock: Any
) -> None:
    a_conversation(tenant)
    tenant.put(PATH.format("s-1"), NEW)

    interaction = Interaction.objects.get(session_id="s-1")
    # The pre-rendered text was refreshed in the same transaction: the page is served from it.
    assert interaction.served_version == SERVED_DOCUMENTS.version
    assert '"dispositions":["Resolved","Sale Completed"]' in interaction.served
    for path in (None, CALLS):
        [record] = details(tenant) if path is None else details(tenant, path)
        assert record["dispositions"] == NEW["dispositions"]
        assert record["dispositionRemarks"] == [NEW["remarks"]]


def test_a_disposition_updated_event_is_added_in_time_order(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)

    tenant.put(PATH.format("s-1"), NEW, **{"X-Acting-User": "supervisor.jane"})

    events = EventLog.objects.get(conversation__session_id="s-1").events
    change = DispositionChange.objects.get()
    assert [event["id"] for event in events] == ["e1", "e9", f"disposition-{change.pk}"]
    assert events[-1] == {
        "id": f"disposition-{change.pk}",
        "type": "disposition_updated",
        "time": "2026-03-02T10:15:00.000Z",
        "details": {**NEW, "changedBy": {"client": tenant.api_client.client_id, "actingUser": "supervisor.jane"}},
    }


def test_the_log_lists_every_change_oldest_first_with_who_and_both_values(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)
    tenant.put(PATH.format("s-1"), {"dispositions": ["Resolved"]}, **{"X-Acting-User": "jane"})
    clock.shift(60)
    tenant.put(PATH.format("s-1"), {"dispositions": [], "remarks": "Undone"})

    response = tenant.get(PATH.format("s-1") + "/log")

    assert response.status_code == 200
    assert response.json() == {"sessionId": "s-1", "changes": [
        {"time": "2026-03-02T10:15:00.000Z", "client": tenant.api_client.client_id, "actingUser": "jane",
         "before": {"dispositions": ["Follow-up Needed"], "remarks": ""},
         "after": {"dispositions": ["Resolved"], "remarks": ""}},
        {"time": "2026-03-02T10:16:00.000Z", "client": tenant.api_client.client_id, "actingUser": None,
         "before": {"dispositions": ["Resolved"], "remarks": ""},
         "after": {"dispositions": [], "remarks": "Undone"}},
    ]}
    [record] = details(tenant)
    assert (record["dispositions"], record["dispositionRemarks"]) == ([], ["Undone"])


def test_a_conversation_in_progress_is_409_and_nothing_changes(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant, status=Status.IN_PROGRESS, ended=False)
    before = Interaction.objects.get(session_id="s-1").served

    response = tenant.put(PATH.format("s-1"), NEW)

    assert errors_of(response, 409) == [{
        "msg": "Dispositions can be edited once the conversation has ended.", "code": "conversation_in_progress",
    }]
    assert Interaction.objects.get(session_id="s-1").served == before
    assert not DispositionChange.objects.exists()
    assert len(EventLog.objects.get(conversation__session_id="s-1").events) == 2
    assert not Delivery.objects.exists()


def test_a_conversation_whose_content_is_in_progress_but_whose_call_ended_can_be_edited(
    tenant: Tenant, clock: Any
) -> None:
    a_conversation(tenant, status=Status.IN_PROGRESS, ended=True)

    assert tenant.put(PATH.format("s-1"), NEW).status_code == 200


def test_unknown_and_another_accounts_conversation_are_404(tenant: Tenant, outsider: Tenant, clock: Any) -> None:
    a_conversation(outsider, "theirs")
    missing = {"msg": "No conversation 'theirs' in this account.", "code": "not_found", "field": "sessionId"}

    assert errors_of(tenant.put(PATH.format("theirs"), NEW), 404) == [missing]
    assert errors_of(tenant.get(PATH.format("theirs") + "/log"), 404) == [missing]
    assert not DispositionChange.objects.exists()


def test_bad_body_and_long_acting_user_are_400_naming_the_field(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)

    bad = tenant.put(PATH.format("s-1"), {"dispositions": "Resolved", "remarks": 5})
    too_long = tenant.put(PATH.format("s-1"), NEW, **{"X-Acting-User": "x" * 129})

    assert errors_of(bad) == [
        {"msg": "dispositions must be a list of strings.", "code": "invalid", "field": "dispositions"},
        {"msg": "remarks must be a string of at most 2000 characters.", "code": "invalid", "field": "remarks"},
    ]
    assert errors_of(too_long) == [{
        "msg": "X-Acting-User must be at most 128 characters of text (the person acting through this API client), "
        "without control characters.",
        "code": "invalid",
        "field": "X-Acting-User",
    }]
    assert not DispositionChange.objects.exists()


def test_a_client_without_the_supervise_scope_is_403(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant)
    reader = make_tenant(scopes=["conversations.read"])
    reader.api_client.account = tenant.account
    reader.api_client.save()

    response = reader.put(PATH.format("s-1"), NEW)

    assert errors_of(response, 403) == [
        {"msg": "This API client lacks the scope 'conversations.supervise'.", "code": "permission_denied"}
    ]


@pytest.fixture
def receiver(settings: Any) -> Any:
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_DEADLINE_SECONDS = 2
    with webhook_receiver() as server:
        yield server


def test_the_agents_are_notified_through_a_signed_webhook_and_a_failing_receiver_is_retried(
    tenant: Tenant, clock: Any, receiver: Receiver
) -> None:
    tenant.account.webhook_url = receiver.url + "/hooks"
    tenant.account.save()
    a_conversation(tenant)
    receiver.script(500, 200)

    tenant.put(PATH.format("s-1"), NEW, **{"X-Acting-User": "jane"})

    delivery = Delivery.objects.get()
    assert delivery.event == "disposition_updated"
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
    clock.shift(60)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryState.DELIVERED
    first, second = receiver.received
    assert first.body == second.body
    assert json.loads(second.body) == {
        "event": "disposition_updated",
        "accountId": tenant.account_id,
        "occurredAt": "2026-03-02T10:15:00.000Z",
        "data": {
            "sessionId": "s-1",
            "agents": ["u-agent", "u-agent-live"],
            "time": "2026-03-02T10:15:00.000Z",
            "changedBy": {"client": tenant.api_client.client_id, "actingUser": "jane"},
            "before": {"dispositions": ["Follow-up Needed"], "remarks": ""},
            "after": NEW,
        },
    }
    assert webhook_signature_valid(
        secret=tenant.api_client.webhook_secret,
        timestamp=second.headers["x-webhook-timestamp"],
        body=second.body,
        signature=second.headers["x-webhook-signature"],
        now=clock.time(),
    )
