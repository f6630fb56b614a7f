"""JWT authentication and scope checks (docs/contract.md#token-verification).

A token is HS256, signed with the client's secret, and names its client in the ``appId`` claim.
It travels in the ``auth`` header (raw, as the reference documents send it), or in
``Authorization`` either raw or as ``Bearer <token>``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from analytics_api.errors import ApiError
from analytics_api.models import Account, ApiClient, Bot, UsedTokenId
from analytics_api.text import is_storable

logger = logging.getLogger("analytics_api.auth")

JTI_MAX_LIFETIME = timedelta(hours=1)


class TokenInvalid(exceptions.AuthenticationFailed):
    default_code = "invalid_token"


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


def _fail(msg: str, *, client_id: str | None = None) -> TokenInvalid:
    logger.info("Authentication failed: %s (client %s)", msg, client_id or "unknown")
    return TokenInvalid(msg)


def client_for_token(token: str) -> tuple[ApiClient, dict[str, Any]]:
    """Verify a token and return its client and claims.

    1. Read the header without trusting it: only HS256 is accepted (no ``none``, no RS/ES).
    2. Find the client named by the unverified ``appId`` claim; unknown or disabled → 401.
    3. Verify the signature with that client's secret, and ``exp``/``nbf``/``iat`` with leeway.
    4. Refuse tokens older than ``JWT_MAX_AGE_SECONDS`` (by ``iat``).
    5. For clients with ``enforce_jti``: require ``jti`` and an ``exp`` within an hour, and
       record the ``jti`` so that the same token is refused the second time.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _fail("The token is not a well-formed JWT.") from None
    if header.get("alg") != "HS256":
        raise _fail("The token must be signed with HS256.")
    client_id = unverified.get("appId")
    if not isinstance(client_id, str) or not client_id:
        raise _fail("The token has no appId claim naming the API client.")

    client = ApiClient.objects.select_related("account").filter(client_id=client_id).first()
    if client is None or not client.enabled:
        raise _fail("Unknown or disabled API client.", client_id=client_id)

    leeway = settings.JWT_LEEWAY_SECONDS
    try:
        claims = jwt.decode(
            token,
            client.secret,
            algorithms=["HS256"],
            leeway=leeway,
            options={"require": [], "verify_iat": True},
        )
    except jwt.ExpiredSignatureError:
        raise _fail("The token has expired: mint a new one.", client_id=client_id) from None
    except jwt.ImmatureSignatureError:
        raise _fail("The token is not valid yet (nbf or iat in the future).", client_id=client_id) from None
    except jwt.InvalidSignatureError:
        raise _fail("The token signature does not match the client secret.", client_id=client_id) from None
    except jwt.PyJWTError as error:
        raise _fail(f"The token is invalid: {error}.", client_id=client_id) from None

    now = datetime.now(UTC).timestamp()
    iat = claims.get("iat")
    if isinstance(iat, int | float) and now - iat > settings.JWT_MAX_AGE_SECONDS + leeway:
        raise _fail("The token is too old (iat): mint a new one.", client_id=client_id)

    if client.enforce_jti:
        _accept_jti_once(client, claims, now)
    return client, claims


def _accept_jti_once(client: ApiClient, claims: dict[str, Any], now: float) -> None:
    jti = claims.get("jti")
    exp = claims.get("exp")
    if not isinstance(jti, str) or not jti:
        raise _fail("This client requires a jti claim in every token.", client_id=client.client_id)
    if not isinstance(exp, int | float) or exp - now > JTI_MAX_LIFETIME.total_seconds():
        raise _fail("This client requires tokens that expire within one hour.", client_id=client.client_id)
    expires_at = datetime.fromtimestamp(exp, UTC)
    try:
        with transaction.atomic():
            UsedTokenId.objects.create(client=client, jti=jti[:255], expires_at=expires_at)
    except IntegrityError:
        raise _fail("This token was already used (jti): mint a new one.", client_id=client.client_id) from None
    # Keep the table small: ids of expired tokens can no longer be replayed anyway.
    UsedTokenId.objects.filter(client=client, expires_at__lt=datetime.fromtimestamp(now, UTC)).delete()


def _failure_key(request: Request) -> str:
    return f"authfail:{request.META.get('REMOTE_ADDR', '-')}:{int(time.time() // 60)}"


class JWTAuthentication(BaseAuthentication):
    """Authenticates by JWT; an address with too many recent failures is answered 429 at once."""

    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiClient] | None:
        token = raw_token(request)
        if token is None:
            return None
        key = _failure_key(request)
        if (cache.get(key) or 0) >= settings.AUTH_FAILURES_PER_MINUTE:
            logger.warning("Authentication throttled for %s", request.META.get("REMOTE_ADDR"))
            raise exceptions.Throttled(wait=60 - time.time() % 60)
        try:
            client, _claims = client_for_token(token)
        except TokenInvalid:
            cache.add(key, 0, timeout=120)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=120)
            raise
        return ClientPrincipal(client), client

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="analytics"'


class HasScope(BasePermission):
    """Requires an authenticated client holding ``view.required_scope``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "required_scope", None)
        if scope is None:
            return True
        if not isinstance(request.user, ClientPrincipal):
            raise exceptions.NotAuthenticated(
                "Authentication token is missing: send a JWT in the auth header or as Authorization: Bearer <token>."
            )
        if not request.user.client.has_scope(scope):
            logger.info("Scope %s missing for client %s", scope, request.user.client.client_id)
            raise exceptions.PermissionDenied(f"This API client lacks the scope {scope!r}.")
        return True


def request_account(request: Request) -> Account:
    principal = request.user
    assert isinstance(principal, ClientPrincipal)
    return principal.account


def account_matching(request: Request, account_id: str, *, source: str = "path") -> Account:
    """The caller's account, provided it is ``account_id``; another account's id is 403."""
    account = request_account(request)
    if account_id != account.account_id:
        logger.info(
            "Client %s denied access to account %r (%s)", request.user.client.client_id, account_id, source
        )
        raise ApiError(
            f"This API client is not allowed to access account {account_id!r}.",
            code="account_forbidden",
            status_code=403,
            field="accountId" if source == "header" else None,
        )
    return account


def account_bot(account: Account, bot_id: str, *, field: str) -> Bot:
    """A bot/app of the account; another account's or an unknown one is 404, never 403."""
    # No bot id holds a NUL, and PostgreSQL cannot even compare one: such an id is simply unknown.
    bot = Bot.objects.filter(account=account, bot_id=bot_id).first() if is_storable(bot_id) else None
    if bot is None:
        raise ApiError(f"No bot or app {bot_id!r} in this account.", code="not_found", status_code=404, field=field)
    return bot


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
                "Mint one with `python manage.py mint_jwt <clientId>`."
            ),
        }
