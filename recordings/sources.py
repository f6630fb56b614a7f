"""Opening recording sources as byte streams, guarded against server-side request forgery.

Sources are untrusted input. Only ``http``, ``https`` and ``s3`` addresses are fetched.
An HTTP(S) host is resolved once, every address it resolves to must be public (not loopback,
private, link-local, site-local, shared, reserved, a cloud metadata address, or an IPv6 form of any
of these) unless the host may reach internal addresses for the account (see below), and the
connection goes to the address that was checked, so a second DNS answer cannot swap in an internal
one. Redirects are followed only within the same origin (scheme, host and port).

What an account may reach beyond the public internet is an operator's decision, never an ingest
client's (:mod:`recordings.grants`):

- an HTTP(S) host may resolve to internal addresses when it is in
  ``RECORDING_SOURCE_SHARED_HOSTS`` (every account), or in ``RECORDING_SOURCE_ALLOWED_HOSTS`` and
  granted to the account; a cloud metadata address is refused even then;
- ``s3://`` sources are off unless ``RECORDING_SOURCE_S3_ENABLED``; then a source must lie under
  one of the account's ``s3://bucket/prefix/`` grants, in a bucket of ``RECORDING_SOURCE_S3_BUCKETS``
  when that is set, and never in the recordings bucket itself. They are read with the
  ``RECORDING_SOURCE_AWS_*`` credentials and endpoint when any is set (else with storage's client).
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

from recordings.grants import GrantInvalid, SourcePolicy, host_canonical, s3_location
from recordings.storage import source_s3_client

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class SourceMissing(Exception):
    """The source answers that it has no such recording (404/410, NoSuchKey)."""


PRIVATE_HOST = (
    "The source's host resolves to a private address and is not granted to this account; "
    "an operator can grant it (manage.py recording_source_grants)."
)
OUTSIDE_S3_GRANTS = "The source is outside this account's s3 grants."


class SourceRefused(Exception):
    """The address may not be fetched at all (scheme, internal address, foreign redirect).

    Its text is for operators (it may name addresses and settings); ``public`` says why in a
    sentence the account may read.
    """

    def __init__(self, detail: str, *, public: str) -> None:
        super().__init__(detail)
        self.public = public


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


def source_open(url: str, *, policy: SourcePolicy) -> SourceStream:
    """Open ``url`` for the account whose grants are ``policy``; raises one of this module's
    exceptions when that is not possible."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in _DEFAULT_PORTS:
        return _open_http(url, redirects_left=MAX_REDIRECTS, policy=policy)
    if scheme == "s3":
        return _open_s3(url, policy=policy)
    raise SourceRefused(
        f"scheme {scheme or '(none)'!r} is not allowed: only http, https and s3",
        public="Only http, https and s3 sources are fetched.",
    )


def address_refusal(address: str) -> str | None:
    """Why an IP address may not be fetched, or None when it is a public address.

    IPv6 addresses that carry an IPv4 address are judged by it: IPv4-mapped (``::ffff:a.b.c.d``),
    NAT64 (``64:ff9b::a.b.c.d``) and 6to4 (``2002:AABB:CCDD::``) ones, since a host may route them
    to that IPv4 address; the deprecated IPv4-compatible (``::a.b.c.d``), IPv4-translated and
    site-local (``fec0::/10``) forms and local-use NAT64 (``64:ff9b:1::/48``) are refused outright.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                reason = address_refusal(str(embedded))
                return f"{ip} embeds {embedded}: {reason}" if reason else None
            for network, what in _REFUSED_IPV6:
                if ip in network and int(ip) > 1:  # :: and ::1 are told apart below
                    return f"{ip} is {what}"
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


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED_IPV6 = (
    (ipaddress.ip_network("::/96"), "an IPv4-compatible address (deprecated)"),
    (ipaddress.ip_network("::ffff:0:0:0/96"), "an IPv4-translated address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (ipaddress.ip_network("fec0::/10"), "a site-local address (deprecated)"),
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a NAT64 or 6to4 address leads to."""
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _setting_hosts(names: list[str]) -> set[str]:
    return {_host_or_raw(name) for name in names}


def _host_or_raw(name: str) -> str:
    try:
        return host_canonical(name)
    except GrantInvalid:
        return name.lower()


def _allowed_host(host: str, policy: SourcePolicy) -> bool:
    """Whether ``host`` may resolve to internal addresses for the account of ``policy``.

    A host in ``RECORDING_SOURCE_SHARED_HOSTS`` may for every account; one in
    ``RECORDING_SOURCE_ALLOWED_HOSTS`` only for the accounts it is granted to, so that one
    tenant's internal recording server is not reachable by another tenant's ingest client.
    """
    try:
        name = host_canonical(host)
    except GrantInvalid:
        return False
    if name in _setting_hosts(settings.RECORDING_SOURCE_SHARED_HOSTS):
        return True
    return name in _setting_hosts(settings.RECORDING_SOURCE_ALLOWED_HOSTS) and policy.allows_host(name)


def _checked_address(host: str, port: int, policy: SourcePolicy) -> str:
    """Resolve ``host`` and return the address to connect to, after checking every answer."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SourceError(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not addresses:
        raise SourceError(f"cannot resolve {host}")
    allowed = _allowed_host(host, policy)
    for address in addresses:
        if allowed:
            # An allowed host reaches internal addresses, never the cloud's credentials endpoint.
            reason = address_refusal(address) if _is_metadata(address) else None
        else:
            reason = address_refusal(address)
        if reason:
            public = (
                "The source's host resolves to an address this service never fetches from."
                if _is_metadata(address)
                else PRIVATE_HOST
            )
            raise SourceRefused(f"host {host} resolves to {address}: {reason}", public=public)
    return addresses[0]


def _is_metadata(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or _embedded_ipv4(ip) or ip
    return ip in _METADATA_ADDRESSES


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


def checked_connection(
    url: str, *, policy: SourcePolicy, connect_timeout: float, read_timeout: float, deadline: float
) -> http.client.HTTPConnection:
    """An HTTP(S) connection (not yet open) to the checked address of ``url``'s host.

    The host is resolved once and every answer checked (see the module docstring); the connection
    goes to that address, each wait bounded by ``read_timeout`` and all of them by ``deadline``
    (a ``time.monotonic()`` instant). Webhook deliveries send through it too, under the same rules.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise SourceRefused(
            f"scheme {scheme or '(none)'!r} is not allowed: only http and https",
            public="Only http and https addresses are reached.",
        )
    host = parts.hostname
    if not host:
        raise SourceRefused("the address has no host", public="The source address has no host.")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise SourceRefused(
            "the address has an invalid port", public="The source address has an invalid port."
        ) from None
    address = _checked_address(host, port, policy)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return connection_class(
        host, port, address=address, connect_timeout=connect_timeout, read_timeout=read_timeout, deadline=deadline
    )


def _open_http(url: str, *, redirects_left: int, policy: SourcePolicy, deadline: float | None = None) -> SourceStream:
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
    if deadline is None:
        deadline = time.monotonic() + settings.RECORDING_FETCH_MAX_SECONDS
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
            and (next_parts.port or _DEFAULT_PORTS.get(next_parts.scheme.lower())) == port
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
        raise SourceRefused(
            "the address is outside the s3 locations granted to this account", public=OUTSIDE_S3_GRANTS
        )
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
