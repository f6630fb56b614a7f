from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from analytics_api.models import UsedTokenId
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _probe_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.analytics_api.probe_urls"


def _claims(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"appId": tenant.api_client.client_id, "iat": now, "exp": now + 600, **extra}


def _post(tenant: Tenant, token: str | None, *, header: str = "auth", account_id: str | None = None) -> Any:
    headers = {} if token is None else {header: token}
    return tenant.http.post(f"/probe/{account_id or tenant.account_id}", {}, format="json", headers=headers)


def _error(response: Any) -> dict[str, str]:
    body = response.json()
    assert list(body) == ["errors"]
    return body["errors"][0]


def test_it_accepts_a_token_in_the_auth_header(tenant: Tenant) -> None:
    response = _post(tenant, tenant.token())
    assert response.status_code == 200
    assert response.json() == {"accountId": tenant.account_id, "echo": {}}


@pytest.mark.parametrize("header,prefix", [("Authorization", "Bearer "), ("Authorization", ""), ("auth", "Bearer ")])
def test_it_accepts_bearer_and_raw_authorization(tenant: Tenant, header: str, prefix: str) -> None:
    assert _post(tenant, prefix + tenant.token(), header=header).status_code == 200


def test_missing_token_is_401_with_envelope(tenant: Tenant) -> None:
    response = _post(tenant, None)
    assert response.status_code == 401
    assert _error(response) == {
        "msg": "Authentication token is missing: send a JWT in the auth header or as Authorization: Bearer <token>.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "make_token,message",
    [
        (lambda t: "not-a-jwt", "The token is not a well-formed JWT."),
        (lambda t: jwt.encode(_claims(t), "wrong-secret-" * 4, algorithm="HS256"),
         "The token signature does not match the client secret."),
        (lambda t: jwt.encode(_claims(t), None, algorithm="none"), "The token must be signed with HS256."),
        (lambda t: jwt.encode(_claims(t), t.api_client.secret, algorithm="HS512"),
         "The token must be signed with HS256."),
        (lambda t: jwt.encode({"iat": int(time.time())}, t.api_client.secret, algorithm="HS256"),
         "The token has no appId claim naming the API client."),
        (lambda t: jwt.encode(_claims(t, appId="cs-unknown"), t.api_client.secret, algorithm="HS256"),
         "Unknown or disabled API client."),
        (lambda t: jwt.encode(_claims(t, exp=int(time.time()) - 120), t.api_client.secret, algorithm="HS256"),
         "The token has expired: mint a new one."),
        (lambda t: jwt.encode(_claims(t, nbf=int(time.time()) + 600), t.api_client.secret, algorithm="HS256"),
         "The token is not valid yet (nbf or iat in the future)."),
        (lambda t: jwt.encode(_claims(t, iat=int(time.time()) - 2 * 86400, exp=int(time.time()) + 60),
                              t.api_client.secret, algorithm="HS256"),
         "The token is too old (iat): mint a new one."),
    ],
    ids=["garbage", "bad-signature", "alg-none", "hs512", "no-appid", "unknown-client", "expired", "nbf",
         "too-old"],
)
def test_bad_tokens_are_401(tenant: Tenant, make_token: Any, message: str) -> None:
    response = _post(tenant, make_token(tenant))
    assert response.status_code == 401
    assert _error(response) == {"msg": message, "code": "invalid_token"}


def test_disabled_client_is_401(tenant: Tenant) -> None:
    token = tenant.token()
    tenant.api_client.enabled = False
    tenant.api_client.save()
    response = _post(tenant, token)
    assert response.status_code == 401
    assert _error(response)["msg"] == "Unknown or disabled API client."


def test_small_clock_skew_is_tolerated(tenant: Tenant) -> None:
    token = jwt.encode(_claims(tenant, iat=int(time.time()) + 10), tenant.api_client.secret, algorithm="HS256")
    assert _post(tenant, token).status_code == 200


def test_client_without_the_scope_is_403(db: Any) -> None:
    tenant = make_tenant(scopes=["ingest"])
    response = _post(tenant, tenant.token())
    assert response.status_code == 403
    assert _error(response) == {
        "msg": "This API client lacks the scope 'smartassist.analytics'.",
        "code": "permission_denied",
    }


def test_client_of_another_account_is_403(tenant: Tenant, outsider: Tenant) -> None:
    response = _post(outsider, outsider.token(), account_id=tenant.account_id)
    assert response.status_code == 403
    assert _error(response) == {
        "msg": f"This API client is not allowed to access account {tenant.account_id!r}.",
        "code": "account_forbidden",
    }


def test_enforced_jti_token_is_accepted_once(db: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    token = tenant.token(ttl_seconds=600)
    assert _post(tenant, token).status_code == 200
    again = _post(tenant, token)
    assert again.status_code == 401
    assert _error(again)["msg"] == "This token was already used (jti): mint a new one."
    assert UsedTokenId.objects.filter(client=tenant.api_client).count() == 1


def test_enforced_jti_requires_the_claim_and_a_short_expiry(db: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    no_jti = tenant.token(ttl_seconds=600, with_jti=False)
    assert _error(_post(tenant, no_jti))["msg"] == "This client requires a jti claim in every token."
    long_lived = tenant.token(ttl_seconds=7200)
    assert _error(_post(tenant, long_lived))["msg"] == "This client requires tokens that expire within one hour."


def test_unexpected_exception_is_a_500_envelope_with_request_id(tenant: Tenant, caplog: Any) -> None:
    response = tenant.http.get("/boom", headers={"x-request-id": "trace-42"})
    assert response.status_code == 500
    assert _error(response)["code"] == "internal_error"
    assert response["x-request-id"] == "trace-42"
    assert "boom" in caplog.text


def test_repeated_failures_from_one_address_are_throttled(tenant: Tenant, settings: Any) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 3
    statuses = [_post(tenant, "garbage").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = _post(tenant, tenant.token())
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1


def test_failures_are_logged_with_client_id_but_never_the_token(tenant: Tenant, caplog: Any) -> None:
    token = jwt.encode(_claims(tenant), "wrong-secret-" * 4, algorithm="HS256")
    with caplog.at_level("INFO", logger="analytics_api.auth"):
        _post(tenant, token)
    assert tenant.api_client.client_id in caplog.text
    assert token not in caplog.text
