"""How one contact is rendered: optional keys, derived keys, defaults and recording links."""

from __future__ import annotations

from typing import Any

import pytest

from qualityai import selectors
from tests.conftest import Tenant
from tests.qualityai.conftest import ingest, ok, rawdata
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


def only_result(tenant: Tenant, day: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    ingest(tenant, [document])
    return ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"][0]


def test_custom_conversation_id_appears_only_when_set(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [
        ContactDocumentFactory(conversation_id="c-1", customConversationId="EXT-1"),
        ContactDocumentFactory(conversation_id="c-2", customConversationId=None),
        ContactDocumentFactory(conversation_id="c-3", customConversationId=""),
        ContactDocumentFactory(conversation_id="c-4"),
    ])

    results = ok(rawdata(tenant, day))["results"]

    assert [r.get("customConversationId", "absent") for r in results] == ["EXT-1", "absent", "absent", "absent"]


@pytest.mark.parametrize(
    ("status", "shown"),
    [("Audited", True), ("completed", True), ("Assigned", False), ("Not Assigned", False), ("Unassigned", False)],
)
def test_audit_score_appears_only_once_the_audit_is_complete(
    tenant: Tenant, day: dict[str, Any], status: str, shown: bool
) -> None:
    result = only_result(tenant, day, ContactDocumentFactory(
        audit_status=status, audit_date="2026-05-03T08:00:00+02:00", auditor="Ann Auditor", **{"Audit Score": 87.5}
    ))

    assert ("Audit Score" in result) is shown
    if shown:
        assert result["Audit Score"] == 87.5
    assert result["Audit Status"] == status
    assert result["Audit Date"] == "2026-05-03T06:00:00.000Z"
    assert result["Auditor Name"] == "Ann Auditor"


@pytest.mark.parametrize(("sent", "shown"), [(35, 35), (0, 0), (72.5, 72.5), ("NA", "NA"), (None, "NA")])
def test_kore_evaluation_score_is_na_when_not_evaluated(
    tenant: Tenant, day: dict[str, Any], sent: Any, shown: Any
) -> None:
    assert only_result(tenant, day, ContactDocumentFactory(score=sent))["Kore Evaluation Score"] == shown


def test_kore_evaluation_score_absent_is_na(tenant: Tenant, day: dict[str, Any]) -> None:
    document = ContactDocumentFactory()
    del document["Kore Evaluation Score"]

    assert only_result(tenant, day, document)["Kore Evaluation Score"] == "NA"


def test_direction_not_given_is_inferred_inbound_and_flagged(tenant: Tenant, day: dict[str, Any]) -> None:
    document = ContactDocumentFactory(is_direction_defaulted=False)
    del document["contactDirection"]

    result = only_result(tenant, day, document)

    assert (result["contactDirection"], result["is_direction_defaulted"]) == ("inbound", True)


def test_direction_given_is_not_flagged(tenant: Tenant, day: dict[str, Any]) -> None:
    result = only_result(tenant, day, ContactDocumentFactory(direction="outbound", is_direction_defaulted=True))

    assert (result["contactDirection"], result["is_direction_defaulted"]) == ("outbound", False)


def test_duration_sent_as_a_number_comes_back_documented(tenant: Tenant, day: dict[str, Any]) -> None:
    assert only_result(tenant, day, ContactDocumentFactory(duration=61234))["Duration"] == "61234 milliseconds"


def test_missing_end_time_is_null(tenant: Tenant, day: dict[str, Any]) -> None:
    document = ContactDocumentFactory()
    del document["Conversation End Time"]

    assert only_result(tenant, day, document)["Conversation End Time"] is None


def test_unknown_keys_are_returned_as_sent(tenant: Tenant, day: dict[str, Any]) -> None:
    extra = {"Wrap Code": "W1", "Nested": {"a": [1, {"b": None}]}}

    result = only_result(tenant, day, ContactDocumentFactory(**extra))

    assert {key: result[key] for key in extra} == extra


def test_recording_links_are_merged_when_the_conversation_has_some(
    tenant: Tenant, day: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tenant, [
        ContactDocumentFactory(conversation_id="c-both", agentRecordings=["https://stale.example/a"]),
        ContactDocumentFactory(conversation_id="c-agent-only"),
        ContactDocumentFactory(conversation_id="c-none", customerRecordings=["https://stale.example/c"]),
    ])
    links = {
        "c-both": {"agent": ["/api/v1/recordings/c-both/download?channel=agent"],
                   "customer": ["/api/v1/recordings/c-both/download?channel=customer"]},
        "c-agent-only": {"agent": ["/api/v1/recordings/c-agent-only/download?channel=agent"], "customer": []},
    }
    monkeypatch.setattr(selectors, "recording_links", lambda *, account, conversation_ids: links)

    results = {r["Conversation ID"]: r for r in ok(rawdata(tenant, day))["results"]}

    assert results["c-both"]["agentRecordings"] == links["c-both"]["agent"]
    assert results["c-both"]["customerRecordings"] == links["c-both"]["customer"]
    assert results["c-agent-only"]["agentRecordings"] == links["c-agent-only"]["agent"]
    assert "customerRecordings" not in results["c-agent-only"]
    # Links a record carried at ingestion are never served: only stored recordings are.
    assert "customerRecordings" not in results["c-none"]
    assert "agentRecordings" not in results["c-none"]
