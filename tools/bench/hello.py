"""The request-overhead ceiling: a bare WSGI "hello", served by the same gunicorn configuration.

No Django, no middleware, no authentication: what the server, its worker and the loopback cost per
request. The no-op endpoint behind the full stack (``tools/bench/views.py``) is measured against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_BODY = b'{"ok":true}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # Read the body as a real endpoint must, so that keep-alive stays in step.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", list(_HEADERS))
    return [_BODY]
