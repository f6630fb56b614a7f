"""What an authenticated caller may reach: its scopes, its account, and that account's bots.

Every view relies on these: ``HasScope`` (the default permission: set ``required_scope`` on a view),
``account_matching`` (an account named in the path or a header must be the caller's, else 403) and
``account_bot`` (a bot or stream of the caller's account, else 404, never 403).
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from analytics_api.kernel.compiled import CompiledQuery
from analytics_api.kernel.errors import ApiError
from analytics_api.kernel.text import is_storable
from analytics_api.metrics import AUTH_FAILURES
from analytics_api.models import Account, Bot
from analytics_api.tenancy.auth import ClientPrincipal

# Refusals are logged beside the authentication's, under one logger operators already follow.
logger = logging.getLogger("analytics_api.tenancy.auth")


class HasScope(BasePermission):
    """Requires an authenticated client holding ``view.required_scope``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "required_scope", None)
        if scope is None:
            return True
        if not isinstance(request.user, ClientPrincipal):
            AUTH_FAILURES.labels(reason="missing").inc()
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


# One row at most (the pair is unique). Compiled once: building and compiling the ORM query on every
# rawdata request cost more of the process's CPU than the indexed read costs PostgreSQL.
_BOT: CompiledQuery[Bot] = CompiledQuery(
    lambda *, account_id, bot_id: Bot.objects.filter(account_id=account_id, bot_id=bot_id)[:1]
)


def account_bot(account: Account, bot_id: str, *, field: str) -> Bot:
    """A bot/app of the account; another account's or an unknown one is 404, never 403."""
    # No bot id holds a NUL, and PostgreSQL cannot even compare one: such an id is simply unknown.
    found = _BOT.instances(account_id=account.pk, bot_id=bot_id) if is_storable(bot_id) else []
    if not found:
        raise ApiError(f"No bot or app {bot_id!r} in this account.", code="not_found", status_code=404, field=field)
    return found[0]
