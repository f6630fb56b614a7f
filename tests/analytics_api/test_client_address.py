"""Behind nginx, the client's address comes from the proxy's header, not from the TCP peer."""

from __future__ import annotations

from typing import Any

import pytest

from analytics_api.wsgi import ClientAddress


def _seen(header_value: str | None) -> str:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        return [b""]

    environ = {"REMOTE_ADDR": "172.18.0.5"}  # nginx's address on the compose network
    if header_value is not None:
        environ["HTTP_X_REAL_IP"] = header_value
    ClientAddress(app, header="X-Real-IP")(environ, lambda *args: None)
    return seen["REMOTE_ADDR"]


@pytest.mark.parametrize(("header_value", "remote_addr"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8::1", "2001:db8::1"),
    (None, "172.18.0.5"),
    ("not an address", "172.18.0.5"),
    ("203.0.113.7, 10.0.0.1", "172.18.0.5"),
])
def test_the_proxys_header_names_the_client(header_value: str | None, remote_addr: str) -> None:
    assert _seen(header_value) == remote_addr
