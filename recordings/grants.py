"""What an account may fetch recordings from, beyond the public internet: its source grants.

A grant is set by an operator (Django admin, ``manage.py recording_source_grants``), never by an
ingest client, and is one of:

- ``s3://bucket/`` or ``s3://bucket/prefix/``: ``s3://`` sources in that bucket, under that prefix
  (a prefix is a folder: it always ends with ``/``);
- a host name or IP address (``recorder.internal``, ``10.0.0.5``): ``http(s)`` sources on that
  host may resolve to internal addresses, if the host is also in ``RECORDING_SOURCE_ALLOWED_HOSTS``.

S3 keys are compared decoded: a source's key is percent-decoded once and refused if it still holds a
percent escape (double encoding), a ``.``/``..`` segment, a backslash or a control character, so
``prefix/../other`` or ``prefix/%2e%2e/other`` cannot leave the granted prefix on a server that
normalises paths.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from analytics_api.kernel.text import has_control_characters

# Bucket names as S3 and S3-compatible servers accept them (legacy us-east-1 names included).
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


class GrantInvalid(ValueError):
    """The text is not a grant or an S3 address this service accepts; the message says why."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str


def s3_location(url: str) -> S3Location:
    """The bucket and decoded key of ``s3://bucket/key``, or :class:`GrantInvalid`.

    1. The authority is a bare bucket name (no user, no port); there is no query or fragment
       (``?`` and ``#`` in a key are written ``%3F`` and ``%23``).
    2. The path is percent-decoded once; a key that still holds an escape was encoded twice and
       is refused, since a server that decodes again would see another key than the one checked.
    3. No segment of the key may be ``.`` or ``..``, hold a backslash, and no character may be a
       control character: the key checked is the key fetched, whatever the server normalises.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3":
        raise GrantInvalid("an s3 address starts with s3://")
    if not _BUCKET.fullmatch(parts.netloc):
        raise GrantInvalid("an s3 address must be s3://bucket/key with a valid bucket name")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise GrantInvalid("an s3 address has no query or fragment: write ? and # in a key as %3F and %23")
    try:
        key = unquote(parts.path[1:], errors="strict") if parts.path.startswith("/") else ""
    except UnicodeDecodeError:
        raise GrantInvalid("an s3 key must be percent-encoded UTF-8") from None
    _check_key(key)
    return S3Location(bucket=parts.netloc, key=key)


def _check_key(key: str) -> None:
    if _PERCENT_ESCAPE.search(key):
        raise GrantInvalid("an s3 key may not be percent-encoded twice")
    if has_control_characters(key):
        raise GrantInvalid("an s3 key may not contain control characters")
    if "\\" in key:
        raise GrantInvalid("an s3 key may not contain a backslash")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise GrantInvalid("an s3 key may not contain . or .. segments")


@dataclass(frozen=True)
class SourceGrant:
    """One grant, parsed: an S3 bucket and prefix, or an internal host."""

    bucket: str = ""
    prefix: str = ""
    host: str = ""

    @property
    def is_s3(self) -> bool:
        return bool(self.bucket)

    @property
    def text(self) -> str:
        """The canonical text the grant is stored and listed as."""
        return f"s3://{self.bucket}/{self.prefix}" if self.is_s3 else self.host


def grant_parse(text: str) -> SourceGrant:
    """``s3://bucket/``, ``s3://bucket/prefix/`` or a host name / IP address, canonicalised.

    A prefix is made to end with ``/`` so that ``s3://b/tenant-a`` cannot reach ``tenant-ab/``;
    host names are lower-cased; an IPv6 address may be written with or without brackets.
    """
    text = text.strip()
    if not text:
        raise GrantInvalid("a grant is s3://bucket/prefix/ or a host name")
    if text.lower().startswith("s3://"):
        location = s3_location(text)
        prefix = location.key
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return SourceGrant(bucket=location.bucket, prefix=prefix)
    if "://" in text:
        raise GrantInvalid("a host grant is a bare host name or IP address, without scheme, port or path")
    return SourceGrant(host=host_canonical(text))


def host_canonical(text: str) -> str:
    """A host as URLs name it (``urlsplit(...).hostname``): lower case, IPv6 without brackets."""
    host = text.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOST.fullmatch(host) or len(host) > 253:
        raise GrantInvalid(f"{text!r} is not a host name or IP address")
    return host


@dataclass(frozen=True)
class SourcePolicy:
    """The grants of one account, as the fetcher checks them."""

    grants: tuple[SourceGrant, ...] = ()

    @classmethod
    def of(cls, texts: Iterable[str]) -> SourcePolicy:
        # A stored grant that does not parse (written around the admin and the command) grants nothing.
        grants = []
        for text in texts:
            try:
                grants.append(grant_parse(text))
            except GrantInvalid:
                continue
        return cls(grants=tuple(grants))

    def allows_s3(self, location: S3Location) -> bool:
        return any(
            grant.is_s3 and grant.bucket == location.bucket and location.key.startswith(grant.prefix)
            for grant in self.grants
        )

    def allows_host(self, host: str) -> bool:
        try:
            host = host_canonical(host)
        except GrantInvalid:
            return False
        return any(not grant.is_s3 and grant.host == host for grant in self.grants)
