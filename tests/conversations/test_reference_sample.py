"""The acceptance test: the Call Details document's sample response comes back field for field."""

from __future__ import annotations

import copy
import json

from analytics_api.models import Bot
from conversations.reference_sample import SAMPLE_RESPONSE
from tests.conftest import Tenant
from tests.conversations.conftest import INDIA, REFERENCE, details, ingest, sample, to_utc


def test_sample_records_come_back_field_for_field(tenant: Tenant) -> None:
    expected = sample()["data"]
    for bot_id in {record["botId"] for record in expected}:
        Bot.objects.create(account=tenant.account, bot_id=bot_id)
    ingest(tenant, [to_utc(record) for record in copy.deepcopy(expected)])

    response = details(
        tenant,
        {
            "startDate": "2025-09-30",
            "endDate": "2025-10-01",
            "timeZoneOffset": INDIA,
            "selectedFields": {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []},
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    # The sample lists the 12:37 call before the 12:04 one; the contract orders by session start,
    # then session id. Same records, same fields, same values: only that order differs.
    ordered = sorted(expected, key=lambda record: (record["sessionStartTime"], record["sessionId"]))
    assert [record["sessionId"] for record in body["data"]] == [record["sessionId"] for record in ordered]
    assert body["data"] == ordered
    assert body["numResults"] == len(expected) == 6
    assert body["hasMore"] is False


def test_sample_records_keep_the_documented_key_order(tenant: Tenant) -> None:
    expected = sample()["data"]
    for bot_id in {record["botId"] for record in expected}:
        Bot.objects.create(account=tenant.account, bot_id=bot_id)
    ingest(tenant, [to_utc(record) for record in expected])

    body = details(
        tenant,
        {"startDate": "2025-09-30", "endDate": "2025-10-01", "timeZoneOffset": INDIA,
         "selectedFields": {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []}},
    ).json()

    by_session = {record["sessionId"]: record for record in expected}
    for record in body["data"]:
        original = by_session[record["sessionId"]]
        assert list(record) == list(original)
        for served, documented in zip(record.get("destinations", []), original.get("destinations", []), strict=True):
            assert list(served) == list(documented)


def test_embedded_sample_is_the_reference_verbatim() -> None:
    """The copy in code (the OpenAPI example) is the document's sample, value for value."""
    assert json.loads(REFERENCE.read_text(encoding="utf-8")) == SAMPLE_RESPONSE
