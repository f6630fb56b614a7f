"""Deleting a conversation and erasing a customer: nothing left in rows or storage, the audit entry kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from content.models import Conversation, ConversationAgent, EventLog, Transcript
from conversations.models import Interaction, InteractionQueue
from qualityai.models import QaContact
from qualityai.services import contacts_ingest
from recordings.models import AuditEntry, Recording
from recordings.storage import FileSystemStorage
from search.models import SearchIdentifier, SearchMessage
from supervision.models import DispositionChange
from tests.conftest import Tenant
from tests.qualityai.factories import ContactDocumentFactory
from tests.supervision.conftest import EMAIL, PHONE, USER_ID, a_conversation, a_recording, details, errors_of

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def s3_keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))


def everything_of(tenant: Tenant, session_id: str) -> dict[str, int]:
    """How many rows of every kind the conversation still has."""
    keys = [session_id, f"conv-{session_id}"]
    return {
        "interactions": Interaction.objects.filter(account=tenant.account, session_id=session_id).count(),
        "queueLinks": InteractionQueue.objects.filter(account=tenant.account, interaction__session_id=session_id)
        .count(),
        "conversations": Conversation.objects.filter(account=tenant.account, session_id=session_id).count(),
        "agents": ConversationAgent.objects.filter(account=tenant.account, conversation__session_id=session_id)
        .count(),
        "transcripts": Transcript.objects.filter(account=tenant.account, conversation__session_id=session_id).count(),
        "events": EventLog.objects.filter(account=tenant.account, conversation__session_id=session_id).count(),
        "qaContacts": QaContact.objects.filter(account=tenant.account, conversation_id__in=keys).count(),
        "recordings": Recording.objects.filter(account=tenant.account, conversation_id__in=keys).count(),
        "dispositionChanges": DispositionChange.objects.filter(account=tenant.account, session_id=session_id).count(),
        "searchEntries": search_rows(tenant, session_id),
    }


def search_rows(tenant: Tenant, session_id: str) -> int:
    """The search index rows of the conversation (their number depends on the engine)."""
    return sum(
        model.objects.filter(account=tenant.account, conversation__session_id=session_id).count()
        for model in (SearchMessage, SearchIdentifier)
    )


NOTHING = dict.fromkeys(
    ("interactions", "queueLinks", "conversations", "agents", "transcripts", "events", "qaContacts", "recordings",
     "dispositionChanges", "searchEntries"), 0,
)


def full_conversation(tenant: Tenant, session_id: str = "s-1") -> list[str]:
    """A conversation with every kind of row, a logged disposition change and two stored recordings."""
    a_conversation(tenant, session_id)
    tenant.put(f"/api/v1/conversations/{session_id}/dispositions", {"dispositions": ["Resolved"]})
    result = contacts_ingest(stream=tenant.bot, records=[ContactDocumentFactory(conversation_id=f"conv-{session_id}")])
    assert result.rejected == []
    return a_recording(tenant, f"conv-{session_id}", "agent", "customer")


def test_deleting_a_conversation_leaves_no_row_no_stored_object_and_one_audit_entry(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    full_conversation(tenant)
    full_conversation(tenant, "s-2")
    full_conversation(outsider)
    assert len(stored_files()) == 6
    indexed = search_rows(tenant, "s-1")
    assert indexed > 0

    response = tenant.delete("/api/v1/conversations/s-1", **{"X-Acting-User": "dpo"})

    assert response.status_code == 204
    assert everything_of(tenant, "s-1") == NOTHING
    assert everything_of(tenant, "s-2") != NOTHING and everything_of(outsider, "s-1") != NOTHING
    assert len(stored_files()) == 4
    [entry] = AuditEntry.objects.filter(action="conversation_deleted")
    assert (entry.account, entry.actor, entry.conversation_id) == (
        tenant.account, f"client:{tenant.api_client.client_id} user:dpo", "s-1",
    )
    assert entry.details == {"sessionIds": ["s-1"], "erased": {
        "conversations": 1, "diagnostics": 0, "dispositionChanges": 1, "events": 1, "interactions": 1,
        "qaContacts": 1, "searchEntries": indexed,
        "recordingFiles": 2, "recordings": 1, "transcripts": 1, "voiceTurns": 0, "storedObjects": 2,
    }}
    assert [record["sessionId"] for record in details(tenant)] == ["s-2"]


def test_after_deletion_every_endpoint_of_the_conversation_is_404(tenant: Tenant, clock: Any) -> None:
    full_conversation(tenant)
    tenant.delete("/api/v1/conversations/s-1")

    base = "/api/v1/conversations/s-1"
    missing = [{"msg": "No conversation 's-1' in this account.", "code": "not_found", "field": "sessionId"}]
    assert errors_of(tenant.delete(base), 404) == missing
    assert errors_of(tenant.put(base + "/dispositions", {"dispositions": []}), 404) == missing
    assert errors_of(tenant.get(base + "/dispositions/log"), 404) == missing
    assert errors_of(tenant.post(base + "/flags", {"reason": "x"}), 404) == missing
    assert errors_of(tenant.get("/api/v1/recordings/conv-s-1"), 404)[0]["code"] == "not_found"
    assert errors_of(tenant.get("/api/v1/recordings/conv-s-1/download"), 404)[0]["code"] == "not_found"
    assert AuditEntry.objects.filter(action="conversation_deleted").count() == 1


def test_another_accounts_conversation_cannot_be_deleted(tenant: Tenant, outsider: Tenant, clock: Any) -> None:
    full_conversation(outsider, "theirs")

    assert errors_of(tenant.delete("/api/v1/conversations/theirs"), 404)[0]["field"] == "sessionId"
    assert everything_of(outsider, "theirs")["interactions"] == 1
    assert len(stored_files()) == 2
    assert not AuditEntry.objects.filter(action="conversation_deleted").exists()


def test_deletion_removes_the_objects_from_s3(tenant: Tenant, clock: Any, s3: Any) -> None:
    full_conversation(tenant)
    assert len(s3_keys(s3)) == 2

    assert tenant.delete("/api/v1/conversations/s-1").status_code == 204

    assert s3_keys(s3) == []
    assert everything_of(tenant, "s-1") == NOTHING


def test_a_storage_failure_erases_nothing_and_a_retry_finishes_the_work(
    tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    keys = full_conversation(tenant)
    real_delete = FileSystemStorage.delete
    calls: list[str] = []

    def failing_second(self: FileSystemStorage, key: str) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise OSError("disk gone")
        real_delete(self, key)

    monkeypatch.setattr(FileSystemStorage, "delete", failing_second)
    response = tenant.delete("/api/v1/conversations/s-1")

    assert errors_of(response, 503) == [{
        "msg": "The stored recordings could not be removed; nothing was erased. Retry shortly.",
        "code": "storage_unavailable",
    }]
    assert response["Retry-After"] == "5"
    assert everything_of(tenant, "s-1")["recordings"] == 1
    assert everything_of(tenant, "s-1")["interactions"] == 1
    assert len(stored_files()) == 1  # the first object went before storage failed
    assert not AuditEntry.objects.filter(action="conversation_deleted").exists()

    assert tenant.delete("/api/v1/conversations/s-1").status_code == 204
    assert stored_files() == [] and everything_of(tenant, "s-1") == NOTHING
    assert len(keys) == 2


@pytest.mark.parametrize("customer", [{"phone": PHONE}, {"email": EMAIL}, {"userId": USER_ID}])
def test_erasing_a_customer_erases_each_of_their_conversations_and_answers_what(
    tenant: Tenant, outsider: Tenant, clock: Any, customer: dict[str, str]
) -> None:
    full_conversation(tenant, "s-1")
    full_conversation(tenant, "s-2")
    a_conversation(tenant, "someone-else", caller="+15555550999", userId="u-other", channelSpecificUserId="u-other",
                   customerinfo={"CustomerPhone": "+15555550999"}, metaInfo={"caller": "+15555550999"})
    full_conversation(outsider, "s-1")
    indexed = search_rows(tenant, "s-1") + search_rows(tenant, "s-2")

    response = tenant.post("/api/v1/privacy/erasures", {"customer": customer}, **{"X-Acting-User": "dpo"})

    assert response.status_code == 200
    body = response.json()
    (kind,) = customer
    assert body == {
        "customerBy": kind, "sessionIds": ["s-1", "s-2"], "auditId": body["auditId"], "more": False,
        "erased": {"conversations": 2, "diagnostics": 0, "dispositionChanges": 2, "events": 2, "interactions": 2,
                   "qaContacts": 2, "searchEntries": indexed,
                   "recordingFiles": 4, "recordings": 2, "transcripts": 2, "voiceTurns": 0, "storedObjects": 4},
    }
    assert everything_of(tenant, "s-1") == NOTHING and everything_of(tenant, "s-2") == NOTHING
    assert everything_of(tenant, "someone-else")["interactions"] == 1
    assert everything_of(outsider, "s-1")["interactions"] == 1
    assert len(stored_files()) == 2
    entry = AuditEntry.objects.get(pk=body["auditId"])
    assert (entry.action, entry.details["customerBy"], entry.details["sessionIds"]) == (
        "customer_erased", kind, ["s-1", "s-2"],
    )
    assert PHONE not in str(entry.details) and EMAIL not in str(entry.details)

    again = tenant.post("/api/v1/privacy/erasures", {"customer": customer})
    assert again.status_code == 200
    assert again.json()["sessionIds"] == [] and again.json()["erased"]["interactions"] == 0


def test_an_erasure_must_name_exactly_one_way_to_find_the_customer(tenant: Tenant) -> None:
    for body, msg in (
        ({"customer": {"phone": PHONE, "email": EMAIL}}, "customer must name exactly one of phone, email or userId."),
        ({"customer": "jane"}, "customer must be an object with one of phone, email or userId."),
        ({"customer": {"phone": ""}}, "customer.phone must be a non-empty string of at most 254 characters."),
    ):
        assert errors_of(tenant.post("/api/v1/privacy/erasures", body)) == [
            {"msg": msg, "code": "invalid", "field": "customer"}
        ]
    assert not AuditEntry.objects.exists()


def feed_items(tenant: Tenant, dataset: str) -> list[dict[str, Any]]:
    response = tenant.get(f"/api/v1/changes?dataset={dataset}&limit=1000")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_deletion_leaves_tombstones_in_the_change_feed(tenant: Tenant, clock: Any) -> None:
    full_conversation(tenant)
    full_conversation(tenant, "s-2")
    assert {item["key"]: item["op"] for item in feed_items(tenant, "interactions")} == {
        "s-1": "upsert", "s-2": "upsert",
    }

    tenant.delete("/api/v1/conversations/s-1")

    interactions = {item["key"]: item for item in feed_items(tenant, "interactions")}
    assert interactions["s-1"]["op"] == "delete" and "record" not in interactions["s-1"]
    assert interactions["s-2"]["op"] == "upsert"
    contacts = {item["key"]: item["op"] for item in feed_items(tenant, "qa_contacts")}
    assert contacts == {f"{tenant.bot.bot_id}/conv-s-1": "delete", f"{tenant.bot.bot_id}/conv-s-2": "upsert"}
