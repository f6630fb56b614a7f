from __future__ import annotations

from typing import Any

import pytest

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
    assert response.json() == {"errors": [{"msg": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}]}


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
