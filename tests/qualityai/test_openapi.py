"""The Quality AI endpoints are documented: summary, description, parameters and examples."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

RAWDATA = "/qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata"
INGEST = "/api/v1/ingest/qualityai/{streamId}/contacts"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("path", [RAWDATA, INGEST])
def test_operation_has_summary_description_and_examples(schema: dict[str, Any], path: str) -> None:
    operation = schema["paths"][path]["post"]

    assert operation["summary"]
    assert len(operation["description"]) > 300
    assert operation["requestBody"]["content"]["application/json"]["examples"]
    assert operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert {"400", "401", "403", "404"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == {"streamId"}


def test_rawdata_documents_the_required_headers_and_the_paging_rule(schema: dict[str, Any]) -> None:
    operation = schema["paths"][RAWDATA]["post"]

    headers = {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"accountId": True, "orgId": True}
    assert "offset + (page − 1) × limit" in operation["description"]
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]["APage"]["value"]
    assert set(example) == {"results", "totalResults", "hasMore", "totalPages"}
    assert "Conversation ID" in example["results"][0]
