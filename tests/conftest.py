"""Shared personas (an account with its bot and API client, a second account as the outsider) and moto's S3 server."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from django.core.cache import cache
from moto.server import ThreadedMotoServer
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

    def delete(self, path: str, **headers: Any) -> Any:
        return self.http.delete(path, headers={"auth": self.token(), **headers})


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1, speaking the real protocol over HTTP."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings: Any, moto_endpoint: str) -> Any:
    """S3 storage switched on, in a fresh bucket; returns a plain boto3 client on the same server."""
    bucket = f"rec-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.S3_BUCKET = bucket
    settings.S3_PREFIX = "recordings/"
    settings.AWS_ENDPOINT_URL = moto_endpoint
    settings.AWS_REGION = "us-east-1"
    client.bucket = bucket
    return client
