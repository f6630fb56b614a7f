"""Request ids, request metrics and the access log, security headers and the body-size limit, for every
response (docs/contract.md#request-ids); the log filter that escapes control characters."""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from analytics_api.kernel.collector import RELAXED_BODY_BYTES, collector_relaxed
from analytics_api.kernel.errors import error_item, json_error_response
from analytics_api.kernel.openapi import operation_id_of
from analytics_api.kernel.text import escape_control_characters
from analytics_api.logs import LogContext, context_set, current_context
from analytics_api.metrics import REQUEST_SECONDS, REQUESTS, status_class

access_logger = logging.getLogger("analytics_api.access")

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Echoes a well-formed ``x-request-id`` or makes a new one; counts, times and logs the request.

    Outermost, so it also gives every answer that is not streamed its ``Content-Length``.

    The request's log context (request id, then the client, account and operation once known)
    tags every log line written while it is answered. At the end: one access-log line and the
    request metrics, labelled with the operation (``operation_label``) and the status class.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_context.set(LogContext(request_id=request_id, operation=_unrouted(request)))
        try:
            response = self.get_response(request)
            response["x-request-id"] = request_id
            if not response.streaming and _may_have_body(response.status_code) and "Content-Length" not in response:
                # Django's CommonMiddleware set it and is left out (settings.MIDDLEWARE): without it
                # gunicorn sends every answer chunked, and clients cannot tell its size up front.
                response["Content-Length"] = str(len(response.content))
            elapsed = time.perf_counter() - started
            operation = current_context.get().operation or "unrouted"
            status = response.status_code
            counter, histogram = _request_metrics(operation, status_class(status))
            counter.inc()
            histogram.observe(elapsed)
            if access_logger.isEnabledFor(logging.INFO):
                # The record made directly: logger.info() would walk the stack for the caller's
                # file and line on every request (no format of ours prints them).
                access_logger.handle(access_logger.makeRecord(
                    access_logger.name, logging.INFO, __file__, 0, "%s %s %s %.1f ms",
                    (request.method, operation, status, elapsed * 1000), None, "RequestIdMiddleware.__call__",
                    {"status": status, "duration_ms": round(elapsed * 1000, 1)},
                ))
        finally:
            current_context.reset(token)
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        context_set(operation=operation_label(request, view_func))


# The request metrics' children by (operation, status class): both label sets are fixed and small,
# and ``labels()`` takes a lock and builds the key on every call.
_REQUEST_METRICS: dict[tuple[str, str], tuple[Any, Any]] = {}


def _may_have_body(status: int) -> bool:
    """False for the statuses HTTP forbids a body and a ``Content-Length`` in (1xx, 204, 304)."""
    return status >= 200 and status not in (204, 304)


def _request_metrics(operation: str, status: str) -> tuple[Any, Any]:
    children = _REQUEST_METRICS.get((operation, status))
    if children is None:
        children = _REQUEST_METRICS[(operation, status)] = (
            REQUESTS.labels(operation=operation, status_class=status),
            REQUEST_SECONDS.labels(operation=operation, status_class=status),
        )
    return children


def _unrouted(request: HttpRequest) -> str:
    # Answered before any view (static files, a 413): a fixed name, never the path.
    return "static" if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")) else "unrouted"


def operation_label(request: HttpRequest, view_func: Any) -> str:
    """What metrics and logs call the request's operation: never a path or an id.

    1. The OpenAPI operationId of the view method answering the request's method (HEAD: GET's).
    2. Else (a method the view does not take, an undocumented page) the route's fixed name:
       ``admin`` for the admin site, else its URL name, else ``unnamed``.
    """
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    method = (request.method or "").lower()
    handler = getattr(view_class, "get" if method == "head" else method, None) if method.isalpha() else None
    operation = operation_id_of(handler)
    if operation:
        return operation
    match = request.resolver_match
    if match is not None and "admin" in match.namespaces:
        return "admin"
    return (match.url_name if match is not None else None) or "unnamed"


class RateLimitHeadersMiddleware:
    """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds) on every answer
    the client rate limit counted (docs/contract.md#rate-limit-headers), 429s included."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        return response


class ControlCharacterLogFilter(logging.Filter):
    """One event, one log line: control characters in a message (a recording address, a remote
    server's answer) are written as escapes, so input cannot forge lines or terminal sequences."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_control_characters(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


# JSON, files, anything that is not a page: nothing may load or run in it, nothing may frame it.
RESOURCE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# Pages (the docs, the admin): their own files only. An inline script runs only with the request's
# nonce (the docs templates carry it); inline styles are allowed because Swagger UI and Redoc set
# styles at run time; Swagger UI's icons are data: images; Redoc's search runs in a blob: worker.
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ADMIN_PREFIX = "/admin/"


class SecurityHeadersMiddleware:
    """Content-Security-Policy, Referrer-Policy, no sniffing, no shared caching of data.

    The referrer policy is ``no-referrer`` except on the admin: a browser sends ``Origin: null``
    with a form POST under ``no-referrer``, which Django's CSRF check refuses, so the admin's forms
    keep ``same-origin`` (the Referer still never leaves the site).
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]  # the docs templates read it
        response = self.get_response(request)
        response.setdefault("X-Content-Type-Options", "nosniff")
        is_admin = request.path.startswith(ADMIN_PREFIX)
        response["Referrer-Policy"] = "same-origin" if is_admin else "no-referrer"
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", PAGE_CSP.format(nonce=nonce))
        else:
            response.setdefault("Content-Security-Policy", RESOURCE_CSP)
        if not request.path.startswith(("/api/docs", "/api/redoc", "/static/")):
            response.setdefault("Cache-Control", "no-store")
        return response


class DebugLoopbackOnlyMiddleware:
    """With DEBUG on, answers only clients on this machine (a second guard beside BIND's check).

    Settings refuse DEBUG when ``BIND`` is not loopback, but a server can be started without
    ``BIND`` (gunicorn ``--bind 0.0.0.0``, ``runserver 0.0.0.0``, a container's published port);
    its DEBUG pages would then show settings and tracebacks to the network. Not installed at all
    when DEBUG is off.
    """

    def __init__(self, get_response: Handler) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            local = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
        except ValueError:
            local = False
        if not local:
            item = error_item(
                "This server runs with DJANGO_DEBUG on and answers only its own machine; "
                "turn DJANGO_DEBUG off to serve other clients.",
                "debug_loopback_only",
            )
            return json_error_response(403, [item])
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``API_MAX_BODY_BYTES`` with 413 before anything reads them, and serves a
    large one (an ingestion batch) with the garbage collector relaxed (``kernel.collector``)."""

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
        if length >= RELAXED_BODY_BYTES:
            # A batch parses hundreds of thousands of containers: collect less often while it is
            # served, not for every request (analytics_api.kernel.collector).
            with collector_relaxed():
                return self.get_response(request)
        return self.get_response(request)

