"""Creating, listing and reading export jobs: validation, scopes, idempotency, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from django_q.models import OrmQ

from analytics_api.models import Scope
from exports.models import ExportJob, ExportState
from tests.conftest import Tenant, make_tenant
from tests.conversations.conftest import ingest
from tests.conversations.factories import SessionRecordFactory
from tests.exports.conftest import DAY, EXPORTS, export_create, exported

BODY = {"dataset": "interactions", **DAY, "filters": {"timeZoneOffset": -330}, "format": "csv"}


def _errors(response: Any, status: int = 400) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    return response.json()["errors"]


def test_creating_an_export_answers_202_with_the_queued_job_and_queues_its_task(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = export_create(tenant, BODY)

    assert created["state"] == "queued"
    assert created["dataset"] == "interactions"
    assert (created["startDate"], created["endDate"]) == ("2025-09-30T00:00:00.000Z", "2025-09-30T23:59:59.999Z")
    assert created["filters"] == {
        "channels": [], "queues": [], "bots": [], "selectedFields": {}, "timeZoneOffset": -330,
    }
    assert (created["format"], created["compression"]) == ("csv", "none")
    assert created["progress"] == {"rows": 0, "bytes": 0}
    assert "manifest" not in created
    assert OrmQ.objects.count() == 1
    assert tenant.get(f"{EXPORTS}/{created['id']}").json() == created


def test_every_problem_of_the_body_is_reported_at_once_and_nothing_is_created(tenant: Tenant) -> None:
    body = {
        "dataset": "interactions", "startDate": "2025-01-01", "endDate": "2026-02-01", "format": "xlsx",
        "compression": "zip", "webhookUrl": "ftp://bi.example/hook",
        "filters": {"channels": ["fax"], "selectedFields": {"colour": []}, "timeZoneOffset": 9999},
    }
    errors = _errors(tenant.post(EXPORTS, body))
    assert sorted((error["field"], error["code"]) for error in errors) == [
        ("compression", "invalid_choice"),
        ("endDate", "window_too_long"),
        ("filters.channels", "invalid_channel"),
        ("filters.selectedFields.colour", "invalid_selected_fields"),
        ("filters.timeZoneOffset", "invalid_offset"),
        ("format", "invalid_choice"),
        ("webhookUrl", "invalid"),
    ]
    messages = {error["field"]: error["msg"] for error in errors}
    assert messages["endDate"] == (
        "The window is 396 days long; an export covers at most 366 days: split it into several exports."
    )
    assert messages["format"] == "format must be ndjson, csv or parquet, not 'xlsx'."
    assert messages["webhookUrl"] == "A webhook URL must be an http or https address."
    assert not ExportJob.objects.exists()


def test_a_window_of_366_days_is_accepted(tenant: Tenant) -> None:
    export_create(tenant, {"dataset": "interactions", "startDate": "2024-01-01", "endDate": "2024-12-31"})


@pytest.mark.parametrize(
    ("body", "field", "msg", "code"),
    [
        ({}, "dataset", "dataset is required: one of interactions, calldetails, qa_contacts, conversations, "
         "transcripts, events.", "required"),
        ({"dataset": "calls"}, "dataset", "Unknown dataset 'calls': choose one of interactions, calldetails, "
         "qa_contacts, conversations, transcripts, events.", "invalid_choice"),
        ({"dataset": "conversations", **DAY, "filters": {"colour": []}}, "filters.colour",
         "Unknown criterion 'colour': use ids, queues, channels, agents, status, csat, flagged, sentiment, "
         "customTags.", "unknown_field"),
        ({"dataset": "interactions", "endDate": "2025-09-30"}, "startDate",
         "startDate is required (UTC, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS).", "required"),
        ({"dataset": "interactions", "startDate": "2025-10-02", "endDate": "2025-10-01"}, "endDate",
         "endDate is before startDate.", "invalid_window"),
        ({"dataset": "qa_contacts", **DAY, "filters": {"contact_direction": "sideways"}},
         "filters.contact_direction", "contact_direction must be inbound or outbound.", "invalid_choice"),
    ],
)
def test_a_wrong_field_is_named(tenant: Tenant, body: dict, field: str, msg: str, code: str) -> None:
    errors = _errors(tenant.post(EXPORTS, body))
    assert {"field": field, "msg": msg, "code": code} in errors


def test_an_unknown_stream_is_404(tenant: Tenant, outsider: Tenant) -> None:
    body = {"dataset": "qa_contacts", **DAY, "filters": {"streamId": outsider.bot.bot_id}}
    assert _errors(tenant.post(EXPORTS, body), 404) == [{
        "msg": f"No bot or app {outsider.bot.bot_id!r} in this account.", "code": "not_found",
        "field": "filters.streamId",
    }]


def test_the_exports_scope_and_the_datasets_read_scope_are_both_needed(db: Any) -> None:
    no_exports = make_tenant(scopes=[Scope.ANALYTICS.value])
    assert _errors(no_exports.post(EXPORTS, BODY), 403) == [
        {"msg": "This API client lacks the scope 'exports'.", "code": "permission_denied"}
    ]
    no_rawdata = make_tenant(scopes=[Scope.EXPORTS.value, Scope.ANALYTICS.value])
    export_create(no_rawdata, BODY)
    body = {"dataset": "qa_contacts", **DAY}
    assert _errors(no_rawdata.post(EXPORTS, body), 403) == [{
        "msg": "This API client lacks the scope 'qualityai.analytics', which the qa_contacts dataset needs.",
        "code": "permission_denied", "field": "dataset",
    }]
    assert ExportJob.objects.count() == 1


def test_the_same_idempotency_key_and_body_give_the_same_job(tenant: Tenant) -> None:
    first = export_create(tenant, BODY, **{"Idempotency-Key": "nightly-2025-09-30"})
    # The same request, its fields in another order and spelled differently (same normalised body).
    again = export_create(tenant, {**BODY, "filters": {"timeZoneOffset": "-330"}}, **{"Idempotency-Key":
                                                                                      "nightly-2025-09-30"})
    assert again["id"] == first["id"]
    assert ExportJob.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_422(tenant: Tenant) -> None:
    export_create(tenant, BODY, **{"Idempotency-Key": "nightly-2025-09-30"})
    errors = _errors(tenant.post(EXPORTS, {**BODY, "format": "parquet"}, **{"Idempotency-Key": "nightly-2025-09-30"}),
                     422)
    assert errors == [{
        "msg": "This Idempotency-Key was already used for an export with a different request body; send the same "
               "body to get that export, or use a new key for a new export.",
        "code": "idempotency_key_reused", "field": "Idempotency-Key",
    }]
    assert ExportJob.objects.count() == 1


def test_idempotency_keys_are_per_account(tenant: Tenant, outsider: Tenant) -> None:
    mine = export_create(tenant, BODY, **{"Idempotency-Key": "k"})
    theirs = export_create(outsider, {**BODY, "format": "parquet"}, **{"Idempotency-Key": "k"})
    assert mine["id"] != theirs["id"]


def test_another_accounts_job_and_files_are_404(tenant: Tenant, outsider: Tenant) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    document = exported(tenant, BODY)
    path = f"{EXPORTS}/{document['id']}"
    expected = [{"msg": f"No export {document['id']!r} in this account.", "code": "not_found", "field": "id"}]
    assert _errors(outsider.get(path), 404) == expected
    assert _errors(outsider.get(f"{path}/files/1"), 404) == expected
    assert _errors(outsider.http.delete(path, headers={"auth": outsider.token()}), 404) == expected
    assert outsider.get(EXPORTS).json() == {"exports": []}
    assert ExportJob.objects.get(public_id=document["id"]).state == ExportState.COMPLETED
    assert _errors(tenant.get(f"{EXPORTS}/not-a-uuid"), 404)[0]["code"] == "not_found"


def test_the_list_is_newest_first_capped_and_a_constant_number_of_queries(
    tenant: Tenant, django_assert_num_queries: Any
) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    ids = [exported(tenant, BODY)["id"] for _ in range(3)] + [export_create(tenant, BODY)["id"]]
    tenant.get(EXPORTS)
    with django_assert_num_queries(2):  # the jobs, the files of the completed ones (the client is cached)
        listed = tenant.get(f"{EXPORTS}?limit=3").json()["exports"]
    assert [job["id"] for job in listed] == list(reversed(ids))[:3]
    assert [len(job.get("manifest", {}).get("files", [])) for job in listed] == [0, 1, 1]
    errors = _errors(tenant.get(f"{EXPORTS}?limit=101"))
    assert [error["field"] for error in errors] == ["limit"]
