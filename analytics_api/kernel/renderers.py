"""JSON rendering with orjson: several times faster than the standard module on large pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    # ErrorDetail, lazy translation strings and other str-likes.
    return str(value)


def json_bytes(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)


class FastJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return json_bytes(data)
