"""Saved filters: every operation, owners (client + acting user), unique names, one default, criteria rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from content.criteria import conversations_matching
from content.models import Conversation
from supervision.filters import criteria_narrowed
from supervision.models import SavedFilter
from tests.conftest import Tenant
from tests.supervision.conftest import a_conversation, errors_of

pytestmark = pytest.mark.django_db

CRITERIA = {
    "channels": ["voice"], "status": ["completed"], "flagged": True,
    "customTags": [{"tag": "plan", "predicate": "CONTAINS", "value": "gold"}],
}
JANE = {"X-Acting-User": "jane"}


def create(tenant: Tenant, name: str = "Gold calls", criteria: dict[str, Any] | None = None, **headers: Any) -> Any:
    return tenant.post("/api/v1/filters", {"name": name, "criteria": criteria or CRITERIA}, **headers)


def test_a_filter_is_created_read_listed_edited_and_deleted(tenant: Tenant) -> None:
    created = create(tenant, **JANE)
    assert created.status_code == 201
    saved = created.json()
    assert saved == {"id": saved["id"], "name": "Gold calls", "criteria": CRITERIA, "isDefault": False}
    path = f"/api/v1/filters/{saved['id']}"

    assert tenant.get(path, **JANE).json() == saved
    create(tenant, "Angry customers", {"sentiment": ["negative"]}, **JANE)
    assert [item["name"] for item in tenant.get("/api/v1/filters", **JANE).json()["filters"]] == [
        "Angry customers", "Gold calls",
    ]

    edited = tenant.put(path, {"name": "Gold voice calls", "criteria": {"channels": ["voice"]}}, **JANE)
    assert edited.status_code == 200
    assert edited.json() == {**saved, "name": "Gold voice calls", "criteria": {"channels": ["voice"]}}

    assert tenant.delete(path, **JANE).status_code == 204
    assert errors_of(tenant.get(path, **JANE), 404) == [
        {"msg": f"No saved filter '{saved['id']}' of yours.", "code": "not_found", "field": "id"}
    ]
    assert SavedFilter.objects.count() == 1


def test_duplicate_copies_the_criteria_under_a_new_name_never_as_default(tenant: Tenant) -> None:
    source = create(tenant).json()
    tenant.post(f"/api/v1/filters/{source['id']}/default")

    copy = tenant.post(f"/api/v1/filters/{source['id']}/duplicate", {"name": "Gold calls (copy)"})

    assert copy.status_code == 201
    assert copy.json() == {"id": copy.json()["id"], "name": "Gold calls (copy)", "criteria": CRITERIA,
                           "isDefault": False}
    assert errors_of(tenant.post(f"/api/v1/filters/{source['id']}/duplicate", {"name": "Gold calls"}), 409) == [
        {"msg": "You already have a filter named 'Gold calls'.", "code": "duplicate_name", "field": "name"}
    ]


def test_names_are_unique_per_owner_only(tenant: Tenant, outsider: Tenant) -> None:
    create(tenant)

    assert errors_of(create(tenant), 409) == [
        {"msg": "You already have a filter named 'Gold calls'.", "code": "duplicate_name", "field": "name"}
    ]
    assert create(tenant, **JANE).status_code == 201
    assert create(outsider).status_code == 201
    renamed = create(tenant, "Other").json()
    assert errors_of(tenant.put(f"/api/v1/filters/{renamed['id']}", {"name": "Gold calls", "criteria": {}}), 409)[0][
        "code"
    ] == "duplicate_name"
    assert SavedFilter.objects.count() == 4


def test_one_default_per_owner(tenant: Tenant) -> None:
    first, second = create(tenant, "First").json(), create(tenant, "Second").json()
    mine = create(tenant, "Jane's", **JANE).json()
    tenant.post(f"/api/v1/filters/{mine['id']}/default", **JANE)

    assert tenant.post(f"/api/v1/filters/{first['id']}/default").json()["isDefault"] is True
    answer = tenant.post(f"/api/v1/filters/{second['id']}/default")

    assert answer.status_code == 200
    assert answer.json() == {**second, "isDefault": True}
    listed = {item["name"]: item["isDefault"] for item in tenant.get("/api/v1/filters").json()["filters"]}
    assert listed == {"First": False, "Second": True}
    assert tenant.get(f"/api/v1/filters/{mine['id']}", **JANE).json()["isDefault"] is True


def test_another_owners_filter_is_404_for_every_operation(tenant: Tenant, outsider: Tenant) -> None:
    theirs = create(outsider).json()
    janes = create(tenant, "Jane's", **JANE).json()
    for filter_id, headers in ((theirs["id"], {}), (janes["id"], {}), (janes["id"], {"X-Acting-User": "bob"})):
        path = f"/api/v1/filters/{filter_id}"
        missing = [{"msg": f"No saved filter '{filter_id}' of yours.", "code": "not_found", "field": "id"}]
        assert errors_of(tenant.get(path, **headers), 404) == missing
        assert errors_of(tenant.put(path, {"name": "x", "criteria": {}}, **headers), 404) == missing
        assert errors_of(tenant.delete(path, **headers), 404) == missing
        assert errors_of(tenant.post(path + "/duplicate", {"name": "x"}, **headers), 404) == missing
        assert errors_of(tenant.post(path + "/default", **headers), 404) == missing
    assert errors_of(tenant.get("/api/v1/filters/not-a-number"), 404)[0]["code"] == "not_found"
    assert tenant.get("/api/v1/filters").json() == {"filters": []}
    assert SavedFilter.objects.filter(name="x").count() == 0
    assert not SavedFilter.objects.filter(is_default=True).exists()


def test_criteria_are_checked_as_the_query_checks_them(tenant: Tenant) -> None:
    six = [{"tag": f"t{n}", "predicate": "CONTAINS", "value": "v"} for n in range(6)]

    response = tenant.post("/api/v1/filters", {"name": "", "criteria": {"customTags": six, "status": ["done"]}})

    assert errors_of(response) == [
        {"msg": "name must be a non-empty string of at most 200 characters.", "code": "invalid", "field": "name"},
        {"msg": "status must be one of in_progress, error, completed_drop_off, completed_user_hangup, "
                "completed_ai_agent_hangup, completed, not 'done'.", "code": "invalid_choice",
         "field": "criteria.status[0]"},
        {"msg": "customTags may hold at most 5 clauses (all of them must hold).", "code": "too_many",
         "field": "criteria.customTags"},
    ]
    assert not SavedFilter.objects.exists()


def test_a_client_without_the_supervise_scope_is_403(tenant: Tenant) -> None:
    tenant.api_client.scopes = ["conversations.read"]
    tenant.api_client.save()

    assert errors_of(tenant.get("/api/v1/filters"), 403)[0]["code"] == "permission_denied"


WHOLE = (datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 10, 31, tzinfo=UTC))


def matching(tenant: Tenant, criteria: dict[str, Any] | None) -> list[str]:
    if criteria is None:
        return []
    rows = conversations_matching(account=tenant.account, start=WHOLE[0], end=WHOLE[1], criteria=criteria)
    return sorted(rows.values_list("session_id", flat=True))


def test_a_saved_filters_clauses_select_conversations_and_explicit_criteria_narrow_them(tenant: Tenant) -> None:
    a_conversation(tenant, "gold", sessionleveltags=[{"name": "plan", "value": "Gold Plus"}])
    a_conversation(tenant, "silver", userleveltags=[{"name": "plan", "value": "silver"}])
    a_conversation(tenant, "none")
    contains = {"customTags": [{"tag": "plan", "predicate": "CONTAINS", "value": "gold"}]}
    lacks = {"customTags": [{"tag": "plan", "predicate": "DOES_NOT_CONTAIN", "value": "gold"}]}
    silver = {"customTags": [{"tag": "plan", "predicate": "CONTAINS", "value": "SILV"}]}

    assert matching(tenant, contains) == ["gold"]
    assert matching(tenant, lacks) == ["none", "silver"]
    assert matching(tenant, criteria_narrowed(lacks, silver)) == ["silver"]
    assert matching(tenant, criteria_narrowed(contains, silver)) == []
    assert matching(tenant, criteria_narrowed({"ids": ["gold", "none"]}, {"ids": ["none", "silver"]})) == ["none"]
    assert criteria_narrowed({"ids": ["gold"]}, {"ids": ["silver"]}) is None
    assert criteria_narrowed({"flagged": True}, {"flagged": False}) is None
    assert criteria_narrowed({"status": ["completed"]}, {"channels": ["voice"]}) == {
        "status": ["completed"], "channels": ["voice"],
    }


QUERY = {"startDate": "2025-09-30 00:00:00", "endDate": "2025-09-30 23:59:59"}


def queried(tenant: Tenant, body: dict[str, Any], **headers: Any) -> list[str]:
    response = tenant.post("/api/v1/conversations/query", {**QUERY, "sort": "start_asc", **body}, **headers)
    assert response.status_code == 200, response.content
    return [row["sessionId"] for row in response.json()["results"]]


def exported(tenant: Tenant, body: dict[str, Any], **headers: Any) -> list[str]:
    response = tenant.post("/api/v1/conversations/export", {**QUERY, **body}, **headers)
    assert response.status_code == 200, response.content
    lines = b"".join(response.streaming_content).decode().splitlines()[1:]
    return sorted(line.split(",")[0] for line in lines)


def test_filter_id_applies_a_saved_filter_in_the_query_and_the_export_and_filters_narrow_it(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    a_conversation(tenant, "gold", sessionleveltags=[{"name": "plan", "value": "Gold"}])
    a_conversation(tenant, "gold-2", sessionleveltags=[{"name": "plan", "value": "gold"}])
    a_conversation(tenant, "plain")
    Conversation.objects.filter(session_id="gold-2").update(sentiment="negative")
    saved = create(tenant, "Gold", {"customTags": [{"tag": "plan", "predicate": "CONTAINS", "value": "gold"}]},
                   **JANE).json()

    assert queried(tenant, {}) == ["gold", "plain", "gold-2"]
    assert queried(tenant, {"filterId": saved["id"]}, **JANE) == ["gold", "gold-2"]
    assert queried(tenant, {"filterId": str(saved["id"]), "filters": {"sentiment": ["negative"]}}, **JANE) == [
        "gold-2"
    ]
    assert exported(tenant, {"filterId": saved["id"]}, **JANE) == ["gold", "gold-2"]
    assert exported(tenant, {"filterId": saved["id"], "filters": {"ids": ["gold", "plain"]}}, **JANE) == ["gold"]
    ids_only = create(tenant, "Only plain", {"ids": ["plain"]}, **JANE).json()
    assert queried(tenant, {"filterId": ids_only["id"], "filters": {"ids": ["gold"]}}, **JANE) == []
    assert exported(tenant, {"filterId": ids_only["id"], "filters": {"ids": ["gold"]}}, **JANE) == []


def test_another_owners_filter_id_is_404_in_the_query_and_the_export(tenant: Tenant, outsider: Tenant) -> None:
    theirs = create(outsider).json()
    janes = create(tenant, **JANE).json()
    for filter_id in (theirs["id"], janes["id"]):
        for path in ("/api/v1/conversations/query", "/api/v1/conversations/export"):
            response = tenant.post(path, {**QUERY, "filterId": filter_id})
            assert errors_of(response, 404) == [
                {"msg": f"No saved filter '{filter_id}' of yours.", "code": "not_found", "field": "filterId"}
            ]
    assert errors_of(tenant.post("/api/v1/conversations/query", {**QUERY, "filterId": "x1"})) == [{
        "msg": "filterId must be the id of one of your saved filters (a positive integer).", "code": "invalid",
        "field": "filterId",
    }]
    assert errors_of(tenant.post("/api/v1/conversations/export", {**QUERY, "q": "refund"})) == [{
        "msg": "The conversation export does not search: leave q out, and select the conversations with filters, "
        "filterId or sessionIds.", "code": "invalid", "field": "q",
    }]
