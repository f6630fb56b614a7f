"""Log lines (docs/contract.md#logs): who and what each line is about, in plain text or JSON.

Every line carries the request's context — request id, API client id, account, operation — from
context variables that the request middleware, authentication and the task hooks set, so that a
line written deep inside a service still says which request or task it belongs to.
``LOG_FORMAT=json`` writes one JSON object per line (time, level, logger, message, request_id,
client_id, account, operation, status, duration_ms, and the traceback when there is one); plain
text stays the default.

Neither format ever writes a token, a secret or a customer's e-mail address: connection-URL
passwords, JWTs, ``Bearer`` credentials and e-mail addresses are masked in the whole line (message
and traceback), wherever they came from.
"""

from __future__ import annotations

import contextvars
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson

from analytics_api.reporting import mask_url_credentials


@dataclass(frozen=True)
class LogContext:
    request_id: str = "-"
    client_id: str | None = None
    account: str | None = None
    operation: str | None = None


NO_CONTEXT = LogContext()
current_context: contextvars.ContextVar[LogContext] = contextvars.ContextVar("log_context", default=NO_CONTEXT)


def context_set(**fields: str | None) -> None:
    """Add ``fields`` to the context of the current request or task (for the rest of it)."""
    current_context.set(replace(current_context.get(), **fields))


_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")
# Not "*" in the local part: a masked URL password (user:****@host) is not an address.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'+=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_secrets(text: str) -> str:
    """``text`` with URL passwords, JWTs, bearer credentials and e-mail addresses masked."""
    # Every line passes here (one access-log line per request): most hold none of what the
    # patterns need — an "@" (URL passwords, addresses), "eyJ" (a JWT's header), "bearer" — and
    # are returned as they are, without four regular-expression scans.
    if "@" not in text and "eyJ" not in text and "bearer" not in text.lower():
        return text
    text = mask_url_credentials(text)
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1 [token]", text)
    return _EMAIL.sub("[email]", text)


class ContextLogFilter(logging.Filter):
    """Stamps each record with the current request's or task's context."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_context.get()
        record.request_id = context.request_id
        record.client_id = context.client_id
        record.account = context.account
        record.operation = context.operation
        return True


class PlainFormatter(logging.Formatter):
    """The default: ``time level logger [request id] message``, secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, secrets masked (``LOG_FORMAT=json``)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_secrets(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
            "client_id": getattr(record, "client_id", None),
            "account": getattr(record, "account", None),
            "operation": getattr(record, "operation", None),
            "status": getattr(record, "status", None),
            "duration_ms": getattr(record, "duration_ms", None),
        }
        if record.exc_info:
            line["exception"] = mask_secrets(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask_secrets(record.exc_text)
        return orjson.dumps(line, default=str).decode()
