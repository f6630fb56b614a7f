"""Per-record lists are capped: recording sources (each one a fetch job) and a contact's custom fields.

Found by an adversarial review: an ingested record could list any number of recording sources, so
one ingest client could occupy every recordings worker; a contact any number of custom fields (a
row each).
"""

from __future__ import annotations

import pytest

from conversations.models import Interaction
from conversations.records import MAX_RECORDING_SOURCES
from qualityai.models import QaContact, QaContactCustomField
from qualityai.serializers import MAX_CONTACT_CUSTOM_FIELDS
from recordings.models import Recording
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


def test_the_caps_are_the_documented_ones() -> None:
    assert (MAX_RECORDING_SOURCES, MAX_CONTACT_CUSTOM_FIELDS) == (10, 50)


def test_a_record_with_more_than_ten_recording_sources_is_rejected_and_the_rest_stored(tenant: Tenant) -> None:
    def sources(count: int) -> list[dict[str, str]]:
        return [{"url": f"https://rec.example/{number}.wav", "channel": "mixed"} for number in range(count)]

    # The cap is checked before the sources are: invalid items beyond it are not even looked at.
    records = [
        ConversationRecordFactory(botId=tenant.bot.bot_id, recordingSources=[*sources(11), "junk"]),
        ConversationRecordFactory(botId=tenant.bot.bot_id, recordingSources=sources(10)),
    ]

    response = tenant.post("/api/v1/ingest/interactions", {"records": records})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 1,
        "updated": 0,
        "rejected": [{"index": 0, "errors": [{
            "msg": "A record may list at most 10 recordingSources.", "code": "too_many", "field": "recordingSources"
        }]}],
    }
    assert list(Interaction.objects.values_list("session_id", flat=True)) == [records[1]["sessionId"]]
    assert Recording.objects.get().conversation_id == records[1]["conversationId"]


def test_a_contact_with_more_than_fifty_custom_fields_is_rejected_and_the_rest_stored(tenant: Tenant) -> None:
    contacts = [
        ContactDocumentFactory(custom_fields={f"k{number}": "v" for number in range(51)}),
        ContactDocumentFactory(custom_fields={f"k{number}": "v" for number in range(50)}),
    ]

    response = tenant.post(f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts", {"records": contacts})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 1,
        "updated": 0,
        "rejected": [{"index": 0, "errors": [{
            "msg": "custom_fields may hold at most 50 fields per contact, not 51.",
            "code": "too_many",
            "field": "custom_fields",
        }]}],
    }
    assert list(QaContact.objects.values_list("conversation_id", flat=True)) == [contacts[1]["Conversation ID"]]
    assert QaContactCustomField.objects.count() == 50
