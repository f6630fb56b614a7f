"""Opening recording sources as byte streams, guarded against server-side request forgery.

Sources are untrusted input (DESIGN §8). Only ``http``, ``https`` and ``s3`` addresses are fetched.
An HTTP(S) host is resolved once, every address it resolves to must be public (not loopback,
private, link-local, shared, reserved or a cloud metadata address) unless the host is listed in
``RECORDING_SOURCE_ALLOWED_HOSTS``, and the connection goes to the address that was checked, so a
second DNS answer cannot swap in an internal one. Redirects are followed only within the same
origin (scheme, host and port). ``s3://`` sources are read with boto3 from the configured endpoint;
the recordings bucket itself is never a source, and ``RECORDING_SOURCE_S3_BUCKETS`` limits them.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import math
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from recordings.storage import s3_client

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class SourceMissing(Exception):
    """The source answers that it has no such recording (404/410, NoSuchKey)."""


class SourceRefused(Exception):
    """The address may not be fetched at all (scheme, internal address, foreign redirect)."""


class SourceError(Exception):
    """A failure before any audio arrived (connection, timeout, 5xx); worth retrying later."""


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


def redacted(url: str) -> str:
    """The address without credentials, for logs and the job's last error."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def source_open(url: str) -> SourceStream:
    """Open ``url`` for reading; raises one of this module's exceptions when that is not possible."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in _DEFAULT_PORTS:
        return _open_http(url, redirects_left=MAX_REDIRECTS)
    if scheme == "s3":
        return _open_s3(url)
    raise SourceRefused(f"scheme {scheme or '(none)'!r} is not allowed: only http, https and s3")


def address_refusal(address: str) -> str | None:
    """Why an IP address may not be fetched, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private address"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public address"
    return None


def _allowed_host(host: str) -> bool:
    return host.lower() in {name.lower() for name in settings.RECORDING_SOURCE_ALLOWED_HOSTS}


def _checked_address(host: str, port: int) -> str:
    """Resolve ``host`` and return the address to connect to, after checking every answer."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SourceError(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not addresses:
        raise SourceError(f"cannot resolve {host}")
    if not _allowed_host(host):
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise SourceRefused(f"host {host} resolves to {address}: {reason}")
    return addresses[0]


def _gave_up() -> TimeoutError:
    return TimeoutError(f"gave up after {settings.RECORDING_FETCH_MAX_SECONDS} s (RECORDING_FETCH_MAX_SECONDS)")


class _DeadlineMixin:
    """A socket whose every receive or send waits at most the read timeout, and never past the deadline.

    Read timeouts alone do not bound a fetch: a source that sends one byte every second never lets a
    single receive time out, and ``http.client`` keeps receiving until a whole buffer (a header line,
    a chunk, a body read) is complete. Arming the timeout before each system call with the time left
    bounds every layer above it (status line, headers, chunk framing, TLS records, body) at once.
    """

    deadline: float = math.inf
    read_timeout: float = 60.0

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _gave_up()
        self.settimeout(min(self.read_timeout, left))  # type: ignore[attr-defined]
        try:
            return call(*args)
        except TimeoutError:
            if time.monotonic() >= self.deadline:
                raise _gave_up() from None
            raise

    def recv(self, *args: Any) -> bytes:
        return self._guarded(super().recv, *args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> int:
        return self._guarded(super().recv_into, *args)  # type: ignore[misc]

    def send(self, *args: Any) -> int:
        return self._guarded(super().send, *args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> None:
        return self._guarded(super().sendall, *args)  # type: ignore[misc]


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    def read(self, *args: Any) -> Any:
        return self._guarded(super().read, *args)


def _connect(address: str, port: int, *, deadline: float, connect_timeout: float, read_timeout: float) -> socket.socket:
    """A TCP connection to the checked address, opened within the connect timeout and the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _gave_up()
    sock = socket.create_connection((address, port), min(connect_timeout, left))
    sock.settimeout(min(read_timeout, max(deadline - time.monotonic(), 0.001)))
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an already checked address; every later wait is bounded by the read timeout and the deadline."""

    def __init__(
        self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float, deadline: float
    ):
        super().__init__(host, port, timeout=connect_timeout)
        self._address = address
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _guarded(self, sock: _DeadlineMixin) -> None:
        sock.deadline = self._deadline
        sock.read_timeout = self._read_timeout
        self.sock = sock

    def connect(self) -> None:
        plain = _connect(
            self._address, self.port, deadline=self._deadline, connect_timeout=self.timeout,
            read_timeout=self._read_timeout,
        )
        self._guarded(_DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach()))


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineSSLSocket
        plain = _connect(
            self._address, self.port, deadline=self._deadline, connect_timeout=self.timeout,
            read_timeout=self._read_timeout,
        )
        try:
            # The handshake is one TLS operation: CPython bounds it as a whole by the timeout set here.
            sock = context.wrap_socket(plain, server_hostname=self.host)
        except BaseException:
            plain.close()
            raise
        self._guarded(sock)


def _open_http(url: str, *, redirects_left: int, deadline: float | None = None) -> SourceStream:
    """GET ``url`` and return its body stream.

    1. Check the address (see the module docstring) and connect to the checked address; from here
       on, connecting, the headers, redirects and the body together get ``RECORDING_FETCH_MAX_SECONDS``
       (``deadline``), each wait at most the read timeout.
    2. Follow a redirect only to the same origin, at most ``MAX_REDIRECTS`` times.
    3. 404/410 → :class:`SourceMissing`; any other status but 200 → :class:`SourceError`.
    4. An announced ``Content-Length`` above ``RECORDING_MAX_BYTES`` → :class:`SourceTooLarge`.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not host:
        raise SourceRefused("the address has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise SourceRefused("the address has an invalid port") from None
    if deadline is None:
        deadline = time.monotonic() + settings.RECORDING_FETCH_MAX_SECONDS
    address = _checked_address(host, port)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        host,
        port,
        address=address,
        connect_timeout=settings.RECORDING_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.RECORDING_READ_TIMEOUT_SECONDS,
        deadline=deadline,
    )
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
            and (next_parts.port or _DEFAULT_PORTS.get(next_parts.scheme.lower())) == port
        )
        if not same_origin:
            raise SourceRefused(f"redirect to another host refused: {redacted(next_url)}")
        if redirects_left == 0:
            raise SourceError(f"more than {MAX_REDIRECTS} redirects")
        return _open_http(next_url, redirects_left=redirects_left - 1, deadline=deadline)
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


def _open_s3(url: str) -> SourceStream:
    parts = urlsplit(url)
    bucket = parts.netloc
    key = unquote(parts.path.lstrip("/"))
    if not bucket or not key:
        raise SourceRefused("an s3 address must be s3://bucket/key")
    if settings.S3_BUCKET and bucket == settings.S3_BUCKET:
        raise SourceRefused("the recordings bucket itself is not a recording source")
    allowed = settings.RECORDING_SOURCE_S3_BUCKETS
    if allowed and bucket not in allowed:
        raise SourceRefused(f"bucket {bucket} is not listed in RECORDING_SOURCE_S3_BUCKETS")
    try:
        answer: dict[str, Any] = s3_client().get_object(Bucket=bucket, Key=key)
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
