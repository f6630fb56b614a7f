"""What ingestion stores under a conversation id can be read back at /api/v1/recordings/{conversationId}."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from analytics_api.kernel.errors import ApiError
from conversations.models import Interaction
from recordings.jobs import recordings_process_due
from recordings.models import Recording
from recordings.services import recording_sources_register
from tests.conversations.conftest import INGEST
from tests.conversations.factories import ConversationRecordFactory
from tests.recordings.conftest import AUDIO, CALL_END, RecordingServer, Reply

pytestmark = pytest.mark.django_db

WHERE = "on a record with recordingSources: its recording is read at /api/v1/recordings/{conversationId}."


def ingest(tenant: Any, url: str, **fields: Any) -> Any:
    record = ConversationRecordFactory(
        botId=tenant.bot.bot_id, recordingSources=[{"url": url, "channel": "mixed"}], **fields
    )
    response = tenant.post(INGEST, {"records": [record]})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    ("fields", "field", "msg"),
    [
        ({"conversationId": "tenant/2026/c1"}, "conversationId", f"conversationId may not contain '/' {WHERE}"),
        ({"conversationId": ".."}, "conversationId", f"conversationId may not be '.' or '..' {WHERE}"),
        ({"conversationId": None, "sessionId": "s/1"}, "sessionId", f"sessionId may not contain '/' {WHERE}"),
    ],
)
def test_an_id_no_recording_url_can_name_is_refused_at_ingestion(
    tenant: Any, recording_server: RecordingServer, fields: dict[str, Any], field: str, msg: str
) -> None:
    body = ingest(tenant, recording_server.serve("/c.flac", Reply()), **fields)

    assert body["created"] == 0
    assert [(error["field"], error["msg"]) for error in body["rejected"][0]["errors"]] == [(field, msg)]
    assert not Interaction.objects.exists()
    assert not Recording.objects.exists()


def test_a_slash_is_kept_on_records_without_recordings(tenant: Any) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, conversationId="tenant/2026/c1")
    assert tenant.post(INGEST, {"records": [record]}).json()["created"] == 1


def test_the_registration_service_refuses_it_too(tenant: Any) -> None:
    with pytest.raises(ApiError) as raised:
        recording_sources_register(
            account=tenant.account, conversation_id="a/b", call_ended_at=CALL_END,
            sources=[{"url": "https://rec.example/a.flac", "channel": "mixed"}],
        )
    assert raised.value.errors == [
        {"msg": f"conversationId may not contain '/' {WHERE}", "code": "invalid", "field": "conversationId"}
    ]
    assert not Recording.objects.exists()


def test_an_id_with_reserved_characters_is_ingested_fetched_and_downloaded(
    tenant: Any, recording_server: RecordingServer, clock: Any
) -> None:
    conversation_id = "c 1?x=1#frag%20+;é"
    ingest(tenant, recording_server.serve("/c1.flac", Reply()), conversationId=conversation_id)

    assert recordings_process_due() == {"available": 1}

    detail = tenant.get(f"/api/v1/recordings/{quote(conversation_id, safe='')}")
    assert detail.status_code == 200
    assert detail.json()["conversationId"] == conversation_id
    download_url = detail.json()["files"][0]["downloadUrl"].removeprefix("http://testserver")
    download = tenant.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == AUDIO
