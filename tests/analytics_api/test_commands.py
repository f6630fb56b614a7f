from __future__ import annotations

import io
import json
import re
from typing import Any

import jwt
import pytest
from django.core.management import CommandError, call_command

from analytics_api.models import Account, ApiClient, Bot

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_account_is_idempotent_and_adds_bots() -> None:
    _run("create_account", "a" * 24, "--org", "o-1", "--name", "Acme", "--bot", "st-1")
    output = _run("create_account", "a" * 24, "--org", "o-1", "--bot", "st-1", "--bot", "st-2")
    assert Account.objects.count() == 1
    assert sorted(Bot.objects.values_list("bot_id", flat=True)) == ["st-1", "st-2"]
    assert output.strip() == f"Account {'a' * 24} (org o-1); bots: st-1, st-2"


def test_create_account_refuses_another_org() -> None:
    _run("create_account", "b" * 24, "--org", "o-1")
    with pytest.raises(CommandError, match=f"Account {'b' * 24} belongs to org o-1, not o-2."):
        _run("create_account", "b" * 24, "--org", "o-2")
    assert Account.objects.get().org_id == "o-1"


def test_create_api_client_json_output_is_one_object_on_the_last_line() -> None:
    _run("create_account", "c" * 24, "--org", "o-9")
    output = _run("create_api_client", "c" * 24, "--scope", "ingest", "--scope", "recordings", "--json")
    payload = json.loads(output.strip().splitlines()[-1])
    client = ApiClient.objects.get()
    assert payload == {
        "clientId": client.client_id,
        "clientSecret": client.secret,
        "webhookSecret": client.webhook_secret,
        "accountId": "c" * 24,
        "orgId": "o-9",
        "scopes": ["ingest", "recordings"],
    }
    assert payload["clientId"].startswith("cs-")
    assert len(payload["clientSecret"]) >= 43  # 32+ random bytes, base64url
    assert payload["webhookSecret"] != payload["clientSecret"]


def test_create_api_client_for_unknown_account_fails_clearly() -> None:
    with pytest.raises(CommandError, match=re.escape("No account 'nope': create it first with create_account.")):
        _run("create_api_client", "nope", "--scope", "ingest")
    assert not ApiClient.objects.exists()


def test_create_api_client_rejects_unknown_scope() -> None:
    _run("create_account", "d" * 24, "--org", "o-1")
    with pytest.raises(CommandError, match="invalid choice"):
        _run("create_api_client", "d" * 24, "--scope", "everything")


def test_mint_jwt_prints_a_token_for_the_client(tenant: Any) -> None:
    token = _run("mint_jwt", tenant.api_client.client_id, "--ttl", "120").strip()
    claims = jwt.decode(token, tenant.api_client.secret, algorithms=["HS256"])
    assert claims["appId"] == tenant.api_client.client_id
    assert claims["exp"] - claims["iat"] == 120


def test_mint_jwt_for_unknown_client_fails_clearly() -> None:
    with pytest.raises(CommandError, match=re.escape("No API client 'cs-x'; create one with create_api_client.")):
        _run("mint_jwt", "cs-x")


def test_minted_token_is_accepted_by_the_api(tenant: Any) -> None:
    token = _run("mint_jwt", tenant.api_client.client_id).strip()
    response = tenant.http.get("/api/schema/?format=json", headers={"auth": token})
    assert response.status_code == 200
