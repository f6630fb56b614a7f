"""The drills send the documented example records: they must stay valid as the schema evolves."""

from __future__ import annotations

from datetime import UTC, datetime

from conversations.models import Interaction
from qualityai.models import QaContact
from tests.conftest import Tenant
from tools.drills.records import (
    INGEST_CONTACTS,
    INGEST_INTERACTIONS,
    contact_batch_prefix,
    contact_record,
    interaction_batch_prefix,
    interaction_record,
)

START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def test_interaction_records_are_accepted_and_numbered_by_batch(tenant: Tenant) -> None:
    records = [
        interaction_record(tag="ab" * 7, batch=3, index=index, bot_id=tenant.bot.bot_id,
                           org_id=tenant.account.org_id, start=START, recording_url="https://r.example.com/a.flac")
        for index in range(2)
    ]

    response = tenant.post(INGEST_INTERACTIONS, {"records": records})

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0, "rejected": []}
    stored = Interaction.objects.order_by("session_id")
    assert [row.session_id for row in stored] == ["ababababababab0000030000", "ababababababab0000030001"]
    assert all(row.session_id.startswith(interaction_batch_prefix("ab" * 7, 3)) for row in stored)
    assert stored[0].session_start == START
    assert stored[0].recording_sources == [{"url": "https://r.example.com/a.flac", "channel": "mixed"}]


def test_contact_records_are_accepted_and_numbered_by_batch(tenant: Tenant) -> None:
    records = [contact_record(tag="cd" * 7, batch=1, index=index, start=START) for index in range(3)]

    response = tenant.post(INGEST_CONTACTS.format(stream=tenant.bot.bot_id), {"records": records})

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 3, "updated": 0, "rejected": []}
    ids = sorted(QaContact.objects.values_list("conversation_id", flat=True))
    assert ids == [f"{contact_batch_prefix('cd' * 7, 1)}000{index}" for index in range(3)]
    assert all(conversation_id.startswith(contact_batch_prefix("cd" * 7, None)) for conversation_id in ids)
