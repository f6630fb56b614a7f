"""Helpers of the conversations tests: ingest records for a tenant, query its endpoints, the reference sample."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conversations.services import interactions_ingest
from tests.conftest import Tenant

DETAILS = "/agentassist/api/public/analytics/account/{}/v2/interactionDetails"
CALLS = "/agentassist/api/public/analytics/account/{}/v2/calldetails"
INGEST = "/api/v1/ingest/interactions"


def ingest(tenant: Tenant, records: list[dict[str, Any]]) -> None:
    """Store records through the real ingestion path; every one must be accepted."""
    result = interactions_ingest(account=tenant.account, records=records)
    assert result.rejected == [], result.rejected


def details(tenant: Tenant, body: dict[str, Any], *, query: str = "", path: str = DETAILS, **headers: Any) -> Any:
    return tenant.post(path.format(tenant.account_id) + query, body, **headers)


def errors_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.fixture
def window() -> dict[str, Any]:
    """The day of the factories' records (2025-09-30), in UTC."""
    return {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}


# The sample response of "Get All Conversations Data – Call Details", byte for byte (tests/fixtures/README.md).
REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "interactionDetails_response.json"
INDIA = -330
# Every time the reference renders in the caller's local time (the callback times are already UTC).
LOCAL_TIMES = {
    "sessionStartTime", "sessionEndTime", "EnterTime", "firstResponseTime", "interactionEndTime",
    "afterCallWorkEndTime", "acceptedTime", "assignedAt", "consultingEndTime",
}
FREE_FORM = {"metaInfo", "customerinfo"}


def to_utc(value: Any) -> Any:
    """The sample as an ingestion record: each local time (offset −330) as UTC with Z."""
    if isinstance(value, list):
        return [to_utc(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in LOCAL_TIMES:
            local = datetime.strptime(item, "%Y-%m-%dT%H:%M:%S")
            out[key] = (local + timedelta(minutes=INDIA)).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif key in FREE_FORM:
            out[key] = item
        else:
            out[key] = to_utc(item)
    return out


def sample() -> dict[str, Any]:
    """The document's sample response, read afresh (callers may change it)."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))
