"""Hostile bodies, headers and ids: every one gets the error envelope, never a 500, and stores nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from conversations.models import Interaction
from qualityai.models import QaContact
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def _paths(tenant: Tenant) -> list[str]:
    return [
        f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/interactionDetails",
        f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/calldetails",
        f"/qualityai/api/v1/public/qualitymanagement/app/{tenant.bot.bot_id}/rawdata",
        "/api/v1/ingest/interactions",
        f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts",
    ]


def _raw_post(tenant: Tenant, path: str, body: bytes, content_type: str = "application/json") -> Any:
    headers = {"auth": tenant.token(), "accountId": tenant.account_id, "orgId": tenant.account.org_id,
               "x-timezone-offset": "0"}
    return tenant.http.generic("POST", path, body, content_type=content_type, headers=headers)


def _assert_envelope(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"errors"}
    assert body["errors"] and all({"msg", "code"} <= set(item) for item in body["errors"])


HOSTILE_BODIES = {
    "deeply-nested": b"[" * 5000 + b"]" * 5000,
    "deeply-nested-object": (b'{"a":' * 3000) + b"1" + (b"}" * 3000),
    "not-utf8": b'{"startDate": "\xff\xfe\xfa"}',
    "nan": b'{"startDate": "2025-09-24", "endDate": "2025-09-30", "timeZoneOffset": NaN, "offset": NaN}',
    "infinity": b'{"records": [{"sessionId": Infinity}], "offset": -Infinity}',
    "top-level-array": b"[1, 2, 3]",
    "top-level-string": b'"hello"',
    "truncated": b'{"records": [{"sessionId": "x"',
    "numbers-as-strings": b'{"startDate": 20250924, "endDate": true, "timeZoneOffset": "abc", "offset": "0",'
    b' "limit": "10", "records": "many"}',
    "impossible-dates": b'{"startDate": "2025-02-30", "endDate": "2025-13-01", "timeZoneOffset": 721, "offset": 0}',
    "duplicate-keys": b'{"records": [{"sessionId": 1}], "records": [], "offset": 1, "offset": -1}',
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_bodies_get_the_envelope_and_store_nothing(tenant: Tenant, name: str) -> None:
    for path in _paths(tenant):
        _assert_envelope(_raw_post(tenant, path, HOSTILE_BODIES[name]))
    assert not Interaction.objects.exists()
    assert not QaContact.objects.exists()


VALID_BUT_ODD_BODIES = {
    # Valid JSON that a careless client may send: answered (2xx or 4xx), never a 5xx.
    "calendar-edges": b'{"startDate": "0001-01-01", "endDate": "9999-12-31 23:59:59", "timeZoneOffset": -840,'
    b' "offset": 0}',
    "offset-edges": b'{"startDate": "9999-12-25", "endDate": "9999-12-31", "timeZoneOffset": 720, "offset": 0}',
    "duplicate-keys-last-wins": b'{"records": [], "records": [{"sessionId": 1}], "offset": 1, "offset": 0}',
}


@pytest.mark.parametrize("name", sorted(VALID_BUT_ODD_BODIES))
def test_odd_but_valid_json_never_gets_a_5xx(tenant: Tenant, name: str) -> None:
    for path in _paths(tenant):
        response = _raw_post(tenant, path, VALID_BUT_ODD_BODIES[name])
        assert response.status_code < 500, (path, response.content[:300])
        assert isinstance(response.json(), dict)
    assert not Interaction.objects.exists()
    assert not QaContact.objects.exists()


def test_huge_body_is_413(tenant: Tenant, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 64 * 1024
    body = json.dumps({"records": [{"sessionId": "x" * 1000}] * 100}).encode()
    for path in _paths(tenant):
        response = _raw_post(tenant, path, body)
        assert response.status_code == 413
        _assert_envelope(response)
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    "identifier",
    ["' OR 1=1 --", "x; rm -rf /", "$(reboot)", "../../etc/passwd", "é☃𝄞", "%00", "a" * 300, "st-\u202e"],
)
def test_metacharacter_ids_in_paths_are_404_or_403(tenant: Tenant, identifier: str) -> None:
    quoted = quote(identifier, safe="")
    for path in (
        f"/agentassist/api/public/analytics/account/{quoted}/v2/interactionDetails",
        f"/qualityai/api/v1/public/qualitymanagement/app/{quoted}/rawdata",
        f"/api/v1/ingest/qualityai/{quoted}/contacts",
        f"/api/v1/recordings/{quoted}",
    ):
        response = (tenant.get(path) if "recordings" in path else _raw_post(tenant, path, b'{"records": [{}]}'))
        assert response.status_code in (400, 403, 404), (path, response.status_code)
        _assert_envelope(response)
    assert not Interaction.objects.exists()
    assert not QaContact.objects.exists()


def test_a_1001_record_batch_is_refused_whole(tenant: Tenant) -> None:
    records = [{"sessionId": f"s{i}"} for i in range(1001)]
    for path in _paths(tenant)[3:]:
        response = tenant.post(path, {"records": records})
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"msg": "A batch holds at most 1000 records: split it into several requests.",
             "code": "too_many", "field": "records"}
        ]
    assert not Interaction.objects.exists()
    assert not QaContact.objects.exists()
