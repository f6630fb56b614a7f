"""JWT authentication (docs/contract.md#token-verification); what an authenticated caller may reach is
``analytics_api.tenancy.access``.

A token is HS256, signed with the client's secret, and names its client in the ``appId`` claim.
It travels in the ``auth`` header (raw, as the reference documents send it), or in
``Authorization`` either raw or as ``Bearer <token>``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import is_storable
from analytics_api.logs import context_set
from analytics_api.metrics import AUTH_FAILURES, RATE_LIMITED
from analytics_api.models import Account, ApiClient, UsedTokenId
from analytics_api.tenancy.client_cache import CachedClient, ClientCache, client_version_key, process_cache_register
from analytics_api.tenancy.throttling import (
    RateCounts,
    client_address,
    rate_windows,
    window_counts,
    window_counts_reading,
    window_reset,
)

logger = logging.getLogger("analytics_api.tenancy.auth")

JTI_MAX_LIFETIME = timedelta(hours=1)
# A jti is an id, not a payload: longer ones are refused rather than stored.
JTI_MAX_LENGTH = 1024
_TIME_CLAIMS = ("exp", "nbf", "iat")


class TokenInvalid(exceptions.AuthenticationFailed):
    default_code = "invalid_token"

    def __init__(
        self, detail: str, *, client_id: str | None = None, named: str | None = None, reason: str = "invalid"
    ) -> None:
        super().__init__(detail)
        # The existing client the token names, when it names one: its failures count against it.
        self.client_id = client_id
        # Whatever appId the token names, existing or not (for the log).
        self.named = named
        # A fixed word for the metrics' label (never the token or the message).
        self.reason = reason


@dataclass(frozen=True)
class ClientPrincipal:
    """``request.user`` for API calls: the client and the account it acts for."""

    client: ApiClient

    is_authenticated = True
    is_anonymous = False

    @property
    def account(self) -> Account:
        return self.client.account

    def __str__(self) -> str:
        return self.client.client_id


def raw_token(request: Request) -> str | None:
    token = request.META.get("HTTP_AUTH") or request.META.get("HTTP_AUTHORIZATION")
    if not token:
        return None
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token or None


def _fail(msg: str, *, reason: str, client_id: str | None = None, known: bool = False) -> TokenInvalid:
    """The 401 for a token refused for ``reason``; logged and counted once, by JWTAuthentication
    (a failure on the process's copy of a client is verified again, so it may be raised twice)."""
    return TokenInvalid(msg, client_id=client_id if known else None, named=client_id, reason=reason)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, float):
        return "NaN or Infinity"
    return "an array" if isinstance(value, list) else "an object"


def _time_claims_problem(claims: dict[str, Any]) -> str | None:
    """Why the token's ``exp``/``nbf``/``iat`` are unacceptable, or None.

    They must be JSON numbers (RFC 7519 NumericDate: integer or fractional seconds since the epoch);
    strings such as "1000", booleans, null and NaN/Infinity are refused (PyJWT would read "1000"
    and true as numbers). ``exp`` is required: a token without it would never expire.
    """
    for name in _TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        # (isfinite only for floats: a JSON integer may be too large to convert to one)
        if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            return (
                f"The token's {name} claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, "
                f"not {_json_kind(value)}."
            )
    if "exp" not in claims:
        return (
            "The token has no exp claim; tokens must expire within JWT_MAX_AGE_SECONDS "
            f"({settings.JWT_MAX_AGE_SECONDS} s): add exp = iat + at most that many seconds."
        )
    return None


def _client_load(client_id: str) -> ApiClient | None:
    # The account's privacy settings come along (every conversation read asks for them); changing
    # them announces the account's clients as changed, so no process keeps a stale copy.
    return ApiClient.objects.select_related("account", "account__privacy_settings").filter(client_id=client_id).first()


_clients = process_cache_register(ClientCache(load=_client_load))


def client_for_token(token: str, *, clients: ClientCache = _clients) -> tuple[ApiClient, dict[str, Any]]:
    """Verify a token against its client as the shared cache says it is now; the client and claims."""
    entry, claims, _ = _entry_for_token(token, clients=clients, confirmed=True)
    return entry.client, claims


def _entry_for_token(
    token: str, *, clients: ClientCache, confirmed: bool
) -> tuple[CachedClient, dict[str, Any], bool]:
    """``_verify``; when it failed on this process's unconfirmed copy of a known client, once more
    on the client as it is now (the change that makes the token pass may be what the copy lacks)."""
    try:
        return _verify(token, clients=clients, confirmed=confirmed)
    except TokenInvalid as error:
        if confirmed or error.client_id is None:
            raise
        return _verify(token, clients=clients, confirmed=True)


def _client_entry(clients: ClientCache, client_id: str, *, confirmed: bool) -> tuple[CachedClient | None, bool]:
    """The client's entry, and whether its version was read from the shared cache just now.

    Single-use clients are always confirmed: their ``jti`` is recorded before the caller could
    compare versions, and a second attempt would find it used.
    """
    if not confirmed:
        local = clients.local(client_id)
        if local is not None and not local.client.enforce_jti:
            return local, False
    return clients.get(client_id), True


def _verify(token: str, *, clients: ClientCache, confirmed: bool) -> tuple[CachedClient, dict[str, Any], bool]:
    """Verify a token; its client's entry, the claims, and whether the entry was confirmed.

    With ``confirmed=False`` this process's copy of the client may be used as it is: the caller
    must then compare its version with the shared one and verify again if they differ.

    0. A token this process verified before, with the client's current secret, is only checked
       again against the clock and the lifetime rules (``_verified_client``).
    1. Read the header without trusting it: only HS256 is accepted (no ``none``, no RS/ES).
    2. Find the client named by the unverified ``appId`` claim (in the process's client cache);
       unknown or disabled → 401.
    3. Require an ``exp``; ``exp``/``nbf``/``iat`` must be JSON numbers.
    4. Verify the signature with that client's secret, and ``exp``/``nbf``/``iat`` with leeway.
    5. Refuse tokens older than ``JWT_MAX_AGE_SECONDS`` (by ``iat``), and tokens living longer
       than that: ``exp - iat``, or ``exp - now`` without ``iat``.
    6. For clients with ``enforce_jti``: require ``jti`` and an ``exp`` within an hour, and
       record the ``jti`` so that the same token is refused the second time.
    """
    known = _verified_client(token, clients, confirmed=confirmed)
    if known is not None:
        return known
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _fail("The token is not a well-formed JWT.", reason="malformed") from None
    if header.get("alg") != "HS256":
        raise _fail("The token must be signed with HS256.", reason="algorithm")
    client_id = unverified.get("appId")
    if not isinstance(client_id, str) or not client_id:
        raise _fail("The token has no appId claim naming the API client.", reason="no_app_id")

    cached, confirmed = (
        _client_entry(clients, client_id, confirmed=confirmed)
        if len(client_id) <= 64 and is_storable(client_id)
        else (None, True)
    )
    if cached is None or not cached.client.enabled:
        raise _fail(
            "Unknown or disabled API client.", reason="unknown_client", client_id=client_id, known=cached is not None
        )
    client: ApiClient = cached.client
    problem = _time_claims_problem(unverified)
    if problem:
        raise _fail(problem, reason="time_claims", client_id=client_id, known=True)

    leeway = settings.JWT_LEEWAY_SECONDS
    try:
        claims = jwt.decode(
            token,
            cached.secret,
            algorithms=["HS256"],
            leeway=leeway,
            options={"require": ["exp"], "verify_iat": True},
        )
    except jwt.ExpiredSignatureError:
        raise _fail(
            "The token has expired: mint a new one.", reason="expired", client_id=client_id, known=True
        ) from None
    except jwt.ImmatureSignatureError:
        raise _fail(
            "The token is not valid yet (nbf or iat in the future).", reason="not_yet_valid", client_id=client_id,
            known=True,
        ) from None
    except jwt.InvalidSignatureError:
        raise _fail(
            "The token signature does not match the client secret.", reason="bad_signature", client_id=client_id,
            known=True,
        ) from None
    except jwt.PyJWTError as error:
        raise _fail(f"The token is invalid: {error}.", reason="invalid", client_id=client_id, known=True) from None

    now = datetime.now(UTC).timestamp()
    _lifetime_check(claims, now=now, client_id=client_id)
    if client.enforce_jti:
        _accept_jti_once(client, claims, now)
    else:
        _verified_remember(token, _Verified(client_id=client_id, secret=cached.secret, claims=claims))
    return cached, claims, confirmed


def _lifetime_check(claims: dict[str, Any], *, now: float, client_id: str) -> None:
    """Refuse tokens older than ``JWT_MAX_AGE_SECONDS`` (by ``iat``) or living longer than that."""
    leeway = settings.JWT_LEEWAY_SECONDS
    max_age = settings.JWT_MAX_AGE_SECONDS
    iat = claims.get("iat")
    if iat is not None and now - iat > max_age + leeway:
        raise _fail("The token is too old (iat): mint a new one.", reason="too_old", client_id=client_id, known=True)
    # Both ends of exp - iat come from the minting clock; exp - now compares two clocks: leeway.
    if iat is not None:
        lifetime, allowed, measured = claims["exp"] - iat, max_age, "exp - iat"
    else:
        lifetime, allowed, measured = claims["exp"] - now, max_age + leeway, "exp - now"
    if lifetime > allowed:
        raise _fail(
            f"The token is valid for {int(lifetime)} s ({measured}); tokens must expire within "
            f"JWT_MAX_AGE_SECONDS ({max_age} s): mint one with an earlier exp.",
            reason="lifetime",
            client_id=client_id,
            known=True,
        )


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature verified with ``secret`` (the very object the client cache holds)."""

    client_id: str
    secret: str
    claims: dict[str, Any]


# A client sends the same token many times, and its header, signature and claims cannot change:
# only the time claims need checking again (and the client: the cache checks its version). Tokens
# of single-use clients are never kept, so a replay always reaches the jti check.
_VERIFIED_MAX_ENTRIES = 4096
_verified: dict[str, _Verified] = {}


def _verified_remember(token: str, verified: _Verified) -> None:
    if len(_verified) >= _VERIFIED_MAX_ENTRIES:
        _verified.clear()
    _verified[token] = verified


def _verified_client(
    token: str, clients: ClientCache, *, confirmed: bool
) -> tuple[CachedClient, dict[str, Any], bool] | None:
    """``_verify``'s answer for a token verified before with the client's secret of now, checked
    again against the clock exactly as PyJWT checks them (``iat``, ``nbf``, then ``exp``); or None."""
    known = _verified.get(token)
    if known is None:
        return None
    cached, confirmed = _client_entry(clients, known.client_id, confirmed=confirmed)
    if cached is None or cached.secret is not known.secret or not cached.client.enabled or cached.client.enforce_jti:
        return None
    claims, client_id = known.claims, known.client_id
    now = datetime.now(UTC).timestamp()
    leeway = settings.JWT_LEEWAY_SECONDS
    if any(name in claims and int(claims[name]) > now + leeway for name in ("iat", "nbf")):
        raise _fail(
            "The token is not valid yet (nbf or iat in the future).", reason="not_yet_valid", client_id=client_id,
            known=True,
        )
    if int(claims["exp"]) <= now - leeway:
        raise _fail("The token has expired: mint a new one.", reason="expired", client_id=client_id, known=True)
    _lifetime_check(claims, now=now, client_id=client_id)
    return cached, claims, confirmed


def jti_digest(jti: str) -> str:
    """What is stored of a ``jti``: its SHA-256, so ids of any length compare whole."""
    # surrogatepass: a JSON string may hold an unpaired surrogate, which strict UTF-8 cannot encode.
    return hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()


def _accept_jti_once(client: ApiClient, claims: dict[str, Any], now: float) -> None:
    """Record the token's ``jti``; a recorded one is a replay.

    The id is kept until ``exp`` + leeway, as long as the token itself is accepted.
    """
    jti = claims.get("jti")
    exp = claims["exp"]
    if not isinstance(jti, str) or not jti:
        raise _fail(
            "This client requires a jti claim in every token.", reason="jti", client_id=client.client_id, known=True
        )
    if len(jti) > JTI_MAX_LENGTH:
        raise _fail(
            f"The token's jti is {len(jti)} characters long; at most {JTI_MAX_LENGTH} are accepted: "
            "use a UUID.",
            reason="jti",
            client_id=client.client_id,
            known=True,
        )
    if exp - now > JTI_MAX_LIFETIME.total_seconds():
        raise _fail(
            "This client requires tokens that expire within one hour.", reason="jti", client_id=client.client_id,
            known=True,
        )
    keep_until = datetime.fromtimestamp(exp + settings.JWT_LEEWAY_SECONDS, UTC)
    try:
        with transaction.atomic():
            UsedTokenId.objects.create(client=client, jti_sha256=jti_digest(jti), keep_until=keep_until)
    except IntegrityError:
        raise _fail(
            "This token was already used (jti): mint a new one.", reason="replayed", client_id=client.client_id,
            known=True,
        ) from None
    # Keep the table small: ids of tokens past exp + leeway can no longer be replayed anyway.
    UsedTokenId.objects.filter(client=client, keep_until__lt=datetime.fromtimestamp(now, UTC)).delete()


class JWTAuthentication(BaseAuthentication):
    """Authenticates by JWT; once failures pile up, further failing attempts are answered 429.

    A token that verifies is always accepted: the limit only ever turns a failure's 401 into a
    429 (with ``Retry-After``), so an attacker cannot lock a client out. Failures are counted per
    minute against the client the token names when that client exists (attempts on one client
    from many addresses add up), else against the caller's address (garbage, unknown client ids).
    """

    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiClient] | None:
        token = raw_token(request)
        if token is None:
            return None
        try:
            entry, _claims, confirmed = _entry_for_token(token, clients=_clients, confirmed=False)
            # The client's version and its rate counts, in one round trip (ClientRateThrottle
            # judges the counts); a version other than our copy's: verify again on the client of now.
            now = time.time()
            counts, version = window_counts_reading(
                rate_windows(entry.client.client_id), read_key=client_version_key(entry.client.client_id), now=now
            )
            if not confirmed and version != entry.version:
                entry, _claims, _ = _entry_for_token(token, clients=_clients, confirmed=True)
        except TokenInvalid as error:
            logger.info(
                "Authentication failed (%s): %s (client %s)", error.reason, error.detail, error.named or "unknown"
            )
            AUTH_FAILURES.labels(reason=error.reason).inc()
            self._count_failure(request, error)
            raise
        request.client_rate_counts = RateCounts(client_id=entry.client.client_id, now=now, counts=counts)
        context_set(client_id=entry.client.client_id, account=entry.client.account.account_id)
        return ClientPrincipal(entry.client), entry.client

    def _count_failure(self, request: Request, error: TokenInvalid) -> None:
        now = time.time()
        address = client_address(request)
        name = f"authfail:client:{error.client_id}" if error.client_id else f"authfail:addr:{address}"
        (count,) = window_counts([(name, 60)], now=now)
        if count <= settings.AUTH_FAILURES_PER_MINUTE:
            return
        wait = max(1, math.ceil(window_reset(60, now)))
        logger.warning("Authentication throttled for %s (client %s)", address, error.client_id or "unknown")
        RATE_LIMITED.labels(reason="auth_failures").inc()
        target = "this API client" if error.client_id else "this address"
        raise ApiError(
            f"{error.detail} Too many failed authentications for {target}: fix the token, then retry in "
            f"{wait} seconds.",
            code="rate_limited",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="analytics"'


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = JWTAuthentication
    name = "jwtAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "HS256 JWT signed with the API client's secret, claim `appId` = client id. "
                "Send it as `Authorization: Bearer <token>` or raw in the `auth` header. "
                "`exp` is required and the token may live at most `JWT_MAX_AGE_SECONDS` (86400 s by "
                "default): `exp - iat` (or `exp - now` without `iat`) above it is refused. `exp`, `iat` "
                "and `nbf` are JSON numbers of seconds since the epoch (not strings), checked with "
                "`JWT_LEEWAY_SECONDS` (30 s) of clock skew. A client with enforce-jti accepts each "
                "`jti` (at most 1024 characters) once, in tokens expiring within an hour. After "
                "`AUTH_FAILURES_PER_MINUTE` failures for one client (or one address), failing tokens "
                "are answered 429 with `Retry-After`; a valid token is never refused. "
                "Mint one with `python manage.py mint_jwt <clientId>`."
            ),
        }
