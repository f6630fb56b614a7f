"""/metrics: each family appears and moves on its event; labels never carry ids; who may read it."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django_q.tasks import async_task
from redis.exceptions import ConnectionError as RedisConnectionError

from analytics_api.kernel.openapi import OPERATION_ID
from analytics_api.tenancy.services import jwt_mint
from recordings.models import Recording, RecordingState
from tests.conftest import Tenant
from tests.metrics import moved, scrape
from tools.harness.server import free_port

DETAILS = "/agentassist/api/public/analytics/account/{}/v2/interactionDetails"
INGEST = "/api/v1/ingest/interactions"
WINDOW = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}
# Names the request metrics give requests that no documented operation answered.
REQUESTS = "analytics_http_requests_total"
FIXED_OPERATIONS = {"unrouted", "static", "admin", "unnamed", "metrics", "landing", "schema", "swagger-ui", "redoc"}


def record(tenant: Tenant, session_id: str) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "conversationId": f"conv-{session_id}",
        "channel": "rtm",
        "botId": tenant.bot.bot_id,
        "sessionStartTime": "2025-09-30T06:00:00Z",
        "sessionEndTime": "2025-09-30T06:10:00Z",
    }


def test_a_request_counts_under_its_operation_id_and_status_class(tenant: Tenant) -> None:
    before = scrape()
    answer = tenant.post(DETAILS.format(tenant.account_id), WINDOW)
    assert answer.status_code == 200, answer.content
    after = scrape()
    assert moved(before, after, REQUESTS, operation="interactionDetails", status_class="2xx") == 1
    assert moved(
        before, after, "analytics_http_request_duration_seconds_count",
        operation="interactionDetails", status_class="2xx",
    ) == 1
    assert after.value(
        "analytics_http_request_duration_seconds_bucket", operation="interactionDetails", status_class="2xx",
        le="+Inf",
    ) >= 1


def test_the_case_variant_path_counts_under_the_same_operation(tenant: Tenant) -> None:
    before = scrape()
    tenant.post(DETAILS.format(tenant.account_id).replace("interactionDetails", "INTERACTIONDETAILS"), WINDOW)
    assert moved(
        before, scrape(), "analytics_http_requests_total", operation="interactionDetails", status_class="2xx"
    ) == 1


def test_a_429_counts_a_rate_limit_refusal(tenant: Tenant) -> None:
    tenant.api_client.rate_limit_per_minute = 1
    tenant.api_client.save()
    before = scrape()
    statuses = [tenant.post(DETAILS.format(tenant.account_id), WINDOW).status_code for _ in range(2)]
    assert statuses == [200, 429]
    after = scrape()
    assert moved(before, after, "analytics_rate_limited_total", reason="client_minute") == 1
    assert moved(before, after, REQUESTS, operation="interactionDetails", status_class="4xx") == 1


def test_authentication_failures_count_by_reason(tenant: Tenant, anonymous: Client) -> None:
    before = scrape()
    path = DETAILS.format(tenant.account_id)
    assert anonymous.post(path, WINDOW, content_type="application/json").status_code == 401
    forged = jwt_mint(client=tenant.api_client).rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    for token in ("nonsense", forged):
        assert anonymous.post(path, WINDOW, content_type="application/json", headers={"auth": token}).status_code == 401
    after = scrape()
    assert moved(before, after, "analytics_auth_failures_total", reason="missing") == 1
    assert moved(before, after, "analytics_auth_failures_total", reason="malformed") == 1
    assert moved(before, after, "analytics_auth_failures_total", reason="bad_signature") == 1


def test_too_many_failed_authentications_count_as_a_rate_limit_refusal(
    tenant: Tenant, anonymous: Client, settings: Any
) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 1
    before = scrape()
    statuses = [
        anonymous.get(f"/api/v1/recordings/c1?accountId={tenant.account_id}", headers={"auth": "x"}).status_code
        for _ in range(2)
    ]
    assert statuses == [401, 429]
    assert moved(before, scrape(), "analytics_rate_limited_total", reason="auth_failures") == 1


def test_ingestion_counts_accepted_and_rejected_records_per_dataset(tenant: Tenant) -> None:
    before = scrape()
    answer = tenant.post(INGEST, {"records": [record(tenant, "s-1"), record(tenant, "s-2"), {"sessionId": 5}]})
    assert answer.status_code == 200, answer.content
    assert [item["index"] for item in answer.json()["rejected"]] == [2], answer.json()
    after = scrape()
    assert moved(before, after, "analytics_ingested_records_total", dataset="interactions", outcome="accepted") == 2
    assert moved(before, after, "analytics_ingested_records_total", dataset="interactions", outcome="rejected") == 1


def test_quality_ai_ingestion_counts_under_its_dataset(tenant: Tenant) -> None:
    before = scrape()
    answer = tenant.post(f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts", {"records": [{}]})
    assert answer.status_code == 200, answer.content
    assert moved(before, scrape(), "analytics_ingested_records_total", dataset="qa_contacts", outcome="rejected") == 1


def test_queue_depth_counts_tasks_waiting_in_the_broker(db: Any) -> None:
    before = scrape()
    async_task("recordings.tasks.recordings_sweep")
    async_task("recordings.tasks.recordings_sweep")
    assert moved(before, scrape(), "analytics_task_queue_depth") == 2


def test_task_outcomes_count_per_task_function(db: Any) -> None:
    before = scrape()
    async_task("recordings.tasks.recordings_sweep", sync=True)
    with pytest.raises(ValueError):
        async_task("recordings.tasks.recording_files_fetch_now", "not a list of ids", sync=True)
    after = scrape()
    sweep = "recordings.tasks.recordings_sweep"
    assert moved(before, after, "analytics_tasks_total", task=sweep, outcome="success") == 1
    assert moved(
        before, after, "analytics_tasks_total", task="recordings.tasks.recording_files_fetch_now", outcome="failure"
    ) == 1
    assert moved(before, after, "analytics_task_duration_seconds_count", task="recordings.tasks.recordings_sweep") == 1


def test_recordings_gauge_counts_each_working_and_failed_state(tenant: Tenant) -> None:
    before = scrape()
    for number, state in enumerate([RecordingState.INITIAL_FETCH_FAILED] * 2 + [RecordingState.MEDIA_IN_PROGRESS]):
        Recording.objects.create(account=tenant.account, conversation_id=f"c{number}", state=state)
    after = scrape()
    assert moved(before, after, "analytics_recordings", state="initial_fetch_failed") == 2
    assert moved(before, after, "analytics_recordings", state="media_in_progress") == 1
    assert ("analytics_recordings", frozenset({("state", "24hr_retry_failed")})) in after.samples
    assert ("analytics_recordings", frozenset({("state", "available")})) not in after.samples


def test_database_and_redis_errors_count_when_a_request_answers_503(tenant: Tenant, monkeypatch: Any) -> None:
    before = scrape()
    path = DETAILS.format(tenant.account_id)
    lost = OperationalError("server closed the connection")
    monkeypatch.setattr("conversations.views.interaction_page", _raise(lost))
    assert tenant.post(path, WINDOW).status_code == 503
    redis_down = _raise(RedisConnectionError("refused"))
    monkeypatch.setattr("analytics_api.tenancy.auth.window_counts_reading", redis_down)
    monkeypatch.setattr("analytics_api.tenancy.throttling.window_counts", redis_down)
    assert tenant.post(path, WINDOW).status_code == 503
    after = scrape()
    assert moved(before, after, "analytics_dependency_errors_total", dependency="database") == 1
    assert moved(before, after, "analytics_dependency_errors_total", dependency="redis") == 1


def _raise(error: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def test_dependency_gauge_reports_each_backing_service(db: Any) -> None:
    after = scrape()
    assert after.value("analytics_dependency_up", dependency="database") == 1
    assert after.value("analytics_dependency_up", dependency="storage") == 1
    assert ("analytics_task_queue_depth", frozenset()) in after.samples


def test_a_service_down_is_0_and_the_gauges_needing_it_are_left_out(db: Any, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    after = scrape()
    assert after.value("analytics_dependency_up", dependency="redis") == 0
    assert after.value("analytics_dependency_up", dependency="database") == 1
    assert ("analytics_task_queue_depth", frozenset()) not in after.samples
    assert ("analytics_recordings", frozenset({("state", "failed")})) in after.samples


def test_label_values_never_carry_ids_or_paths(tenant: Tenant, anonymous: Client) -> None:
    tenant.post(INGEST, {"records": [record(tenant, "sess-label-probe")]})
    tenant.post(DETAILS.format(tenant.account_id), WINDOW)
    tenant.get(f"/api/v1/recordings/conv-sess-label-probe?accountId={tenant.account_id}")
    tenant.get(f"/api/v1/recordings/no-such-{tenant.account_id}/download?accountId={tenant.account_id}")
    anonymous.get(f"/no/such/path/{tenant.account_id}")
    anonymous.generic("BREW", f"/api/v1/recordings/{tenant.account_id}")
    after = scrape()
    ids = (tenant.account_id, tenant.bot.bot_id, tenant.api_client.client_id, "sess-label-probe", "BREW")
    assert not [value for value in after.label_values() if any(part in value for part in ids) or "/" in value]
    operations = {dict(labels)["operation"] for name, labels in after.samples if name == REQUESTS}
    assert {"interactionDetails", "ingestInteractions", "getRecording", "unrouted"} <= operations
    assert all(OPERATION_ID.match(name) or name in FIXED_OPERATIONS or re.fullmatch(r"[a-z-]+", name)
               for name in operations), operations


def test_metrics_are_refused_to_an_api_clients_token(tenant: Tenant) -> None:
    answer = Client(REMOTE_ADDR="203.0.113.7").get(
        "/metrics", headers={"Authorization": f"Bearer {tenant.token()}"}
    )
    assert answer.status_code == 403
    assert answer.json() == {"errors": [{
        "msg": "Metrics are served only to the networks of METRICS_ALLOWED_NETS, or with "
        "Authorization: Bearer <METRICS_TOKEN>.",
        "code": "metrics_forbidden",
    }]}
    assert b"analytics_" not in answer.content


def test_metrics_are_refused_to_an_address_outside_the_allowed_networks(db: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "operator-secret-0123456789"
    outside = Client(REMOTE_ADDR="203.0.113.7")
    assert outside.get("/metrics").status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong-secret-0123456789"}).status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


def test_the_metrics_token_opens_metrics_from_anywhere(db: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "operator-secret-0123456789"
    answer = Client(REMOTE_ADDR="203.0.113.7").get(
        "/metrics", headers={"Authorization": "Bearer operator-secret-0123456789"}
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")


def test_an_allowed_network_opens_metrics_and_nothing_else_does(db: Any, settings: Any) -> None:
    settings.METRICS_ALLOWED_NETS = [ipaddress.ip_network("10.1.0.0/16")]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403


def test_metrics_take_get_only(db: Any) -> None:
    answer = Client().post("/metrics")
    assert answer.status_code == 405
    assert answer.json()["errors"][0]["msg"] == "POST is not allowed here; use GET."
