"""Behind nginx, the client's address comes from the proxy's header (CLIENT_IP_HEADER), not from the TCP peer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from analytics_api.tenancy.throttling import client_address


def _seen(settings: Any, header_value: str | None) -> str:
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    extra = {"REMOTE_ADDR": "172.18.0.5"}  # nginx's address on the compose network
    if header_value is not None:
        extra["HTTP_X_REAL_IP"] = header_value
    return client_address(RequestFactory().get("/", **extra))


@pytest.mark.parametrize(("header_value", "remote_addr"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8::1", "2001:db8::1"),
    (None, "172.18.0.5"),
    ("not an address", "172.18.0.5"),
    ("203.0.113.7, 10.0.0.1", "172.18.0.5"),
])
def test_the_proxys_header_names_the_client(settings: Any, header_value: str | None, remote_addr: str) -> None:
    assert _seen(settings, header_value) == remote_addr


def test_without_the_setting_the_header_is_never_read(settings: Any) -> None:
    settings.CLIENT_IP_HEADER = ""
    request = RequestFactory().get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_REAL_IP="203.0.113.7")
    assert client_address(request) == "172.18.0.5"
