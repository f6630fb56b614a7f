from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import OpenAPIV30SpecValidator
from openapi_spec_validator.readers import read_from_filename

from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.kernel.openapi import OPERATION_ID, Tag, schema_conventions
from qualityai.serializers import MAX_FILTER_KEYS, MAX_FILTER_VALUES

SCHEMA = Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml"
EXTERNAL = re.compile(r"""(?:src|href)=["']?(https?:)?//(?!testserver)""", re.IGNORECASE)


def test_committed_schema_is_current(tmp_path: Path) -> None:
    generated = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(generated), "--validate")
    assert SCHEMA.read_text() == generated.read_text(), "openapi/schema.yaml is stale: run `make schema`"


@pytest.mark.django_db
def test_schema_json_is_served(anonymous: Any) -> None:
    response = anonymous.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "jwtAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_render_and_load_nothing_from_outside(page: str) -> None:
    client = Client()
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "fonts.googleapis" not in html
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html)
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_committed_schema_passes_openapi_spec_validator() -> None:
    # It once did not: notificationEmail declared format: email with a default of "".
    spec, _url = read_from_filename(str(SCHEMA))
    assert [str(error) for error in OpenAPIV30SpecValidator(spec).iter_errors()] == []


AUTHENTICATED = {"401", "403", "405", "406", "429", "503"}
WITH_BODY = AUTHENTICATED | {"400", "413", "415"}
# Every status each operation can answer, and only those.
STATUSES = {
    ("get", "/api/health"): {"200", "405", "406", "503"},
    ("get", "/api/health/ready"): {"200", "405", "406", "503"},
    ("post", "/agentassist/api/public/analytics/account/{accountId}/v2/interactionDetails"): WITH_BODY | {"200", "404"},
    ("post", "/agentassist/api/public/analytics/account/{accountId}/v2/calldetails"): WITH_BODY | {"200", "404"},
    ("post", "/api/v1/ingest/interactions"): WITH_BODY | {"200"},
    ("post", "/api/v1/ingest/conversations"): WITH_BODY | {"200"},
    ("post", "/qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata"): WITH_BODY | {"200", "404"},
    ("post", "/api/v1/ingest/qualityai/{streamId}/contacts"): WITH_BODY | {"200", "404"},
    ("get", "/api/v1/recordings/{conversationId}"): AUTHENTICATED | {"200", "404"},
    # The download forces content negotiation: whatever a player accepts, never a 406.
    ("get", "/api/v1/recordings/{conversationId}/download"): AUTHENTICATED - {"406"}
    | {"200", "302", "400", "404", "409", "410"},
    ("post", "/api/v1/recordings/{conversationId}/retry"): AUTHENTICATED | {"202", "404", "409"},
    ("get", "/api/v1/settings/retention"): AUTHENTICATED | {"200"},
    ("put", "/api/v1/settings/retention"): WITH_BODY | {"200"},
    ("get", "/api/v1/settings/audit-log"): AUTHENTICATED | {"200", "400"},
    ("get", "/api/v1/changes"): AUTHENTICATED | {"200", "400", "410"},
    ("post", "/api/v1/counts"): WITH_BODY | {"200"},
    ("get", "/api/v1/settings/privacy"): AUTHENTICATED | {"200"},
    ("put", "/api/v1/settings/privacy"): WITH_BODY | {"200"},
    ("put", "/api/v1/conversations/{sessionId}/dispositions"): WITH_BODY | {"200", "404", "409"},
    ("get", "/api/v1/conversations/{sessionId}/dispositions/log"): AUTHENTICATED | {"200", "404"},
    ("post", "/api/v1/conversations/{sessionId}/flags"): WITH_BODY | {"201", "404"},
    ("delete", "/api/v1/conversations/{sessionId}/flags/{flagId}"): AUTHENTICATED | {"204", "400", "404"},
    ("delete", "/api/v1/conversations/{sessionId}"): AUTHENTICATED | {"204", "400", "404"},
    ("post", "/api/v1/privacy/erasures"): WITH_BODY | {"200"},
    ("get", "/api/v1/filters"): AUTHENTICATED | {"200", "400"},
    ("post", "/api/v1/filters"): WITH_BODY | {"201", "409"},
    ("get", "/api/v1/filters/{filterId}"): AUTHENTICATED | {"200", "400", "404"},
    ("put", "/api/v1/filters/{filterId}"): WITH_BODY | {"200", "404", "409"},
    ("delete", "/api/v1/filters/{filterId}"): AUTHENTICATED | {"204", "400", "404"},
    ("post", "/api/v1/filters/{filterId}/duplicate"): WITH_BODY | {"201", "404", "409"},
    ("post", "/api/v1/filters/{filterId}/default"): AUTHENTICATED | {"200", "400", "404"},
    ("post", "/api/v1/conversations/export-transcripts"): WITH_BODY | {"200"},
    ("post", "/api/v1/conversations/export"): WITH_BODY | {"200", "404"},
    ("get", "/api/v1/conversations/search-history"): AUTHENTICATED | {"200", "400"},
    ("delete", "/api/v1/conversations/search-history"): AUTHENTICATED | {"204", "400"},
    ("post", "/api/v1/exports"): WITH_BODY | {"202", "404", "422"},
    ("get", "/api/v1/exports"): AUTHENTICATED | {"200", "400"},
    ("get", "/api/v1/exports/{exportId}"): AUTHENTICATED | {"200", "404"},
    ("delete", "/api/v1/exports/{exportId}"): AUTHENTICATED | {"200", "204", "404"},
    # Files force content negotiation (download tools accept anything): never a 406.
    ("get", "/api/v1/exports/{exportId}/files/{n}"): AUTHENTICATED - {"406"}
    | {"200", "206", "302", "404", "409", "410", "416"},
    # 404: a filterId that is not the caller's.
    ("post", "/api/v1/conversations/query"): WITH_BODY | {"200", "404"},
    # Captures are downloaded whatever the Accept header: negotiation is forced, never a 406.
    ("get", "/api/v1/conversations/{sessionId}/diagnostics"): AUTHENTICATED - {"406"} | {"200", "400", "404", "409"},
    ("get", "/api/v1/conversations/{sessionId}"): AUTHENTICATED | {"200", "404"},
    # Downloads too (?format=csv): content negotiation is forced, never a 406.
    ("get", "/api/v1/conversations/{sessionId}/transcript"): AUTHENTICATED - {"406"} | {"200", "400", "404"},
    ("get", "/api/v1/conversations/{sessionId}/events"): AUTHENTICATED - {"406"} | {"200", "400", "404", "410"},
    ("get", "/api/v1/conversations/{sessionId}/latency"): AUTHENTICATED - {"406"} | {"200", "400", "404"},
}


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def test_every_operation_documents_every_status_it_can_answer(committed: dict[str, Any]) -> None:
    documented = {
        (method, path): set(operation["responses"])
        for path, methods in committed["paths"].items()
        for method, operation in methods.items()
    }
    assert documented == STATUSES


def test_every_error_is_the_one_envelope_and_waits_are_announced(committed: dict[str, Any]) -> None:
    components = committed["components"]["schemas"]
    assert [name for name, component in components.items() if "msg" in component.get("properties", {})] == [
        "ErrorItem"
    ]
    for component in components.values():
        if "errors" in component.get("properties", {}):
            assert component["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ErrorItem"}
    for path, methods in committed["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, status)
                if status in {"429", "503"}:
                    assert response["headers"]["Retry-After"]["required"] is True, (method, path, status)


def test_one_tag_per_area_and_lower_camel_case_operation_ids(committed: dict[str, Any]) -> None:
    operations = [operation for methods in committed["paths"].values() for operation in methods.values()]
    assert {tag for operation in operations for tag in operation["tags"]} == {tag.value for tag in Tag}
    assert [tag["name"] for tag in committed["tags"]] == [tag.value for tag in Tag]
    assert all(OPERATION_ID.match(operation["operationId"]) for operation in operations)


def test_a_schema_breaking_the_conventions_is_refused() -> None:
    operation = {"operationId": "api_v1_recordings_retrieve", "tags": ["recordings"]}
    with pytest.raises(ValueError, match="not lowerCamelCase"):
        schema_conventions({"paths": {"/x": {"get": operation}}})
    with pytest.raises(ValueError, match="tags"):
        schema_conventions({"paths": {"/x": {"get": {"operationId": "getX", "tags": ["Ingestion"]}}}})


def test_limits_in_descriptions_come_from_the_code(committed: dict[str, Any]) -> None:
    rawdata = committed["paths"]["/qualityai/api/v1/public/qualitymanagement/app/{streamId}/rawdata"]["post"]
    text = " ".join(rawdata["description"].split())
    assert f"at most {MAX_FILTER_KEYS} keys of at most {MAX_FILTER_VALUES} values" in text
    assert f"1 to {MAX_BATCH:,} records" in committed["paths"]["/api/v1/ingest/interactions"]["post"]["description"]
