"""Helpers of the conversations tests: ingest records for a tenant, query its endpoints."""

from __future__ import annotations

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
