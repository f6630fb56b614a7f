"""Sessions, CSRF, users and messages run for the admin only; the API's requests skip them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def test_the_admin_still_refuses_a_login_without_its_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "right-password"}
    )
    assert response.status_code == 403


def test_the_admin_login_page_sets_its_csrf_cookie_and_a_signed_in_admin_gets_a_session(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    User.objects.create_superuser("root", "root@example.com", "right-password")
    http = Client(enforce_csrf_checks=True)
    page = http.get("/admin/login/")
    assert "csrftoken" in page.cookies
    token = page.cookies["csrftoken"].value
    signed_in = http.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": "right-password", "csrfmiddlewaretoken": token},
    )
    assert signed_in.status_code == 302
    assert http.get("/admin/").status_code == 200


def test_api_requests_get_no_session_and_no_cookie(tenant: Tenant, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.analytics_api.probe_urls"
    response = tenant.post(f"/probe/{tenant.account_id}", {})
    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "session")
    assert response.cookies == {}
    assert response["X-Frame-Options"] == "DENY"
