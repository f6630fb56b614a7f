"""Writes for tenancy: accounts, bots and API clients; minting tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import jwt
from django.conf import settings
from django.db import transaction

from analytics_api.kernel.errors import ApiError
from analytics_api.models import Account, ApiClient, Bot, Scope


@transaction.atomic
def account_ensure(*, account_id: str, org_id: str, name: str = "", bot_ids: Iterable[str] = ()) -> Account:
    """Create the account if needed and add any bots it lacks (idempotent)."""
    account, created = Account.objects.get_or_create(
        account_id=account_id, defaults={"org_id": org_id, "name": name}
    )
    if not created and account.org_id != org_id:
        raise ApiError(
            f"Account {account_id} belongs to org {account.org_id}, not {org_id}.",
            code="org_mismatch",
            field="org",
        )
    if name and account.name != name:
        account.name = name
        account.save(update_fields=["name"])
    existing = set(account.bots.values_list("bot_id", flat=True))
    Bot.objects.bulk_create(
        [Bot(account=account, bot_id=bot_id) for bot_id in dict.fromkeys(bot_ids) if bot_id not in existing]
    )
    return account


def api_client_create(*, account_id: str, scopes: Iterable[str], name: str = "") -> ApiClient:
    account = Account.objects.filter(account_id=account_id).first()
    if account is None:
        raise ApiError(
            f"No account {account_id!r}: create it first with create_account.",
            code="not_found",
            status_code=404,
            field="accountId",
        )
    wanted = list(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted if scope not in Scope.values]
    if unknown or not wanted:
        raise ApiError(
            f"Unknown scope(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(Scope.values)}.",
            code="invalid_scope",
            field="scope",
        )
    return ApiClient.objects.create(account=account, scopes=wanted, name=name)


def jwt_mint(*, client: ApiClient, ttl_seconds: int | None = None, with_jti: bool | None = None) -> str:
    """A token for the client: ``appId``, ``iat``, ``exp`` and, when the client wants one, ``jti``.

    The lifetime must be within ``JWT_MAX_AGE_SECONDS``: the API refuses longer-lived tokens.
    """
    now = int(time.time())
    ttl = ttl_seconds if ttl_seconds is not None else settings.JWT_DEFAULT_TTL_SECONDS
    if not 0 < ttl <= settings.JWT_MAX_AGE_SECONDS:
        raise ApiError(
            f"A token must live between 1 and JWT_MAX_AGE_SECONDS ({settings.JWT_MAX_AGE_SECONDS}) seconds, "
            f"not {ttl}: the API refuses longer-lived tokens.",
            code="invalid_ttl",
            field="ttl",
        )
    claims: dict[str, object] = {"appId": client.client_id, "iat": now, "exp": now + ttl}
    if with_jti if with_jti is not None else client.enforce_jti:
        claims["jti"] = str(uuid.uuid4())
    return jwt.encode(claims, client.secret, algorithm="HS256")
