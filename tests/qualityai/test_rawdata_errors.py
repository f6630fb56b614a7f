"""Headers, body validation, scope and tenant isolation of rawdata: every rule, exact messages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.qualityai.conftest import RAWDATA, errors_of, ids_of, ingest, ok, rawdata
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


# Headers -----------------------------------------------------------------------------------------


def test_missing_account_header_is_400_naming_it(tenant: Tenant, day: dict[str, Any]) -> None:
    assert errors_of(rawdata(tenant, day, accountId=None)) == [
        {"msg": "The accountId header is required.", "code": "missing_header", "field": "accountId"}
    ]


def test_missing_org_header_is_400_naming_it(tenant: Tenant, day: dict[str, Any]) -> None:
    assert errors_of(rawdata(tenant, day, orgId=" ")) == [
        {"msg": "The orgId header is required.", "code": "missing_header", "field": "orgId"}
    ]


def test_missing_headers_and_body_problems_are_reported_together(tenant: Tenant) -> None:
    errors = errors_of(rawdata(tenant, {"limit": 0}, accountId=None, orgId=None))

    assert [(e["field"], e["code"]) for e in errors] == [
        ("accountId", "missing_header"),
        ("orgId", "missing_header"),
        ("offset", "required"),
        ("startDate", "required"),
        ("endDate", "required"),
        ("limit", "out_of_range"),
    ]


def test_account_header_of_another_account_is_403(tenant: Tenant, outsider: Tenant, day: dict[str, Any]) -> None:
    errors = errors_of(rawdata(tenant, day, accountId=outsider.account_id), 403)

    assert errors == [{
        "msg": f"This API client is not allowed to access account {outsider.account_id!r}.",
        "code": "account_forbidden",
        "field": "accountId",
    }]


def test_org_header_of_another_org_is_403(tenant: Tenant, outsider: Tenant, day: dict[str, Any]) -> None:
    errors = errors_of(rawdata(tenant, day, orgId=outsider.account.org_id), 403)

    assert errors == [{
        "msg": f"This API client is not allowed to access org {outsider.account.org_id!r}.",
        "code": "org_forbidden",
        "field": "orgId",
    }]


def test_headers_are_matched_whatever_their_case(tenant: Tenant, day: dict[str, Any]) -> None:
    response = tenant.post(
        RAWDATA.format(tenant.bot.bot_id), day, ACCOUNTID=tenant.account_id, orgid=tenant.account.org_id
    )

    assert ok(response)["totalResults"] == 0


# Stream and tenant isolation ---------------------------------------------------------------------


def test_unknown_stream_is_404(tenant: Tenant, day: dict[str, Any]) -> None:
    assert errors_of(rawdata(tenant, day, stream_id="st-nope"), 404) == [
        {"msg": "No bot or app 'st-nope' in this account.", "code": "not_found", "field": "streamId"}
    ]


def test_stream_of_another_account_is_404_and_its_contacts_stay_hidden(
    tenant: Tenant, outsider: Tenant, day: dict[str, Any]
) -> None:
    ingest(outsider, ContactDocumentFactory.build_batch(2))

    response = rawdata(tenant, day, stream_id=outsider.bot.bot_id)

    assert errors_of(response, 404) == [{
        "msg": f"No bot or app {outsider.bot.bot_id!r} in this account.", "code": "not_found", "field": "streamId"
    }]


def test_each_account_sees_only_its_own_contacts(tenant: Tenant, outsider: Tenant, day: dict[str, Any]) -> None:
    mine = ContactDocumentFactory()
    theirs = ContactDocumentFactory()
    ingest(tenant, [mine])
    ingest(outsider, [theirs])

    assert ids_of(ok(rawdata(tenant, day))) == [mine["Conversation ID"]]
    assert ids_of(ok(rawdata(outsider, day))) == [theirs["Conversation ID"]]


def test_client_without_the_qualityai_scope_is_403(tenant: Tenant, day: dict[str, Any]) -> None:
    tenant.api_client.scopes = ["smartassist.analytics"]
    tenant.api_client.save()

    assert errors_of(rawdata(tenant, day), 403) == [
        {"msg": "This API client lacks the scope 'qualityai.analytics'.", "code": "permission_denied"}
    ]


def test_no_token_is_401(tenant: Tenant, anonymous: Any, day: dict[str, Any]) -> None:
    response = anonymous.post(RAWDATA.format(tenant.bot.bot_id), day, format="json")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


# Body --------------------------------------------------------------------------------------------


def test_empty_body_lists_every_required_field(tenant: Tenant) -> None:
    assert errors_of(rawdata(tenant, {})) == [
        {"msg": "offset is required: the number of records to skip (0 or more).", "code": "required",
         "field": "offset"},
        {"msg": "startDate is required (UTC, YYYY-MM-DD HH:MM:SS).", "code": "required", "field": "startDate"},
        {"msg": "endDate is required (UTC, YYYY-MM-DD HH:MM:SS).", "code": "required", "field": "endDate"},
    ]


def test_every_invalid_field_is_reported_at_once(tenant: Tenant) -> None:
    body = {
        "offset": -1,
        "startDate": "23/03/2026",
        "endDate": "2026-03-23 25:00:00",
        "limit": 101,
        "page": 0,
        "include_below_threshold": "yes",
        "custom_fields": {"Region": 5, "CallType": [], "Ok": ["a"]},
        "contact_direction": "sideways",
    }

    assert errors_of(rawdata(tenant, body)) == [
        {"msg": "offset must be an integer from 0 to 1,000,000,000.", "code": "out_of_range", "field": "offset"},
        {"msg": "startDate must be YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS (UTC), optionally with a "
                "fraction and Z.", "code": "invalid", "field": "startDate"},
        {"msg": "endDate is not a real calendar date or time.", "code": "invalid", "field": "endDate"},
        {"msg": "limit must be an integer from 1 to 100.", "code": "out_of_range", "field": "limit"},
        {"msg": "page must be an integer from 1 to 10,000,000.", "code": "out_of_range", "field": "page"},
        {"msg": "include_below_threshold must be true or false.", "code": "invalid",
         "field": "include_below_threshold"},
        {"msg": "custom_fields.Region must be a string or a list of 1 to 100 strings (any of them matches).",
         "code": "invalid", "field": "custom_fields.Region"},
        {"msg": "custom_fields.CallType must be a string or a list of 1 to 100 strings (any of them matches).",
         "code": "invalid", "field": "custom_fields.CallType"},
        {"msg": "contact_direction must be inbound or outbound.", "code": "invalid_choice",
         "field": "contact_direction"},
    ]


@pytest.mark.parametrize(
    ("field", "value", "msg"),
    [
        ("offset", "0", "offset must be an integer from 0 to 1,000,000,000."),
        ("offset", 1.5, "offset must be an integer from 0 to 1,000,000,000."),
        ("offset", None, "offset must not be null."),
        ("limit", True, "limit must be an integer from 1 to 100."),
        ("limit", 0, "limit must be an integer from 1 to 100."),
        ("page", -3, "page must be an integer from 1 to 10,000,000."),
        ("page", 10**30, "page must be an integer from 1 to 10,000,000."),
        ("offset", 10**30, "offset must be an integer from 0 to 1,000,000,000."),
        ("startDate", 20260502, "startDate must be a string."),
        ("custom_fields", {f"k{n}": "v" for n in range(21)}, "custom_fields may name at most 20 fields, not 21."),
        ("custom_fields", ["Region"], "custom_fields must be an object mapping field names to a string or a list "
                                      "of strings."),
    ],
)
def test_wrong_types_are_400_with_the_field_named(
    tenant: Tenant, day: dict[str, Any], field: str, value: Any, msg: str
) -> None:
    errors = errors_of(rawdata(tenant, {**day, field: value}))

    assert [(e["field"], e["msg"]) for e in errors] == [(field, msg)]


def test_custom_fields_naming_more_than_twenty_fields_is_too_many(tenant: Tenant, day: dict[str, Any]) -> None:
    errors = errors_of(rawdata(tenant, {**day, "custom_fields": {f"k{n}": "v" for n in range(21)}}))

    assert errors == [
        {"msg": "custom_fields may name at most 20 fields, not 21.", "code": "too_many", "field": "custom_fields"}
    ]


def test_custom_fields_list_of_more_than_a_hundred_values_is_400(tenant: Tenant, day: dict[str, Any]) -> None:
    errors = errors_of(rawdata(tenant, {**day, "custom_fields": {"Region": [f"r{n}" for n in range(101)]}}))

    assert errors == [{
        "msg": "custom_fields.Region must be a string or a list of 1 to 100 strings (any of them matches).",
        "code": "invalid",
        "field": "custom_fields.Region",
    }]


def test_end_before_start_is_400(tenant: Tenant) -> None:
    body = {"offset": 0, "startDate": "2026-05-02 10:00:00", "endDate": "2026-05-02 09:59:59"}

    assert errors_of(rawdata(tenant, body)) == [
        {"msg": "endDate must not be before startDate.", "code": "invalid", "field": "endDate"}
    ]


def test_unknown_body_fields_are_ignored(tenant: Tenant, day: dict[str, Any]) -> None:
    assert ok(rawdata(tenant, {**day, "isAutomation": True}))["totalResults"] == 0


def test_body_that_is_not_an_object_is_400(tenant: Tenant) -> None:
    errors = errors_of(rawdata(tenant, [1, 2]))

    assert errors == [{"msg": "Invalid data. Expected a dictionary, but got list.", "code": "invalid"}]
