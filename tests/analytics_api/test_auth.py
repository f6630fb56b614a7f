from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from analytics_api.kernel.errors import ApiError
from analytics_api.models import UsedTokenId
from analytics_api.tenancy.auth import jti_digest
from analytics_api.tenancy.throttling import client_address
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db

NOW = int(datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC).timestamp())


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


def test_failing_tokens_past_the_limit_are_429_and_a_valid_token_still_passes(tenant: Tenant, settings: Any) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 3
    statuses = [_post(tenant, "garbage").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = _post(tenant, "garbage")
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert _error(blocked) == {
        "msg": "The token is not a well-formed JWT. Too many failed authentications for this address: fix the "
               f"token, then retry in {blocked['Retry-After']} seconds.",
        "code": "rate_limited",
    }
    # The address is over its limit, but a token that verifies is never refused.
    assert _post(tenant, tenant.token()).status_code == 200


def test_failures_for_one_client_do_not_lock_out_another_client_at_the_same_address(
    tenant: Tenant, outsider: Tenant, settings: Any
) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 3
    forged = jwt.encode(_claims(tenant), "wrong-secret-" * 4, algorithm="HS256")
    assert [_post(tenant, forged).status_code for _ in range(4)] == [401, 401, 401, 429]
    # The other client's own mistakes still get their 401 and its reason, its valid tokens a 200.
    outsider_forged = jwt.encode(_claims(outsider), "wrong-secret-" * 4, algorithm="HS256")
    refused = _post(outsider, outsider_forged, account_id=outsider.account_id)
    assert refused.status_code == 401
    assert _error(refused)["msg"] == "The token signature does not match the client secret."
    assert _post(outsider, outsider.token(), account_id=outsider.account_id).status_code == 200
    assert _post(tenant, tenant.token()).status_code == 200


def test_failures_for_one_client_add_up_across_addresses(tenant: Tenant, settings: Any) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 3
    forged = jwt.encode(_claims(tenant), "wrong-secret-" * 4, algorithm="HS256")
    statuses = [
        tenant.http.post(f"/probe/{tenant.account_id}", {}, format="json", headers={"auth": forged},
                         REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def _garbage_from(tenant: Tenant, remote: str, forwarded: str) -> int:
    return tenant.http.post(f"/probe/{tenant.account_id}", {}, format="json", headers={"auth": "garbage"},
                            REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded).status_code


def test_x_forwarded_for_is_ignored_without_trusted_proxies(tenant: Tenant, settings: Any) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 2
    # A caller cannot escape the limit by sending a new X-Forwarded-For each time.
    statuses = [_garbage_from(tenant, "203.0.113.9", f"192.0.2.{n}") for n in range(3)]
    assert statuses == [401, 401, 429]


def test_behind_trusted_proxies_the_caller_is_the_nth_forwarded_address_from_the_right(
    tenant: Tenant, settings: Any
) -> None:
    settings.AUTH_FAILURES_PER_MINUTE = 2
    settings.TRUSTED_PROXY_COUNT = 2
    # Everyone reaches the app through the same proxy address; the spoofed left entry is ignored.
    attacker = [_garbage_from(tenant, "10.0.0.2", f"1.2.3.{n}, 192.0.2.66, 10.0.0.1") for n in range(3)]
    assert attacker == [401, 401, 429]
    assert _garbage_from(tenant, "10.0.0.2", "192.0.2.77, 10.0.0.1") == 401


@pytest.mark.parametrize(
    "proxies,forwarded,expected",
    [
        (0, "192.0.2.1", "203.0.113.9"),
        (1, "198.51.100.7, 192.0.2.1", "192.0.2.1"),
        (2, "198.51.100.7, 192.0.2.1", "198.51.100.7"),
        (2, "192.0.2.1", "203.0.113.9"),  # fewer entries than proxies: not through every proxy
        (1, "not-an-address", "203.0.113.9"),
        (1, "", "203.0.113.9"),
    ],
)
def test_client_address(settings: Any, proxies: int, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_failures_are_logged_with_client_id_but_never_the_token(tenant: Tenant, caplog: Any) -> None:
    token = jwt.encode(_claims(tenant), "wrong-secret-" * 4, algorithm="HS256")
    with caplog.at_level("INFO", logger="analytics_api.tenancy.auth"):
        _post(tenant, token)
    assert tenant.api_client.client_id in caplog.text
    assert token not in caplog.text


MAX_AGE_RULE = "tokens must expire within JWT_MAX_AGE_SECONDS (86400 s)"


@pytest.mark.parametrize(
    "claims,message",
    [
        ({"iat": NOW}, f"The token has no exp claim; {MAX_AGE_RULE}: add exp = iat + at most that many seconds."),
        ({}, f"The token has no exp claim; {MAX_AGE_RULE}: add exp = iat + at most that many seconds."),
        ({"iat": "1000", "exp": NOW + 600},
         "The token's iat claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, not a string."),
        ({"iat": NOW, "exp": str(NOW + 600)},
         "The token's exp claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, not a string."),
        ({"iat": NOW, "exp": True},
         "The token's exp claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, not a boolean."),
        ({"iat": NOW, "exp": NOW + 600, "nbf": None},
         "The token's nbf claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, not null."),
        ({"iat": NOW, "exp": float("inf")},
         "The token's exp claim must be a JSON number of seconds since 1970-01-01T00:00:00Z, not NaN or Infinity."),
        ({"iat": NOW, "exp": NOW + 10 * 365 * 86400},
         f"The token is valid for {10 * 365 * 86400} s (exp - iat); {MAX_AGE_RULE}: mint one with an earlier exp."),
        ({"iat": NOW - 600, "exp": NOW + 86400},
         f"The token is valid for {86400 + 600} s (exp - iat); {MAX_AGE_RULE}: mint one with an earlier exp."),
        ({"exp": NOW + 86400 + 31},
         f"The token is valid for 86431 s (exp - now); {MAX_AGE_RULE}: mint one with an earlier exp."),
        ({"iat": NOW, "exp": 10**80},
         f"The token is valid for {10**80 - NOW} s (exp - iat); {MAX_AGE_RULE}: mint one with an earlier exp."),
    ],
    ids=["iat-only", "no-times", "string-iat", "string-exp", "boolean-exp", "null-nbf", "infinite-exp",
         "ten-years", "a-day-and-ten-minutes", "far-exp-without-iat", "huge-integer-exp"],
)
def test_tokens_must_expire_within_the_maximum_age(tenant: Tenant, claims: dict[str, Any], message: str) -> None:
    token = jwt.encode({"appId": tenant.api_client.client_id, **claims}, tenant.api_client.secret, algorithm="HS256")
    with time_machine.travel(NOW, tick=False):
        response = _post(tenant, token)
    assert response.status_code == 401
    assert _error(response) == {"msg": message, "code": "invalid_token"}


@pytest.mark.parametrize(
    "claims",
    [{"iat": NOW, "exp": NOW + 86400}, {"exp": NOW + 86400 + 30}, {"iat": NOW + 0.25, "exp": NOW + 600.5}],
    ids=["exactly-the-maximum", "exp-only-within-leeway", "fractional-seconds"],
)
def test_tokens_living_at_most_the_maximum_age_are_accepted(tenant: Tenant, claims: dict[str, Any]) -> None:
    token = jwt.encode({"appId": tenant.api_client.client_id, **claims}, tenant.api_client.secret, algorithm="HS256")
    with time_machine.travel(NOW, tick=False):
        assert _post(tenant, token).status_code == 200


def test_jwt_mint_mints_up_to_the_maximum_age_and_refuses_longer(tenant: Tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        token = tenant.token(ttl_seconds=86400)
        assert _post(tenant, token).status_code == 200
        with pytest.raises(ApiError, match=re.escape(
            "A token must live between 1 and JWT_MAX_AGE_SECONDS (86400) seconds, not 86401: "
            "the API refuses longer-lived tokens."
        )):
            tenant.token(ttl_seconds=86401)
        with pytest.raises(CommandError, match="not 90000"):
            call_command("mint_jwt", tenant.api_client.client_id, "--ttl", "90000", stdout=io.StringIO())


def _jti_token(tenant: Tenant, jti: str, *, iat: int, ttl: int = 600) -> str:
    claims = {"appId": tenant.api_client.client_id, "iat": iat, "exp": iat + ttl, "jti": jti}
    return jwt.encode(claims, tenant.api_client.secret, algorithm="HS256")


def test_a_used_jti_is_refused_for_as_long_as_its_token_is_accepted(db: Any, settings: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    leeway = settings.JWT_LEEWAY_SECONDS
    captured = _jti_token(tenant, "jti-captured", iat=NOW)
    with time_machine.travel(NOW, tick=False):
        assert _post(tenant, captured).status_code == 200
    # Past exp, another request of the client sweeps the ids it no longer needs...
    with time_machine.travel(NOW + 600 + 1, tick=False):
        assert _post(tenant, _jti_token(tenant, "jti-later", iat=NOW + 601)).status_code == 200
    # ...but the captured token is still accepted until exp + leeway: its id must still be known.
    with time_machine.travel(NOW + 600 + leeway // 2, tick=False):
        replay = _post(tenant, captured)
    assert replay.status_code == 401
    assert _error(replay)["msg"] == "This token was already used (jti): mint a new one."
    with time_machine.travel(NOW + 600 + leeway + 1, tick=False):
        late = _post(tenant, captured)
        assert _error(late)["msg"] == "The token has expired: mint a new one."
        assert _post(tenant, _jti_token(tenant, "jti-sweeper", iat=NOW + 631)).status_code == 200
    assert set(UsedTokenId.objects.values_list("jti_sha256", flat=True)) == {
        jti_digest("jti-later"), jti_digest("jti-sweeper")
    }


def test_jtis_sharing_a_long_prefix_are_each_accepted_once(db: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    first, second = "x" * 255 + "-first", "x" * 255 + "-second"
    with time_machine.travel(NOW, tick=False):
        assert _post(tenant, _jti_token(tenant, first, iat=NOW)).status_code == 200
        assert _post(tenant, _jti_token(tenant, second, iat=NOW)).status_code == 200
        assert _post(tenant, _jti_token(tenant, first, iat=NOW)).status_code == 401
        assert _post(tenant, _jti_token(tenant, second, iat=NOW)).status_code == 401
    assert UsedTokenId.objects.filter(client=tenant.api_client).count() == 2


def test_an_absurdly_long_jti_is_401(db: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    with time_machine.travel(NOW, tick=False):
        response = _post(tenant, _jti_token(tenant, "j" * 1025, iat=NOW))
        assert _post(tenant, _jti_token(tenant, "j" * 1024, iat=NOW)).status_code == 200
    assert response.status_code == 401
    assert _error(response)["msg"] == (
        "The token's jti is 1025 characters long; at most 1024 are accepted: use a UUID."
    )


def test_a_jti_holding_an_unpaired_surrogate_is_accepted_once(db: Any) -> None:
    tenant = make_tenant(enforce_jti=True)
    token = _jti_token(tenant, "id-\ud800", iat=NOW)
    with time_machine.travel(NOW, tick=False):
        assert _post(tenant, token).status_code == 200
        assert _post(tenant, token).status_code == 401
