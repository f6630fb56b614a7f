from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

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
