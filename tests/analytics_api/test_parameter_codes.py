"""One code per kind of mistake in every endpoint's parameters: ``invalid`` (not an integer, the wrong
type), ``out_of_range`` (an integer outside its bounds), ``required`` (absent).

Before, the same out-of-range value answered ``out_of_range`` (interactionDetails), ``invalid``
(rawdata) or ``max_value``/``min_value`` (audit log, retention, downloads) depending on the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

DETAILS = "/agentassist/api/public/analytics/account/{account}/v2/interactionDetails"
CALLS = "/agentassist/api/public/analytics/account/{account}/v2/calldetails"
RAWDATA = "/qualityai/api/v1/public/qualitymanagement/app/{bot}/rawdata"
WINDOW = {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0}
DAY = {"startDate": "2026-05-02 00:00:00", "endDate": "2026-05-02 23:59:59"}

Send = Callable[[Tenant, Any], Any]


def _details(path: str, parameter: str) -> Send:
    def send(tenant: Tenant, value: Any) -> Any:
        return tenant.post(f"{path.format(account=tenant.account_id)}?{parameter}={value}", WINDOW)

    return send


def _rawdata(parameter: str) -> Send:
    def send(tenant: Tenant, value: Any) -> Any:
        body = {"offset": 0, **DAY, parameter: value}
        headers = {"accountId": tenant.account_id, "orgId": tenant.account.org_id}
        return tenant.post(RAWDATA.format(bot=tenant.bot.bot_id), body, **headers)

    return send


def _query(path: str, parameter: str) -> Send:
    def send(tenant: Tenant, value: Any) -> Any:
        return tenant.get(f"{path}?{parameter}={value}")

    return send


def _retention(tenant: Tenant, value: Any) -> Any:
    return tenant.put("/api/v1/settings/retention", {"retentionDays": value, "notifyCustomers": False})


# (name, how to send a value, a value too big, a value too small, a value of the wrong type)
PARAMETERS: list[tuple[str, str, Send, Any, Any, Any]] = [
    ("interactionDetails limit", "limit", _details(DETAILS, "limit"), 101, 0, "ten"),
    ("interactionDetails offset", "offset", _details(DETAILS, "offset"), 11, -1, "one"),
    ("calldetails limit", "limit", _details(CALLS, "limit"), 101, 0, "1.5"),
    ("calldetails offset", "offset", _details(CALLS, "offset"), 11, -1, "x"),
    ("rawdata offset", "offset", _rawdata("offset"), 10**9 + 1, -1, "0"),
    ("rawdata limit", "limit", _rawdata("limit"), 101, 0, True),
    ("rawdata page", "page", _rawdata("page"), 10**7 + 1, 0, 1.5),
    ("audit-log offset", "offset", _query("/api/v1/settings/audit-log", "offset"), 10**9 + 1, -1, "a"),
    ("audit-log limit", "limit", _query("/api/v1/settings/audit-log", "limit"), 101, 0, "1e2"),
    ("recording download part", "part", _query("/api/v1/recordings/c-1/download", "part"), None, 0, "first"),
    ("retention days", "retentionDays", _retention, 36501, 0, "thirty"),
]


@pytest.mark.parametrize(
    ("field", "send", "too_big", "too_small"),
    [pytest.param(field, send, big, small, id=name) for name, field, send, big, small, _wrong in PARAMETERS],
)
def test_an_integer_outside_its_range_is_out_of_range_on_every_endpoint(
    tenant: Tenant, field: str, send: Send, too_big: Any, too_small: Any
) -> None:
    for value in (too_big, too_small):
        if value is None:
            continue  # no upper bound
        response = send(tenant, value)

        assert response.status_code == 400, response.content
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, "out_of_range")]


@pytest.mark.parametrize(
    ("field", "send", "wrong"),
    [pytest.param(field, send, wrong, id=name) for name, field, send, _big, _small, wrong in PARAMETERS],
)
def test_a_value_that_is_not_an_integer_is_invalid_on_every_endpoint(
    tenant: Tenant, field: str, send: Send, wrong: Any
) -> None:
    response = send(tenant, wrong)

    assert response.status_code == 400, response.content
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, "invalid")]


@pytest.mark.parametrize(
    ("send", "field", "msg"),
    [
        (lambda tenant: tenant.post(RAWDATA.format(bot=tenant.bot.bot_id), DAY, accountId=tenant.account_id,
                                    orgId=tenant.account.org_id),
         "offset", "offset is required: the number of records to skip (0 or more)."),
        (lambda tenant: tenant.put("/api/v1/settings/retention", {"notifyCustomers": True}),
         "retentionDays", "retentionDays must be an integer from 1 to 36500, or null to keep recordings forever."),
    ],
    ids=["rawdata offset", "retention days"],
)
def test_a_missing_parameter_is_required_on_every_endpoint(tenant: Tenant, send: Any, field: str, msg: str) -> None:
    response = send(tenant)

    assert response.status_code == 400
    assert [e for e in response.json()["errors"] if e["field"] == field] == [
        {"msg": msg, "code": "required", "field": field}
    ]
