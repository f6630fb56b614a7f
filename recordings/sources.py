"""Opening recording sources as byte streams.

Sources are untrusted input. Only ``http``, ``https`` and ``s3`` addresses are fetched:

- an HTTP(S) source is reached through :func:`recordings.outbound.checked_connection` (its host
  resolved once and checked, the connection pinned to the checked address, every wait bounded);
  redirects are followed only within the same origin (scheme, host and port);
- ``s3://`` sources are off unless ``RECORDING_SOURCE_S3_ENABLED``; then a source must lie under
  one of the account's ``s3://bucket/prefix/`` grants (:mod:`recordings.grants`), in a bucket of
  ``RECORDING_SOURCE_S3_BUCKETS`` when that is set, and never in the recordings bucket itself. They
  are read with the ``RECORDING_SOURCE_AWS_*`` credentials and endpoint when any is set (else with
  storage's client).
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from recordings.grants import GrantInvalid, SourcePolicy, s3_location
from recordings.outbound import DEFAULT_PORTS, Deadline, SourceError, SourceRefused, checked_connection, redacted
from recordings.storage import source_s3_client

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


OUTSIDE_S3_GRANTS = "The source is outside this account's s3 grants."


class SourceMissing(Exception):
    """The source answers that it has no such recording (404/410, NoSuchKey)."""


class SourceTooLarge(Exception):
    """The recording is larger than ``RECORDING_MAX_BYTES``."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass
class SourceStream:
    """An open source: read it in chunks, then close it."""

    body: Readable
    length: int | None
    close: Callable[[], None]


def source_open(url: str, *, policy: SourcePolicy, deadline: Deadline) -> SourceStream:
    """Open ``url`` for the account whose grants are ``policy``, an HTTP(S) source within
    ``deadline``; raises one of this module's exceptions (or :mod:`recordings.outbound`'s
    ``SourceRefused`` and ``SourceError``) when that is not possible."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in DEFAULT_PORTS:
        return _open_http(url, redirects_left=MAX_REDIRECTS, policy=policy, deadline=deadline)
    if scheme == "s3":
        return _open_s3(url, policy=policy)
    raise SourceRefused(
        f"scheme {scheme or '(none)'!r} is not allowed: only http, https and s3",
        public="Only http, https and s3 sources are fetched.",
    )


def _open_http(url: str, *, redirects_left: int, policy: SourcePolicy, deadline: Deadline) -> SourceStream:
    """GET ``url`` and return its body stream.

    1. Connect through :func:`~recordings.outbound.checked_connection` (the address checked, then
       pinned); connecting, the headers, redirects and the body together get ``deadline``, each
       wait at most the read timeout.
    2. Follow a redirect only to the same origin, at most ``MAX_REDIRECTS`` times.
    3. 404/410 → :class:`SourceMissing`; any other status but 200 → :class:`SourceError`.
    4. An announced ``Content-Length`` above ``RECORDING_MAX_BYTES`` → :class:`SourceTooLarge`.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    connection = checked_connection(
        url,
        policy=policy,
        connect_timeout=settings.RECORDING_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.RECORDING_READ_TIMEOUT_SECONDS,
        deadline=deadline,
    )
    host, port = connection.host, connection.port
    headers = {"User-Agent": "analytics-api-recordings/1", "Accept": "*/*", "Accept-Encoding": "identity"}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        raise SourceError(f"{type(error).__name__}: {error}") from None

    if response.status in _REDIRECTS:
        location = response.getheader("Location") or ""
        connection.close()
        next_url = urljoin(url, location)
        next_parts = urlsplit(next_url)
        same_origin = (
            next_parts.scheme.lower() == scheme
            and (next_parts.hostname or "").lower() == host.lower()
            and (next_parts.port or DEFAULT_PORTS.get(next_parts.scheme.lower())) == port
        )
        if not same_origin:
            raise SourceRefused(
                f"redirect to another host refused: {redacted(next_url)}",
                public="The source redirected to another host; only redirects within the same host are followed.",
            )
        if redirects_left == 0:
            raise SourceError(f"more than {MAX_REDIRECTS} redirects")
        return _open_http(next_url, redirects_left=redirects_left - 1, policy=policy, deadline=deadline)
    if response.status in (404, 410):
        connection.close()
        raise SourceMissing(f"the recording server answered HTTP {response.status}")
    if response.status != 200:
        connection.close()
        raise SourceError(f"the recording server answered HTTP {response.status}")

    length = _content_length(response.getheader("Content-Length"))
    _check_size(length)
    return SourceStream(body=response, length=length, close=connection.close)


def _content_length(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        length = int(raw)
    except ValueError:
        raise SourceError(f"invalid Content-Length {raw!r}") from None
    if length < 0:
        raise SourceError(f"invalid Content-Length {raw!r}")
    return length


def _check_size(length: int | None) -> None:
    if length is not None and length > settings.RECORDING_MAX_BYTES:
        raise SourceTooLarge(f"the recording is {length} bytes, above the {settings.RECORDING_MAX_BYTES} limit")


class _S3Body:
    """botocore's body, readable one network receive at a time under a per-receive timeout.

    Its own ``read(n)`` waits until all n bytes arrived, however slowly they come; ``read1`` returns
    what one receive brought, so the reader can check its deadline between receives and set each
    receive's timeout to the time left.
    """

    def __init__(self, body: Any) -> None:
        self._body = body
        # botocore keeps urllib3's response here (its own set_socket_timeout reaches further in);
        # that response's read1 and connection are public.
        self._raw = body._raw_stream

    def read(self, size: int = -1, /) -> bytes:
        return self._body.read(size if size >= 0 else None)

    def read1(self, size: int = -1, /) -> bytes:
        return self._raw.read1(size if size >= 0 else None)

    def set_socket_timeout(self, seconds: float) -> None:
        sock = getattr(self._raw.connection, "sock", None)
        if sock is not None:  # None once the body has been read to its end and the connection released
            sock.settimeout(seconds)


def _open_s3(url: str, *, policy: SourcePolicy) -> SourceStream:
    """GET an ``s3://bucket/key`` source, after checking it against the settings and the account's
    grants before anything is sent, so a refused source learns nothing about the bucket."""
    if not settings.RECORDING_SOURCE_S3_ENABLED:
        raise SourceRefused(
            "s3 sources are disabled on this service (RECORDING_SOURCE_S3_ENABLED)",
            public="s3 sources are not enabled on this service.",
        )
    try:
        location = s3_location(url)
    except GrantInvalid as error:
        raise SourceRefused(str(error), public="The source is not a valid s3://bucket/key address.") from None
    bucket, key = location.bucket, location.key
    if not key or key.endswith("/"):
        raise SourceRefused(
            "an s3 address must be s3://bucket/key", public="The source is not a valid s3://bucket/key address."
        )
    if settings.S3_BUCKET and bucket == settings.S3_BUCKET:
        raise SourceRefused("the recordings bucket itself is not a recording source", public=OUTSIDE_S3_GRANTS)
    allowed = settings.RECORDING_SOURCE_S3_BUCKETS
    if allowed and bucket not in allowed:
        raise SourceRefused(f"bucket {bucket} is not listed in RECORDING_SOURCE_S3_BUCKETS", public=OUTSIDE_S3_GRANTS)
    if not policy.allows_s3(location):
        raise SourceRefused("the address is outside the s3 locations granted to this account", public=OUTSIDE_S3_GRANTS)
    try:
        answer: dict[str, Any] = source_s3_client().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise SourceMissing(f"s3 answered {code}") from None
        raise SourceError(f"s3 answered {code or error}") from None
    except BotoCoreError as error:
        raise SourceError(f"s3: {error}") from None
    length = answer.get("ContentLength")
    body = answer["Body"]
    try:
        _check_size(length)
    except SourceTooLarge:
        body.close()
        raise
    return SourceStream(body=_S3Body(body), length=length, close=body.close)
