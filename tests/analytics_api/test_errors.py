from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from analytics_api.kernel.errors import flatten_validation_errors
from tests.analytics_api import probe_urls
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def test_unknown_path_is_404_envelope(anonymous: Any) -> None:
    response = anonymous.get("/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "errors": [{"msg": "No endpoint at /no/such/thing. See /api/docs/ for the list of endpoints.",
                    "code": "not_found"}]
    }


def test_wrong_method_is_405_envelope(tenant: Tenant) -> None:
    response = tenant.http.delete("/api/health")
    assert response.status_code == 405
    assert response.json() == {
        "errors": [{"msg": "DELETE is not allowed here; use GET.", "code": "method_not_allowed"}]
    }
    assert response["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize(
    ("method", "path", "msg", "allow"),
    [
        ("get", "/api/v1/ingest/interactions", "GET is not allowed here; use POST.", "POST, OPTIONS"),
        ("get", "/agentassist/api/public/analytics/account/{account}/v2/interactionDetails",
         "GET is not allowed here; use POST.", "POST, OPTIONS"),
        ("put", "/qualityai/api/v1/public/qualitymanagement/app/{bot}/rawdata",
         "PUT is not allowed here; use POST.", "POST, OPTIONS"),
        ("post", "/api/v1/settings/retention", "POST is not allowed here; use GET or PUT.", "GET, PUT, HEAD, OPTIONS"),
        ("delete", "/api/v1/recordings/c-1", "DELETE is not allowed here; use GET.", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_wrong_method_names_the_methods_to_use_and_sends_allow(
    tenant: Tenant, method: str, path: str, msg: str, allow: str
) -> None:
    url = path.format(account=tenant.account_id, bot=tenant.bot.bot_id)
    response = getattr(tenant.http, method)(url, headers={"auth": tenant.token()})

    assert response.status_code == 405
    assert response.json() == {"errors": [{"msg": msg, "code": "method_not_allowed"}]}
    assert response["Allow"] == allow


@pytest.mark.parametrize("accept", ["text/html", ""])
def test_accept_header_excluding_json_is_406_envelope(tenant: Tenant, accept: str) -> None:
    # Content negotiation refuses it before the view runs; the schema documents this 406.
    response = tenant.get("/api/v1/settings/retention", Accept=accept)
    assert response.status_code == 406
    assert response.json() == {
        "errors": [{"msg": "This API answers in JSON only: accept application/json.", "code": "not_acceptable"}]
    }


def test_oversized_body_is_413_envelope(tenant: Tenant, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 2048
    response = tenant.http.post("/api/health", "x" * 4096, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "body_too_large"
    assert "the limit is 2048 bytes" in response.json()["errors"][0]["msg"]


def test_request_id_is_echoed_or_generated(anonymous: Any) -> None:
    echoed = anonymous.get("/api/health", headers={"x-request-id": "abc-123"})
    assert echoed["x-request-id"] == "abc-123"
    generated = anonymous.get("/api/health")
    assert len(generated["x-request-id"]) == 36
    hostile = anonymous.get("/api/health", headers={"x-request-id": "bad\nid <script>"})
    assert hostile["x-request-id"] != "bad\nid <script>"


def test_security_headers_are_on_every_response(anonymous: Any) -> None:
    response = anonymous.get("/no/such/thing")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_malformed_json_is_400_envelope(tenant: Tenant, probe: None) -> None:
    response = tenant.http.post(
        f"/probe/{tenant.account_id}", '{"startDate": ', content_type="application/json",
        headers={"auth": tenant.token()},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "malformed_json"
    assert error["msg"].startswith("The request body is not valid JSON: JSON parse error")


def test_nan_is_rejected_as_malformed_json(tenant: Tenant, probe: None) -> None:
    response = tenant.http.post(
        f"/probe/{tenant.account_id}", '{"limit": NaN}', content_type="application/json",
        headers={"auth": tenant.token()},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "malformed_json"


def test_non_json_body_is_415_envelope(tenant: Tenant, probe: None) -> None:
    response = tenant.http.post(
        f"/probe/{tenant.account_id}", "a=b", content_type="application/x-www-form-urlencoded",
        headers={"auth": tenant.token()},
    )
    assert response.status_code == 415
    assert response.json() == {
        "errors": [{"msg": "Send the body as JSON with the header Content-Type: application/json.",
                    "code": "unsupported_media_type"}]
    }


def test_rate_limit_is_429_with_retry_after(tenant: Tenant, probe: None) -> None:
    tenant.api_client.rate_limit_per_minute = 2
    tenant.api_client.save()
    statuses = [tenant.post(f"/probe/{tenant.account_id}", {}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = tenant.post(f"/probe/{tenant.account_id}", {})
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["errors"][0]["code"] == "rate_limited"
    assert limited.json()["errors"][0]["msg"].startswith("Rate limit exceeded for this client: retry in ")


def test_rate_limit_is_per_client(tenant: Tenant, outsider: Tenant, probe: None) -> None:
    tenant.api_client.rate_limit_per_minute = 1
    tenant.api_client.save()
    assert tenant.post(f"/probe/{tenant.account_id}", {}).status_code == 200
    assert tenant.post(f"/probe/{tenant.account_id}", {}).status_code == 429
    assert outsider.post(f"/probe/{outsider.account_id}", {}).status_code == 200


def test_health_reports_ok(anonymous: Any) -> None:
    response = anonymous.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_database_outage_is_503_with_retry_after(tenant: Tenant, probe: None, monkeypatch: Any) -> None:
    def down(self: Any, request: Any, account_id: str) -> Any:
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(probe_urls.AccountProbeView, "post", down)
    response = tenant.post(f"/probe/{tenant.account_id}", {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": [{"msg": "A backing service (database or cache) is unavailable; retry shortly.",
                    "code": "dependency_unavailable"}]
    }


def test_list_item_errors_are_named_with_their_index() -> None:
    detail = {"queues": {1: ["Not a valid string."]}, "selectedFields": {"skills": ["Bad."]}}
    assert flatten_validation_errors(detail) == [
        {"msg": "Not a valid string.", "code": "invalid", "field": "queues[1]"},
        {"msg": "Bad.", "code": "invalid", "field": "selectedFields.skills"},
    ]
