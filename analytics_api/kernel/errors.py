"""The one error type and the one place that renders it (docs/contract.md#error-envelope).

Services raise :class:`ApiError`; DRF's own exceptions, Django's 404/403 and anything unexpected
are turned into the same envelope here::

    {"errors": [{"msg": "<sentence>", "code": "<stable_code>", "field": "<name>"}]}
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response

from analytics_api.kernel.renderers import json_bytes
from analytics_api.metrics import DEPENDENCY_ERRORS

_DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError,
)

DEPENDENCY_RETRY_AFTER_SECONDS = 5
CONFLICT_RETRY_AFTER_SECONDS = 1
# PostgreSQL's deadlock_detected and serialization_failure: a transaction lost a race with another
# one; sent again, it succeeds. Nothing is down.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})

logger = logging.getLogger(__name__)


def error_item(msg: str, code: str, field: str | None = None) -> dict[str, str]:
    item = {"msg": msg, "code": code}
    if field:
        item["field"] = field
    return item


class ApiError(Exception):
    """A client-facing failure: an HTTP status and one or more envelope items."""

    def __init__(
        self,
        msg: str,
        *,
        code: str,
        status_code: int = 400,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status_code = status_code
        self.errors = [error_item(msg, code, field)]
        self.headers = dict(headers or {})

    @classmethod
    def many(
        cls, errors: list[dict[str, str]], *, status_code: int = 400, headers: Mapping[str, str] | None = None
    ) -> ApiError:
        error = cls(errors[0]["msg"], code=errors[0]["code"], status_code=status_code, headers=headers)
        error.errors = errors
        return error


# Stable codes for DRF's own exceptions; the messages are rewritten to say how to fix the request.
_DRF_CODES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ParseError: ("malformed_json", "The request body is not valid JSON: {detail}"),
    exceptions.UnsupportedMediaType: (
        "unsupported_media_type",
        "Send the body as JSON with the header Content-Type: application/json.",
    ),
    exceptions.NotAcceptable: ("not_acceptable", "This API answers in JSON only: accept application/json."),
    exceptions.NotFound: ("not_found", "{detail}"),
}


def flatten_validation_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested ``ValidationError.detail`` into envelope items, one per problem.

    Nested fields are named with dots and list indexes (``selectedFields.skills``,
    ``records[3].sessionId``) so a client can find the exact spot.
    """
    items: list[dict[str, str]] = []
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                # ListField/DictField children report their errors under the item's index.
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            items.extend(flatten_validation_errors(value, name))
    elif isinstance(detail, list | tuple):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list | tuple):
                items.extend(flatten_validation_errors(value, f"{prefix}[{index}]"))
            else:
                items.extend(flatten_validation_errors(value, prefix))
    else:
        code = getattr(detail, "code", None) or "invalid"
        items.append(error_item(str(detail), "invalid" if code == "invalid" else str(code), prefix or None))
    return items


def envelope(errors: Iterable[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"errors": list(errors)}


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception raised in a view becomes the envelope."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        return Response(envelope(exc.errors), status=exc.status_code, headers=exc.headers or None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        return Response(envelope(flatten_validation_errors(exc.detail)), status=400)
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        headers["Retry-After"] = str(wait)
        item = error_item(
            f"Rate limit exceeded for this client: retry in {wait} seconds.", "rate_limited"
        )
        return Response(envelope([item]), status=429, headers=headers)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        request = context.get("request")
        if request is not None:
            authenticator = getattr(request, "_authenticator", None) or (
                request.authenticators[0] if getattr(request, "authenticators", None) else None
            )
            if authenticator is not None:
                headers["WWW-Authenticate"] = authenticator.authenticate_header(request)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "not_authenticated"
        return Response(envelope([error_item(str(exc.detail), str(code))]), status=401, headers=headers)
    if isinstance(exc, exceptions.PermissionDenied):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "permission_denied"
        return Response(envelope([error_item(str(exc.detail), str(code))]), status=403)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return _method_not_allowed(context)
    if isinstance(exc, exceptions.APIException):
        code, template = _DRF_CODES.get(type(exc), (str(exc.default_code), "{detail}"))
        msg = template.format(detail=str(exc.detail))
        return Response(envelope([error_item(msg, code)]), status=exc.status_code)

    if is_write_conflict(exc):
        # 503 with Retry-After (not 409): HTTP clients retry it by themselves, and the write is
        # idempotent (an upsert); its own code tells it apart from an outage.
        logger.warning("Write conflict, the client is asked to retry: %s", exc)
        item = error_item(
            "Another request was writing the same records at the same moment; nothing of this request "
            f"was stored. Send it again (after {CONFLICT_RETRY_AFTER_SECONDS} second).",
            "conflict_retry",
        )
        return Response(
            envelope([item]), status=503, headers={"Retry-After": str(CONFLICT_RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, DataError):
        # A value the database refuses (out of range, too long, malformed for its type): the input's
        # fault, so a 400 rather than an outage or a 500.
        logger.warning("Value refused by the database: %s", exc)
        return Response(envelope([data_error_item(exc)]), status=400)
    if isinstance(exc, UnreadablePostError):
        # The body stopped arriving: the client went away or sent it slower than the server waits.
        item = error_item(
            "The request body did not arrive completely in time; send it again, all at once.", "request_timeout"
        )
        return Response(envelope([item]), status=408)

    if isinstance(exc, _DEPENDENCY_ERRORS) or _is_lost_connection(exc):
        logger.error("Dependency unavailable: %s", exc)
        redis_down = isinstance(exc, RedisConnectionError | RedisTimeoutError)
        DEPENDENCY_ERRORS.labels(dependency="redis" if redis_down else "database").inc()
        item = error_item(
            "A backing service (database or cache) is unavailable; retry shortly.", "dependency_unavailable"
        )
        return Response(
            envelope([item]), status=503, headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)}
        )

    logger.exception("Unhandled exception in %s", context.get("view").__class__.__name__)
    return Response(envelope([_internal_error_item()]), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def method_not_allowed_item(method: str, allowed: Iterable[str]) -> dict[str, str]:
    """The 405 item: the method refused and the ones to use ("GET is not allowed here; use POST.")."""
    usable = [name for name in allowed if name not in ("HEAD", "OPTIONS")]
    msg = f"{method} is not allowed here" + (f"; use {' or '.join(usable)}." if usable else ".")
    return error_item(msg, "method_not_allowed")


def _method_not_allowed(context: Mapping[str, Any]) -> Response:
    """405 naming the methods to use, with ``Allow`` listing all of them (OPTIONS included)."""
    request, view = context.get("request"), context.get("view")
    allowed = list(getattr(view, "allowed_methods", ()))
    item = method_not_allowed_item(getattr(request, "method", "This method"), allowed)
    return Response(envelope([item]), status=405, headers={"Allow": ", ".join(allowed)} if allowed else None)


def is_write_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock or a serialization failure (the transaction may be run again)."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return isinstance(exc, OperationalError) and getattr(cause, "sqlstate", None) in _CONFLICT_SQLSTATES


def data_error_item(exc: DataError) -> dict[str, str]:
    """The envelope item of a value the database refused, with the database's own reason."""
    diagnostic = getattr(exc.__cause__, "diag", None)
    reason = getattr(diagnostic, "message_primary", None) or (str(exc).strip().splitlines() or ["invalid value"])[0]
    return error_item(f"A value of the request cannot be stored: {reason}.", "unstorable_value")


def _is_lost_connection(exc: Exception) -> bool:
    # psycopg reports a server that went away mid-query as a plain DatabaseError subclass.
    return isinstance(exc, DatabaseError) and "connection" in str(exc).lower()


def _internal_error_item() -> dict[str, str]:
    return error_item(
        "An internal error occurred. It has been logged; quote the x-request-id header when reporting it.",
        "internal_error",
    )


def json_error_response(status_code: int, errors: list[dict[str, str]], **headers: str) -> HttpResponse:
    """An envelope response for code outside DRF (middleware, Django's error handlers)."""
    response = HttpResponse(json_bytes(envelope(errors)), status=status_code, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    item = error_item(
        f"No endpoint at {request.path}. See /api/docs/ for the list of endpoints.", "not_found"
    )
    return json_error_response(404, [item])


def server_error_view(request: HttpRequest) -> HttpResponse:
    return json_error_response(500, [_internal_error_item()])


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error_response(400, [error_item("The request could not be understood.", "bad_request")])


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error_response(403, [error_item("Access denied.", "permission_denied")])
