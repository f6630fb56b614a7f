"""Request ids, security headers and the body-size limit, for every response (DESIGN §4)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from analytics_api.errors import error_item, json_error_response

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Echoes a well-formed ``x-request-id`` or makes a new one, and tags log lines with it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["x-request-id"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class SecurityHeadersMiddleware:
    """Data must never sit in a shared cache; browsers must not sniff JSON into HTML."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", "no-referrer")
        if not request.path.startswith(("/api/docs", "/api/redoc", "/static/")):
            response.setdefault("Cache-Control", "no-store")
        return response


class BodySizeLimitMiddleware:
    """Refuses bodies over ``API_MAX_BODY_BYTES`` with 413 before anything reads them."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            # Django reads a body without Content-Length as empty: refuse it rather than lose it.
            item = error_item(
                "Send the request body with a Content-Length header; chunked transfer encoding is not accepted.",
                "length_required",
            )
            return json_error_response(411, [item])
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error_response(
                400, [error_item("The Content-Length header is not a number.", "bad_request")]
            )
        limit = settings.API_MAX_BODY_BYTES
        if length > limit:
            item = error_item(
                f"The request body is {length} bytes; the limit is {limit} bytes. "
                "Send fewer records per request.",
                "body_too_large",
            )
            return json_error_response(413, [item])
        return self.get_response(request)
