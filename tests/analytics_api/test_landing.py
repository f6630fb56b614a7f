"""``/``: a person who opens the server in a browser finds the docs, not a JSON 404."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client


def test_the_root_is_an_html_page_linking_the_docs_schema_and_health(db: Any) -> None:
    client = Client()
    page = client.get("/")

    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    links = re.findall(r'href="([^"]+)"', page.content.decode())
    assert links == ["/api/docs/", "/api/redoc/", "/api/schema/", "/api/schema/?format=json", "/api/health"]
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_landing_page_loads_nothing_from_elsewhere(db: Any) -> None:
    text = Client().get("/").content.decode()
    assert "<script" not in text
    assert "http://" not in text and "https://" not in text


def test_a_post_to_the_root_is_a_405_envelope_naming_get(db: Any) -> None:
    response = Client().post("/")

    assert response.status_code == 405
    assert response.json() == {"errors": [{"msg": "POST is not allowed here; use GET.", "code": "method_not_allowed"}]}
    assert response["Allow"] == "GET, HEAD"
