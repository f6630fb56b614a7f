"""Outbound HTTP(S) connections to addresses a client gave, guarded against server-side request forgery.

Recording sources (:mod:`recordings.sources`) and webhook deliveries (:mod:`webhooks.sending`) both
reach addresses an ingest or API client chose, so both connect through :func:`checked_connection`:

- only ``http`` and ``https``; the host is resolved once, every address it resolves to must be
  public (not loopback, private, link-local, site-local, shared, reserved, a cloud metadata address,
  or an IPv6 form of any of these) unless the host may reach internal addresses for the account,
  and the connection goes to the address that was checked, so a second DNS answer cannot swap in an
  internal one;
- a host may resolve to internal addresses when it is in ``RECORDING_SOURCE_SHARED_HOSTS`` (every
  account), or in ``RECORDING_SOURCE_ALLOWED_HOSTS`` and granted to the account
  (:mod:`recordings.grants`): an operator's decision, never a client's. A cloud metadata address is
  refused even then;
- every wait (connecting, each receive and send, TLS records included) is bounded by its timeout
  and all of them together by one :class:`Deadline`, whose setting is named when it runs out.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from recordings.grants import GrantInvalid, SourcePolicy, host_canonical

DEFAULT_PORTS = {"http": 80, "https": 443}

_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

PRIVATE_HOST = (
    "The source's host resolves to a private address and is not granted to this account; "
    "an operator can grant it (manage.py recording_source_grants)."
)


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


@dataclass(frozen=True)
class Deadline:
    """When an outbound exchange must be over: a ``time.monotonic()`` instant, and the setting that
    set it, named in the error when it passes (an operator reads it in a recording's or a webhook
    delivery's last error)."""

    at: float
    seconds: int
    setting: str

    @classmethod
    def from_setting(cls, setting: str) -> Deadline:
        """The deadline ``settings.<setting>`` seconds from now."""
        seconds = getattr(settings, setting)
        return cls(at=time.monotonic() + seconds, seconds=seconds, setting=setting)

    def left(self) -> float:
        return self.at - time.monotonic()

    def gave_up(self) -> TimeoutError:
        return TimeoutError(f"gave up after {self.seconds} s ({self.setting})")


def redacted(url: str) -> str:
    """The address without credentials, for logs and the job's last error."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


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


class _DeadlineMixin:
    """A socket whose every receive or send waits at most the read timeout, and never past the deadline.

    Read timeouts alone do not bound a fetch: a source that sends one byte every second never lets a
    single receive time out, and ``http.client`` keeps receiving until a whole buffer (a header line,
    a chunk, a body read) is complete. Arming the timeout before each system call with the time left
    bounds every layer above it (status line, headers, chunk framing, TLS records, body) at once.
    """

    deadline: Deadline | None = None  # set by the connection as soon as the socket is made
    read_timeout: float = 60.0

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        if self.deadline is None:
            return call(*args)
        left = self.deadline.left()
        if left <= 0:
            raise self.deadline.gave_up()
        wait = min(self.read_timeout, left)
        self.settimeout(wait)  # type: ignore[attr-defined]
        try:
            return call(*args)
        except TimeoutError:
            # A wait cut by the deadline rather than by the read timeout is the deadline passing,
            # even when the clock reads a hair before it.
            if wait == left or self.deadline.left() <= 0:
                raise self.deadline.gave_up() from None
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an already checked address; every later wait is bounded by the read timeout and the deadline."""

    def __init__(
        self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float, deadline: Deadline
    ):
        super().__init__(host, port, timeout=connect_timeout)
        self._address = address
        self._read_timeout = read_timeout
        self._deadline = deadline

    def _guarded(self, sock: _DeadlineMixin) -> None:
        sock.deadline = self._deadline
        sock.read_timeout = self._read_timeout
        self.sock = sock

    def _plain(self) -> socket.socket:
        """A TCP connection to the checked address, within the connect timeout and the deadline."""
        left = self._deadline.left()
        if left <= 0:
            raise self._deadline.gave_up()
        sock = socket.create_connection((self._address, self.port), min(self.timeout, left))
        sock.settimeout(min(self._read_timeout, max(self._deadline.left(), 0.001)))
        return sock

    def connect(self) -> None:
        plain = self._plain()
        self._guarded(_DeadlineSocket(plain.family, plain.type, plain.proto, fileno=plain.detach()))


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineSSLSocket
        plain = self._plain()
        try:
            # The handshake is one TLS operation: CPython bounds it as a whole by the timeout set here.
            sock = context.wrap_socket(plain, server_hostname=self.host)
        except BaseException:
            plain.close()
            raise
        self._guarded(sock)


def checked_connection(
    url: str, *, policy: SourcePolicy, connect_timeout: float, read_timeout: float, deadline: Deadline
) -> http.client.HTTPConnection:
    """An HTTP(S) connection (not yet open) to the checked address of ``url``'s host.

    The host is resolved once and every answer checked (see the module docstring); the connection
    goes to that address, each wait bounded by ``read_timeout`` and all of them by ``deadline``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise SourceRefused(
            f"scheme {scheme or '(none)'!r} is not allowed: only http and https",
            public="Only http and https addresses are reached.",
        )
    host = parts.hostname
    if not host:
        raise SourceRefused("the address has no host", public="The source address has no host.")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise SourceRefused(
            "the address has an invalid port", public="The source address has an invalid port."
        ) from None
    address = _checked_address(host, port, policy)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return connection_class(
        host, port, address=address, connect_timeout=connect_timeout, read_timeout=read_timeout, deadline=deadline
    )
