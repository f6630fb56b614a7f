"""NUL characters and unpaired surrogates, which neither database can store, are refused, never a 500.

Found by schemathesis on PostgreSQL: a Quality AI contact with ``"\\u0000"`` in a nested key
answered 500 ("unsupported Unicode escape sequence"); the same with a lone surrogate ``"\\ud800"``
failed on SQLite too, and so did a NUL in a rawdata custom field filter or a recording's path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conversations.models import Interaction
from qualityai.models import QaContact
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db

# Written as JSON escapes: the body carries them exactly as a client would send them.
UNSTORABLE = {"nul": "\\u0000", "lone-surrogate": "\\ud800"}


def _post_json_text(tenant: Tenant, path: str, text: str, **headers: str) -> Any:
    return tenant.http.generic(
        "POST", path, text.encode(), content_type="application/json", headers={"auth": tenant.token(), **headers}
    )


def _unstorable_error(field: str) -> dict[str, str]:
    return {
        "msg": f"{field} contains a character that cannot be stored: NUL (\\u0000) or an unpaired surrogate "
        "(\\ud800-\\udfff).",
        "code": "invalid_characters",
        "field": field,
    }


@pytest.mark.parametrize("bad", sorted(UNSTORABLE))
def test_an_interaction_with_unstorable_text_is_rejected_and_the_rest_of_the_batch_stored(
    tenant: Tenant, bad: str
) -> None:
    records = [ConversationRecordFactory(botId=tenant.bot.bot_id, metaInfo={"caller": "+1555"})
               for _ in range(2)]
    text = json.dumps({"records": records}).replace('"+1555"', f'"+1555{UNSTORABLE[bad]}"', 1)
    text = text.replace('"caller"', f'"caller{UNSTORABLE[bad]}"', 1)

    response = _post_json_text(tenant, "/api/v1/ingest/interactions", text)

    assert response.status_code == 200, response.content
    escaped = UNSTORABLE[bad]
    assert response.json() == {
        "created": 1, "updated": 0,
        "rejected": [{"index": 0, "errors": [_unstorable_error(f"metaInfo.caller{escaped}")]}],
    }
    assert list(Interaction.objects.values_list("session_id", flat=True)) == [records[1]["sessionId"]]


@pytest.mark.parametrize("bad", sorted(UNSTORABLE))
def test_a_contact_with_unstorable_text_is_rejected_and_the_rest_of_the_batch_stored(
    tenant: Tenant, bad: str
) -> None:
    contacts = [ContactDocumentFactory(custom_fields={"Region": "US"}) for _ in range(2)]
    contacts[0]["Sentiment Ratio"] = {"k": "v"}
    text = json.dumps({"records": contacts}).replace('{"k": "v"}', f'{{"k": "v{UNSTORABLE[bad]}"}}', 1)

    response = _post_json_text(tenant, f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts", text)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 1, "updated": 0, "rejected": [{"index": 0, "errors": [_unstorable_error("Sentiment Ratio.k")]}],
    }
    assert list(QaContact.objects.values_list("conversation_id", flat=True)) == [contacts[1]["Conversation ID"]]


@pytest.mark.parametrize("bad", sorted(UNSTORABLE))
def test_a_rawdata_custom_field_filter_with_unstorable_text_is_a_400(tenant: Tenant, bad: str) -> None:
    body = (
        '{"offset": 0, "startDate": "2026-05-02 00:00:00", "endDate": "2026-05-02 23:59:59",'
        f' "custom_fields": {{"Region": ["US", "U{UNSTORABLE[bad]}"]}}}}'
    )

    response = _post_json_text(
        tenant, f"/qualityai/api/v1/public/qualitymanagement/app/{tenant.bot.bot_id}/rawdata", body,
        accountId=tenant.account_id, orgId=tenant.account.org_id,
    )

    assert response.status_code == 400, response.content
    assert response.json() == {"errors": [_unstorable_error("custom_fields.Region[1]")]}


def test_ids_with_a_nul_are_unknown_not_a_server_error(tenant: Tenant) -> None:
    responses = {
        "recording": tenant.get("/api/v1/recordings/c-1%00"),
        "download": tenant.get("/api/v1/recordings/c-1%00/download"),
        "retry": tenant.post("/api/v1/recordings/c-1%00/retry"),
        "stream": tenant.post(f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}%00/contacts", {"records": [{}]}),
        "IId": tenant.post(
            f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/interactionDetails",
            {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0},
            IId=f"{tenant.bot.bot_id}\x00",
        ),
    }

    assert {name: response.status_code for name, response in responses.items()} == dict.fromkeys(responses, 404)
    assert responses["recording"].json() == {"errors": [{
        "msg": "No recording for conversation 'c-1\\x00' in this account.", "code": "not_found",
        "field": "conversationId",
    }]}
