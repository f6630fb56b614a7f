"""Every conversations endpoint is documented with its rules and examples."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

ACCOUNT = "/agentassist/api/public/analytics/account/{accountId}/v2/"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(
    "path", [ACCOUNT + "interactionDetails", ACCOUNT + "calldetails", "/api/v1/ingest/interactions"]
)
def test_endpoint_has_summary_description_and_examples(schema: dict[str, Any], path: str) -> None:
    operation = schema["paths"][path]["post"]
    assert operation["summary"]
    assert len(operation["description"]) > 500
    assert operation["requestBody"]["content"]["application/json"]["examples"]
    assert operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert "400" in operation["responses"]


def test_read_endpoints_document_their_query_and_header_parameters(schema: dict[str, Any]) -> None:
    operation = schema["paths"][ACCOUNT + "interactionDetails"]["post"]
    names = {(parameter["in"], parameter["name"]) for parameter in operation["parameters"]}
    assert {("path", "accountId"), ("query", "limit"), ("query", "offset"), ("header", "IId"),
            ("header", "x-timezone-offset")} <= names
    assert "7 × 24 hours" in operation["description"]


def test_the_account_header_is_described_but_not_a_second_account_parameter(schema: dict[str, Any]) -> None:
    # It can only repeat the path's accountId; as a parameter too, a generated client would take
    # account_id_path and account_id_header for one value.
    for name in ("interactionDetails", "calldetails"):
        operation = schema["paths"][ACCOUNT + name]["post"]
        assert [p["in"] for p in operation["parameters"] if p["name"] == "accountId"] == ["path"]
        assert "An `accountId` header is accepted too" in operation["description"]


def test_case_variants_of_the_path_are_not_listed_twice(schema: dict[str, Any]) -> None:
    assert [path for path in schema["paths"] if "/v2/" in path] == [
        ACCOUNT + "interactionDetails", ACCOUNT + "calldetails"
    ]
