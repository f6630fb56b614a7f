"""Shared personas: an account with its bot and API client, and a second account as the outsider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from analytics_api.models import Account, ApiClient, Bot
from analytics_api.tenancy.services import jwt_mint
from tests.factories import AccountFactory, ApiClientFactory, BotFactory


@pytest.fixture(autouse=True)
def _isolated_state(settings: Any, tmp_path: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()


@dataclass
class Tenant:
    """An account, its first bot, its API client and an HTTP client that sends the client's JWT."""

    account: Account
    bot: Bot
    api_client: ApiClient
    http: APIClient

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def token(self, **kwargs: Any) -> str:
        return jwt_mint(client=self.api_client, **kwargs)

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.http.post(path, body, format="json", headers={"auth": self.token(), **headers})

    def get(self, path: str, **headers: Any) -> Any:
        return self.http.get(path, headers={"auth": self.token(), **headers})

    def put(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.http.put(path, body, format="json", headers={"auth": self.token(), **headers})


def make_tenant(**client_kwargs: Any) -> Tenant:
    account = AccountFactory()
    bot = BotFactory(account=account)
    api_client = ApiClientFactory(account=account, **client_kwargs)
    return Tenant(account=account, bot=bot, api_client=api_client, http=APIClient())


@pytest.fixture
def tenant(db: Any) -> Tenant:
    """The account under test, with a client holding every scope."""
    return make_tenant()


@pytest.fixture
def outsider(db: Any) -> Tenant:
    """A second account: must never see or change the first one's data."""
    return make_tenant()


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
