"""Helpers of the Quality AI tests: ingest contacts into a tenant's stream, call rawdata."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from qualityai.services import contacts_ingest
from tests.conftest import Tenant
from tests.qualityai.factories import ContactDocumentFactory

# The Quality AI raw data API page's sample response, kept in the repository (tests/fixtures/README.md).
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "rawdata_response.json"
RAWDATA = "/qualityai/api/v1/public/qualitymanagement/app/{}/rawdata"
INGEST = "/api/v1/ingest/qualityai/{}/contacts"


def ingest(tenant: Tenant, records: list[dict[str, Any]]) -> None:
    """Store contacts in the tenant's stream through the real ingestion path; all must be accepted."""
    result = contacts_ingest(stream=tenant.bot, records=records)
    assert result.rejected == [], result.rejected


def headers_of(tenant: Tenant) -> dict[str, str]:
    return {"accountId": tenant.account_id, "orgId": tenant.account.org_id}


def rawdata(tenant: Tenant, body: dict[str, Any], *, stream_id: str | None = None, **headers: Any) -> Any:
    sent = {**headers_of(tenant), **headers}
    sent = {name: value for name, value in sent.items() if value is not None}
    return tenant.post(RAWDATA.format(stream_id or tenant.bot.bot_id), body, **sent)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return response.json()


def errors_of(response: Any, status: int = 400) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    return response.json()["errors"]


def ids_of(page: dict[str, Any]) -> list[str]:
    return [result["Conversation ID"] for result in page["results"]]


@pytest.fixture(autouse=True)
def _fresh_sequence() -> None:
    """Every test's contacts start at 10:00 on the factories' day, whatever ran before."""
    ContactDocumentFactory.reset_sequence(force=True)


@pytest.fixture
def sample() -> dict[str, Any]:
    """The raw data API page's sample response, byte for byte the document's values."""
    return json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def sample_contacts(sample: dict[str, Any]) -> list[dict[str, Any]]:
    return copy.deepcopy(sample["results"])


@pytest.fixture
def day() -> dict[str, Any]:
    """The whole day of the factories' contacts (2026-05-02), UTC, first page."""
    return {"offset": 0, "startDate": "2026-05-02 00:00:00", "endDate": "2026-05-02 23:59:59"}
