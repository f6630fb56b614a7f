"""The qa_contacts feed: rawdata results, and the changes that no contact write makes (stream settings,
recordings arriving and expiring)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from qualityai.services import stream_settings_set
from recordings.models import Recording
from recordings.retention import retention_run, retention_settings_update
from tests.changes.conftest import contacts, drain, ingest_contacts
from tests.conftest import Tenant
from tests.recordings.conftest import (  # noqa: F401 - fixtures
    CALL_END,
    RecordingServer,
    clock,
    first_attempt,
    recording_server,
    register_served,
)

pytestmark = pytest.mark.django_db


def rawdata(tenant: Tenant) -> dict[str, Any]:
    response = tenant.post(
        f"/qualityai/api/v1/public/qualitymanagement/app/{tenant.bot.bot_id}/rawdata",
        {"offset": 0, "startDate": "2020-01-01", "endDate": "2030-01-01", "limit": 100,
         "include_below_threshold": True},
        accountId=tenant.account_id,
        orgId=tenant.account.org_id,
    )
    assert response.status_code == 200, response.content
    return {f"{tenant.bot.bot_id}/{result['Conversation ID']}": result for result in response.json()["results"]}


def test_contacts_come_keyed_by_stream_and_conversation_as_rawdata_serves_them(tenant: Tenant) -> None:
    ingest_contacts(tenant, contacts(2) + contacts(1, seconds=2, customConversationId="custom-1"))

    items, _cursor = drain(tenant, "qa_contacts")

    assert [item["op"] for item in items] == ["upsert"] * 3
    assert {item["key"]: item["record"] for item in items} == rawdata(tenant)
    assert {item["record"]["duration_status"] for item in items} == {"evaluated", "below_threshold"}


def test_a_new_minimum_duration_serves_the_streams_contacts_again(tenant: Tenant) -> None:
    ingest_contacts(tenant, contacts(3, seconds=30))
    _items, cursor = drain(tenant, "qa_contacts")

    stream_settings_set(stream=tenant.bot, min_duration_seconds=45)
    items, _cursor = drain(tenant, "qa_contacts", cursor=cursor)

    assert len(items) == 3
    assert {item["record"]["duration_status"] for item in items} == {"below_threshold"}


def test_a_recording_stored_then_deleted_by_retention_changes_its_contacts_links(
    tenant: Tenant, recording_server: RecordingServer, clock: Any  # noqa: F811
) -> None:
    ingest_contacts(tenant, contacts(1, conversation_id="c1") + contacts(1, conversation_id="c2"))
    _items, cursor = drain(tenant, "qa_contacts")

    register_served(recording_server, tenant.account, conversation_id="c1")
    first_attempt(clock)
    stored, cursor = drain(tenant, "qa_contacts", cursor=cursor)
    retention_settings_update(
        account=tenant.account, actor="system", retention_days=30, notify_customers=False, notification_email=""
    )
    clock.move_to(CALL_END + timedelta(days=31))
    assert retention_run().deletions == 1
    deleted, _cursor = drain(tenant, "qa_contacts", cursor=cursor)

    key = f"{tenant.bot.bot_id}/c1"
    assert [item["key"] for item in stored] == [key]
    assert stored[0]["record"]["agentRecordings"] == ["/api/v1/recordings/c1/download?channel=mixed"]
    assert [item["key"] for item in deleted] == [key]
    assert "agentRecordings" not in deleted[0]["record"]
    assert deleted[0]["version"] > stored[0]["version"]
    assert Recording.objects.get().deleted_at is not None
