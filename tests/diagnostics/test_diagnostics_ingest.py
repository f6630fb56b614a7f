"""The diagnostics section through POST /api/v1/ingest/conversations: stored whole, replaced whole,
refused with the field's path, and a voice call's flow served afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from diagnostics.models import CallDiagnostics
from tests.diagnostics.conftest import CALL, GATEWAY, path, sip

pytestmark = pytest.mark.django_db

INGEST = "/api/v1/ingest/conversations"


def test_a_record_with_diagnostics_is_served_by_the_diagnostics_read(tenant: Any) -> None:
    response = tenant.post(INGEST, {"records": [{"sessionId": "call-9", "diagnostics": CALL}]})

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0, "rejected": []}
    flow = tenant.get(path("call-9")).json()["flow"]
    assert [item["label"] for item in flow][:2] == ["INVITE", "100 Trying"]


def test_a_section_sent_again_replaces_the_stored_one_and_an_absent_one_is_kept(tenant: Any) -> None:
    tenant.post(INGEST, {"records": [{"sessionId": "call-9", "diagnostics": CALL}]})
    only_bye = {"sip": [sip("2025-09-30T10:05:00Z", GATEWAY, GATEWAY, "BYE", "BYE sip:a@b SIP/2.0")]}

    tenant.post(INGEST, {"records": [{"sessionId": "call-9", "diagnostics": only_bye}]})
    tenant.post(INGEST, {"records": [{"sessionId": "call-9", "status": "completed"}]})

    assert [item["label"] for item in tenant.get(path("call-9")).json()["flow"]] == ["BYE"]
    assert CallDiagnostics.objects.count() == 1


def test_a_broken_section_rejects_its_record_naming_the_field_and_writes_nothing(tenant: Any) -> None:
    broken = {"sip": [{**CALL["sip"][0], "from": {"ip": "999.1.1.1", "port": 5060}}]}

    response = tenant.post(INGEST, {"records": [{"sessionId": "call-9", "diagnostics": broken}]})

    assert response.status_code == 200
    assert response.json()["rejected"] == [{"index": 0, "errors": [{
        "msg": "ip must be an IPv4 or IPv6 address such as 172.31.11.64.", "code": "invalid",
        "field": "diagnostics.sip[0].from.ip",
    }]}]
    assert CallDiagnostics.objects.count() == 0
