from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_api.settings")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClientAddress:
    """``REMOTE_ADDR`` taken from the reverse proxy's header (``CLIENT_IP_HEADER``).

    Behind nginx every request comes from nginx's address, so a per-address limit (failed
    authentications) would count all clients as one. nginx overwrites the header with the address
    it sees, so a client cannot choose it; a value that is not an IP address is ignored.
    """

    def __init__(self, app: WsgiApp, *, header: str) -> None:
        self.app = app
        self.key = "HTTP_" + header.upper().replace("-", "_")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        value = environ.get(self.key, "").strip()
        try:
            environ["REMOTE_ADDR"] = str(ipaddress.ip_address(value))
        except ValueError:
            pass
        return self.app(environ, start_response)


application: WsgiApp = get_wsgi_application()
if settings.CLIENT_IP_HEADER:
    application = ClientAddress(application, header=settings.CLIENT_IP_HEADER)
