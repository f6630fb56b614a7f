"""POSTing one webhook, under the recording sources' address rules (:mod:`recordings.outbound`).

The host is resolved once and every address it resolves to must be public unless an operator
allowed it for the account (the same settings and grants as recording sources); the connection goes
to the checked address. Redirects are never followed: a 3xx is a failed attempt, so a receiver
cannot send the signed body to another host. Connecting waits at most
``WEBHOOK_CONNECT_TIMEOUT_SECONDS`` and the whole attempt at most ``WEBHOOK_DEADLINE_SECONDS``.
"""

from __future__ import annotations

import base64
import http.client
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

from recordings.grants import SourcePolicy
from recordings.outbound import Deadline, SourceError, SourceRefused, checked_connection, redacted

# What is kept of a failing receiver's answer for the operator.
ANSWER_SNIPPET_BYTES = 300


class WebhookRefused(Exception):
    """The address may not be reached at all (scheme, internal address): trying again is useless."""


class WebhookFailure(Exception):
    """One failed attempt (no connection, timeout, non-2xx answer); ``status`` when one came back."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Answer:
    status: int


def webhook_post(url: str, *, body: bytes, headers: dict[str, str], policy: SourcePolicy) -> Answer:
    """POST ``body`` to ``url``; a 2xx answer, else :class:`WebhookFailure` or :class:`WebhookRefused`."""
    deadline = Deadline.from_setting("WEBHOOK_DEADLINE_SECONDS")
    try:
        connection = checked_connection(
            url,
            policy=policy,
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.WEBHOOK_DEADLINE_SECONDS,
            deadline=deadline,
        )
    except SourceRefused as error:
        raise WebhookRefused(f"address refused: {error}") from None
    except SourceError as error:
        raise WebhookFailure(str(error)) from None
    parts = urlsplit(url)
    sent = {"Content-Type": "application/json", "User-Agent": "analytics-api-webhooks/1", **headers}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        sent["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=sent)
        response = connection.getresponse()
        snippet = response.read(ANSWER_SNIPPET_BYTES)
    except (OSError, http.client.HTTPException) as error:
        raise WebhookFailure(f"{redacted(url)}: {type(error).__name__}: {error}") from None
    finally:
        connection.close()
    if 300 <= response.status < 400:
        raise WebhookFailure(f"HTTP {response.status}: redirects are not followed", status=response.status)
    if not 200 <= response.status < 300:
        text = snippet.decode("utf-8", "replace").strip()
        reason = f"HTTP {response.status}: {text}" if text else f"HTTP {response.status}"
        raise WebhookFailure(reason, status=response.status)
    return Answer(status=response.status)
