"""Content-Security-Policy, HSTS and Referrer-Policy on the API, the docs, the schema and the admin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analytics_api.middleware import PAGE_CSP, RESOURCE_CSP
from tests.browser import CHROMIUM, Browser
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

INTERACTIONS = "/agentassist/api/public/analytics/account/{}/v2/interactionDetails"
STATIC_SCRIPT = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
HSTS = "max-age=31536000"


def _requests(tenant: Tenant) -> dict[str, Any]:
    """One request per kind of answer, each made over HTTPS; name -> (response, expected status)."""
    client = Client()
    token = tenant.token()
    return {
        "json api": (client.get("/api/health", secure=True), 200),
        "json api client error": (
            client.post(INTERACTIONS.format(tenant.account_id), {}, content_type="application/json",
                        headers={"auth": token}, secure=True), 400,
        ),
        "unknown path": (client.get("/no/such/thing", secure=True), 404),
        "body refused before any view": (
            client.post("/api/health", "x" * 17 * 1024 * 1024, content_type="application/json", secure=True), 413,
        ),
        "schema": (client.get("/api/schema/", secure=True), 200),
        "swagger docs": (client.get("/api/docs/", secure=True), 200),
        "redoc docs": (client.get("/api/redoc/", secure=True), 200),
        "docs script": (client.get(STATIC_SCRIPT, secure=True), 200),
        "admin login": (client.get("/admin/login/", secure=True), 200),
    }


def _page_csp(response: Any) -> str:
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert nonce, response["Content-Security-Policy"]
    return PAGE_CSP.format(nonce=nonce.group(1))


def test_every_answer_carries_csp_hsts_and_referrer_policy(tenant: Tenant) -> None:
    pages: set[str] = set()
    for name, (response, status) in _requests(tenant).items():
        assert response.status_code == status, name
        assert response["Strict-Transport-Security"] == HSTS, name
        assert response["X-Content-Type-Options"] == "nosniff", name
        is_page = response["Content-Type"].startswith("text/html")
        if is_page:
            pages.add(name)
        expected_csp = _page_csp(response) if is_page else RESOURCE_CSP
        assert response["Content-Security-Policy"] == expected_csp, name
        # The admin keeps same-origin: under no-referrer a browser posts its login form with
        # "Origin: null", which Django's CSRF check refuses (test_the_admin_login_works_in_a_browser).
        expected_referrer = "same-origin" if name == "admin login" else "no-referrer"
        assert response["Referrer-Policy"] == expected_referrer, name
    assert pages == {"swagger docs", "redoc docs", "admin login"}


def test_every_answer_that_is_not_streamed_carries_its_content_length(tenant: Tenant) -> None:
    for name, (response, status) in _requests(tenant).items():
        assert response.status_code == status, name
        if response.streaming:
            # The docs' static files: WhiteNoise gives a file's own length.
            assert name == "docs script", name
            assert int(response["Content-Length"]) > 0, name
        else:
            assert response["Content-Length"] == str(len(response.content)), name


def test_an_answer_without_a_body_has_no_content_length(tenant: Tenant) -> None:
    # HTTP forbids Content-Length on a 204 (and a 304).
    response = tenant.http.delete(
        "/api/v1/conversations/search-history", headers={"auth": tenant.token(), "X-Acting-User": "ana"}
    )
    assert response.status_code == 204
    assert "Content-Length" not in response


def test_hsts_is_never_sent_over_plain_http(anonymous: Client) -> None:
    response = anonymous.get("/api/health")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert response["Referrer-Policy"] == "no-referrer"


def test_hsts_follows_the_front_proxys_https_header_when_configured(settings: Any) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" not in Client().get("/api/health", headers=forwarded)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert Client().get("/api/health", headers=forwarded)["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in Client().get("/api/health")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_script_nonces: list[str | None] = []
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.inline_script_nonces.append(attributes.get("nonce"))
        for name in ("src", "href"):
            if tag in ("script", "link", "img") and attributes.get(name):
                self.addresses.append(attributes[name] or "")


@pytest.mark.parametrize("path,inline_scripts", [("/api/docs/", 1), ("/api/redoc/", 0)])
def test_the_docs_load_only_the_sites_files_and_nonced_inline_scripts(
    anonymous: Client, path: str, inline_scripts: int
) -> None:
    first, second = anonymous.get(path), anonymous.get(path)
    nonces = [re.search(r"'nonce-([^']+)'", r["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    assets = _Assets()
    assets.feed(first.content.decode())
    assert assets.inline_script_nonces == [nonces[0]] * inline_scripts
    assert assets.addresses and all(address.startswith("/static/") for address in assets.addresses)
    for address in assets.addresses:
        assert anonymous.get(address).status_code == 200, address


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")


def _outside_the_site(violations: list[str], base: str) -> list[str]:
    """Violations other than Redoc's "powered by" logo and the like, which live on other sites."""
    return [v for v in violations if not re.match(r"img-src blocked https?://", v) or base in v]


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_the_docs_render_in_a_browser_under_their_csp(live_server: Any) -> None:
    with Browser() as browser:
        browser.open(f"{live_server.url}/api/docs/")
        assert browser.wait_for("document.querySelectorAll('.opblock').length") >= 12
        assert "Analytics raw-data API" in browser.evaluate("document.querySelector('.info .title').textContent")
        assert browser.csp_violations() == []

        browser.open(f"{live_server.url}/api/redoc/")
        assert browser.wait_for("document.querySelectorAll('[data-section-id^=\"operation/\"]').length") >= 12
        assert "Analytics raw-data API" in browser.evaluate("document.querySelector('h1').textContent")
        # Redoc links its logo from its own site: blocked, as the docs load nothing from outside.
        assert _outside_the_site(browser.csp_violations(), live_server.url) == []


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_the_admin_login_works_in_a_browser_under_its_csp_and_referrer_policy(live_server: Any) -> None:
    User.objects.create_superuser("operator", "operator@example.com", "pw-operator-1")
    with Browser() as browser:
        browser.open(f"{live_server.url}/admin/login/")
        browser.evaluate(
            "document.querySelector('#id_username').value = 'operator';"
            "document.querySelector('#id_password').value = 'pw-operator-1';"
            "document.querySelector('#login-form').submit()"
        )
        browser.wait_for(f"location.href === '{live_server.url}/admin/' && document.readyState === 'complete'")
        assert browser.evaluate("document.title") == "Site administration | Django site admin"
        assert browser.csp_violations() == []
        browser.open(f"{live_server.url}/admin/auth/user/add/")
        assert browser.evaluate("!!document.querySelector('#user_form')")
        assert browser.csp_violations() == []
