"""JSON rendering with orjson: several times faster than the standard module on large pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
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


class FastContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, without parsing anything when there is nothing to choose.

    Every API view has the one JSON renderer; a request that accepts anything (no ``Accept``, or
    ``*/*`` as curl and most clients send) and asks for no format gets it at once, as DRF would
    answer after parsing the header. Anything else goes through DRF's own rules (406 included).
    """

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> Any:
        # (An empty Accept header accepts nothing: DRF answers 406, and so do we.)
        if (
            len(renderers) == 1
            and request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
            and format_suffix is None
            and "format" not in request.query_params
        ):
            renderer = renderers[0]
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
