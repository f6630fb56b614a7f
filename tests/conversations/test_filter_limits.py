"""Filter lists are capped, and the cap is checked before any item is: a 2 MiB list costs nothing.

Found by an adversarial review: a 2 MiB ``queues`` list kept a worker busy for 13-18 s (each id was
validated, then the query was built with all of them) and ended in a 503 on SQLite.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.serializers import (
    MAX_FILTER_BOTS,
    MAX_FILTER_CHANNELS,
    MAX_FILTER_QUEUES,
    MAX_SELECTED_NAME_LENGTH,
    MAX_SELECTED_NAMES,
)
from tests.conftest import Tenant
from tests.conversations.conftest import details, errors_of


def test_the_caps_are_the_documented_ones() -> None:
    assert (MAX_FILTER_QUEUES, MAX_FILTER_BOTS, MAX_FILTER_CHANNELS, MAX_SELECTED_NAMES) == (100, 100, 10, 100)
    assert MAX_SELECTED_NAME_LENGTH == 256


@pytest.mark.parametrize(
    ("field", "count", "msg"),
    [
        ("queues", 101, "queues may list at most 100 queue ids; split the request."),
        ("bots", 101, "bots may list at most 100 bot ids; split the request."),
        ("channels", 11, "channels may list at most 10 channel codes (rtm, voice, email)."),
    ],
)
def test_a_list_over_its_cap_is_400_naming_the_field_and_the_limit(
    tenant: Tenant, window: dict[str, Any], field: str, count: int, msg: str
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = details(tenant, {**window, field: ["voice"] * count})

    assert errors_of(response) == [{"msg": msg, "code": "too_many", "field": field}]
    # Refused before the query: only the authentication's lookups ran.
    assert not any("conversations_interaction" in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize("field", ["queues", "bots", "channels"])
def test_a_list_at_its_cap_is_accepted(tenant: Tenant, window: dict[str, Any], field: str) -> None:
    cap = {"queues": 100, "bots": 100, "channels": 10}[field]
    assert details(tenant, {**window, field: ["voice"] * cap}).status_code == 200


def test_a_two_mebibyte_queue_list_is_refused_by_its_cap(tenant: Tenant, window: dict[str, Any]) -> None:
    # 2 MiB of ids, most of them invalid (too long, not text): only the length is looked at.
    queues: list[Any] = ["qu-" + "x" * 1000] * 2000 + [{"not": "text"}] * 5000

    response = details(tenant, {**window, "queues": queues})

    assert errors_of(response) == [
        {"msg": "queues may list at most 100 queue ids; split the request.", "code": "too_many", "field": "queues"}
    ]


def test_each_selected_fields_list_is_capped(tenant: Tenant, window: dict[str, Any]) -> None:
    names = [f"n{number}" for number in range(101)]

    response = details(tenant, {**window, "selectedFields": {"customerinfo": names, "skills": names[:100]}})

    assert errors_of(response) == [{
        "msg": "selectedFields.customerinfo may list at most 100 names; an empty list keeps all.",
        "code": "too_many",
        "field": "selectedFields.customerinfo",
    }]


def test_a_selected_fields_name_over_its_length_is_400(tenant: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, {**window, "selectedFields": {"userleveltags": ["ok", "x" * 257]}})

    assert errors_of(response) == [{
        "msg": "selectedFields.userleveltags names must have at most 256 characters.",
        "code": "invalid_selected_fields",
        "field": "selectedFields.userleveltags",
    }]


def test_a_huge_refused_value_is_not_echoed_whole(tenant: Tenant, window: dict[str, Any]) -> None:
    huge = "x" * 1_000_000

    response = details(tenant, {**window, "startDate": huge, "timeZoneOffset": [huge], "selectedFields": {huge: []}})

    errors = errors_of(response)
    assert [error["field"] for error in errors] == ["startDate", "timeZoneOffset", f"selectedFields.{'x' * 80}…"]
    assert all(len(error["msg"]) < 300 for error in errors), [len(error["msg"]) for error in errors]
    assert errors[0]["msg"].endswith("not '" + "x" * 79 + "… (1000002 characters).")
