"""RateLimit-* headers on every answer the client rate limit counted (docs/contract.md#rate-limit-headers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

# 15 s into a minute, 30 min 15 s into an hour: the minute window resets in 45 s.
NOW = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
FEED = "/api/v1/changes?dataset=interactions"


def limits(response: Any) -> tuple[str | None, str | None, str | None]:
    return response.get("RateLimit-Limit"), response.get("RateLimit-Remaining"), response.get("RateLimit-Reset")


def test_answers_count_down_the_tightest_window_and_the_429_says_when_it_resets(tenant: Tenant) -> None:
    tenant.api_client.rate_limit_per_minute = 2
    tenant.api_client.save()
    with time_machine.travel(NOW, tick=False):
        first, second, refused = (tenant.get(FEED) for _ in range(3))

    assert (first.status_code, limits(first)) == (200, ("2", "1", "45"))
    assert (second.status_code, limits(second)) == (200, ("2", "0", "45"))
    assert refused.status_code == 429
    assert limits(refused) == ("2", "0", "45")
    assert refused["Retry-After"] == "45"


def test_the_hour_window_speaks_when_it_is_the_tighter_one(tenant: Tenant) -> None:
    tenant.api_client.rate_limit_per_minute = 100
    tenant.api_client.rate_limit_per_hour = 3
    tenant.api_client.save()
    with time_machine.travel(NOW, tick=False):
        response = tenant.get(FEED)

    assert limits(response) == ("3", "2", str(30 * 60 - 15))


def test_an_authenticated_error_answer_carries_them_too(tenant: Tenant) -> None:
    response = tenant.get("/api/v1/changes?dataset=interactions&limit=0")

    assert response.status_code == 400
    assert response["RateLimit-Limit"] == "600" and response["RateLimit-Remaining"] == "599"


def test_an_unauthenticated_answer_has_none(anonymous: Any, db: Any) -> None:
    response = anonymous.get(FEED)

    assert response.status_code == 401
    assert limits(response) == (None, None, None)
