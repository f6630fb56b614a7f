"""interactionDetails request rules: paging, dates, offsets, headers (docs/contract.md#interaction-endpoints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from analytics_api.models import ApiClient
from tests.conftest import Tenant
from tests.conversations.conftest import DETAILS, details, errors_of, ingest
from tests.conversations.factories import ConversationRecordFactory, SessionRecordFactory

WINDOW_LIMIT_MSG = "limit must be an integer from 1 to 100."
OFFSET_MSG = "offset is the number of pages to skip: an integer from 0 to 10."


def bot_sessions(tenant: Tenant, count: int, start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or datetime(2025, 9, 30, 6, 0, tzinfo=UTC)
    records = [
        SessionRecordFactory(botId=tenant.bot.bot_id, start=start + timedelta(seconds=index))
        for index in range(count)
    ]
    ingest(tenant, records)
    return records


@pytest.mark.parametrize("value", ["100", "1"])
def test_limit_at_its_bounds_is_accepted(tenant: Tenant, window: dict[str, Any], value: str) -> None:
    assert details(tenant, window, query=f"?limit={value}").status_code == 200


@pytest.mark.parametrize(
    ("value", "code"),
    [("101", "out_of_range"), ("0", "out_of_range"), ("-1", "out_of_range"), ("ten", "invalid"),
     ("10.0", "invalid"), ("", "invalid")],
)
def test_limit_out_of_range_or_not_an_integer_is_rejected(
    tenant: Tenant, window: dict[str, Any], value: str, code: str
) -> None:
    response = details(tenant, window, query=f"?limit={value}")
    assert errors_of(response) == [{"msg": WINDOW_LIMIT_MSG, "code": code, "field": "limit"}]


@pytest.mark.parametrize("value", ["0", "10"])
def test_offset_at_its_bounds_is_accepted(tenant: Tenant, window: dict[str, Any], value: str) -> None:
    assert details(tenant, window, query=f"?offset={value}").status_code == 200


@pytest.mark.parametrize(("value", "code"), [("11", "out_of_range"), ("-1", "out_of_range"), ("one", "invalid")])
def test_offset_out_of_range_or_not_an_integer_is_rejected(
    tenant: Tenant, window: dict[str, Any], value: str, code: str
) -> None:
    response = details(tenant, window, query=f"?offset={value}")
    assert errors_of(response) == [{"msg": OFFSET_MSG, "code": code, "field": "offset"}]


def test_limit_defaults_to_100(tenant: Tenant, window: dict[str, Any]) -> None:
    bot_sessions(tenant, 101)
    body = details(tenant, window).json()
    assert body["numResults"] == 100
    assert body["hasMore"] is True


def test_offset_counts_pages_of_limit_records(tenant: Tenant, window: dict[str, Any]) -> None:
    records = bot_sessions(tenant, 7)
    body = details(tenant, window, query="?limit=3&offset=1").json()
    assert [r["sessionId"] for r in body["data"]] == [r["sessionId"] for r in records[3:6]]
    assert body["hasMore"] is True
    last = details(tenant, window, query="?limit=3&offset=2").json()
    assert [r["sessionId"] for r in last["data"]] == [records[6]["sessionId"]]
    assert last["hasMore"] is False


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-09-24", "2025-09-30"), ("2025-09-23 00:00:00", "2025-09-30 00:00:00"),
     ("2025-09-23T08:15:00", "2025-09-30T08:15:00"), ("2025-09-30", "2025-09-30")],
)
def test_windows_of_at_most_seven_days_are_accepted(tenant: Tenant, start: str, end: str) -> None:
    response = details(tenant, {"startDate": start, "endDate": end, "timeZoneOffset": 0})
    assert response.status_code == 200, response.content


def test_eight_calendar_days_are_rejected(tenant: Tenant) -> None:
    response = details(tenant, {"startDate": "2025-09-23", "endDate": "2025-09-30", "timeZoneOffset": 0})
    assert errors_of(response) == [
        {"msg": "The window covers 8 calendar days; at most 7 are allowed.", "code": "window_too_long",
         "field": "endDate"}
    ]


def test_seven_times_24_hours_and_one_second_is_rejected(tenant: Tenant) -> None:
    response = details(
        tenant, {"startDate": "2025-09-23 00:00:00", "endDate": "2025-09-30 00:00:01", "timeZoneOffset": 0}
    )
    assert errors_of(response) == [
        {"msg": "The window is 168:00:01 (h:mm:ss) long; at most 7 × 24 hours is allowed.",
         "code": "window_too_long", "field": "endDate"}
    ]


def test_end_before_start_is_rejected(tenant: Tenant) -> None:
    response = details(tenant, {"startDate": "2025-09-30 10:00:00", "endDate": "2025-09-30 09:59:59",
                                "timeZoneOffset": 0})
    assert errors_of(response) == [
        {"msg": "endDate is before startDate.", "code": "invalid_window", "field": "endDate"}
    ]


@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("30/09/2025", "startDate must be YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS (local time), "
                       "not '30/09/2025'."),
        ("2025-02-30", "startDate is not a real calendar date or time (local time), not '2025-02-30'."),
        ("2025-09-30T10:00:00Z", "startDate must be YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS "
                                 "(local time), not '2025-09-30T10:00:00Z'."),
    ],
)
def test_malformed_dates_are_rejected(tenant: Tenant, value: str, msg: str) -> None:
    response = details(tenant, {"startDate": value, "endDate": "2025-09-30", "timeZoneOffset": 0})
    assert errors_of(response) == [{"msg": msg, "code": "invalid_date", "field": "startDate"}]


def test_missing_dates_are_both_reported(tenant: Tenant) -> None:
    response = details(tenant, {"timeZoneOffset": 0})
    assert errors_of(response) == [
        {"msg": "startDate is required (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, local time).",
         "code": "required", "field": "startDate"},
        {"msg": "endDate is required (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, local time).",
         "code": "required", "field": "endDate"},
    ]


def test_window_bounds_are_inclusive_in_local_time(tenant: Tenant) -> None:
    # India: local 2025-09-30 00:00:00 is 2025-09-29T18:30:00Z, local 23:59:59 is 2025-09-30T18:29:59Z.
    inside = [datetime(2025, 9, 29, 18, 30, tzinfo=UTC), datetime(2025, 9, 30, 18, 29, 59, tzinfo=UTC)]
    outside = [datetime(2025, 9, 29, 18, 29, 59, tzinfo=UTC), datetime(2025, 9, 30, 18, 30, tzinfo=UTC)]
    records = [SessionRecordFactory(botId=tenant.bot.bot_id, start=moment) for moment in inside + outside]
    ingest(tenant, records)
    body = details(tenant, {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": -330}).json()
    assert [r["sessionId"] for r in body["data"]] == [r["sessionId"] for r in records[:2]]
    timed = details(
        tenant, {"startDate": "2025-09-30 00:00:00", "endDate": "2025-09-30T23:59:59", "timeZoneOffset": -330}
    ).json()
    assert [r["sessionId"] for r in timed["data"]] == [r["sessionId"] for r in records[:2]]


@pytest.mark.parametrize(
    ("offset", "start", "enter", "assigned", "consulting_end"),
    [
        (-330, "2025-09-30T11:30:00", "2025-09-30T11:30:10", "2025-09-30T11:30:15", "2025-09-30T11:30:50"),
        (0, "2025-09-30T06:00:00", "2025-09-30T06:00:10", "2025-09-30T06:00:15", "2025-09-30T06:00:50"),
        (300, "2025-09-30T01:00:00", "2025-09-30T01:00:10", "2025-09-30T01:00:15", "2025-09-30T01:00:50"),
        (-345, "2025-09-30T11:45:00", "2025-09-30T11:45:10", "2025-09-30T11:45:15", "2025-09-30T11:45:50"),
    ],
)
def test_times_are_rendered_at_the_callers_offset_at_every_level(
    tenant: Tenant, offset: int, start: str, enter: str, assigned: str, consulting_end: str
) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, start=datetime(2025, 9, 30, 6, 0, tzinfo=UTC))
    record["destinations"][0].update(CallbackOpted=True, CallbackOptedTime="2025-09-30T06:00:12.345Z")
    ingest(tenant, [record])
    body = details(tenant, {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": offset}).json()
    served = body["data"][0]
    queue = served["destinations"][0]
    assert served["sessionStartTime"] == start
    assert queue["EnterTime"] == enter
    assert queue["respondingAgent"]["assignedAt"] == assigned
    assert queue["respondingAgent"]["ConsultingAgents"][0]["consultingEndTime"] == consulting_end
    assert queue["CallbackOptedTime"] == "2025-09-30T06:00:12.345Z"


def test_offset_header_is_used_when_the_body_has_none(tenant: Tenant) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=datetime(2025, 9, 30, 6, tzinfo=UTC))])
    response = details(tenant, {"startDate": "2025-09-30", "endDate": "2025-09-30"},
                       **{"x-timezone-offset": "-330"})
    assert response.json()["data"][0]["sessionStartTime"] == "2025-09-30T11:30:00"


def test_body_offset_wins_over_the_header(tenant: Tenant) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=datetime(2025, 9, 30, 6, tzinfo=UTC))])
    response = details(tenant, {"startDate": "2025-09-30", "endDate": "2025-09-30", "timeZoneOffset": 0},
                       **{"x-timezone-offset": "-330"})
    assert response.json()["data"][0]["sessionStartTime"] == "2025-09-30T06:00:00"


def test_missing_offset_is_rejected(tenant: Tenant) -> None:
    response = details(tenant, {"startDate": "2025-09-30", "endDate": "2025-09-30"})
    assert errors_of(response) == [
        {"msg": "timeZoneOffset is required: minutes of UTC − local (India −330, New York 300), in the body or "
                "the x-timezone-offset header.", "code": "required", "field": "timeZoneOffset"}
    ]


@pytest.mark.parametrize(
    ("body_value", "header", "msg"),
    [
        (721, None, "timeZoneOffset must be between -840 and 720 minutes (UTC − local), not 721."),
        ("-330", None, None),
        (5.5, None, "timeZoneOffset must be an integer number of minutes, not 5.5."),
        (None, "abc", "the x-timezone-offset header must be an integer number of minutes, not 'abc'."),
    ],
)
def test_invalid_offsets_are_rejected(tenant: Tenant, body_value: Any, header: str | None, msg: str | None) -> None:
    body: dict[str, Any] = {"startDate": "2025-09-30", "endDate": "2025-09-30"}
    if body_value is not None:
        body["timeZoneOffset"] = body_value
    response = details(tenant, body, **({"x-timezone-offset": header} if header else {}))
    if msg is None:
        assert response.status_code == 200
    else:
        assert errors_of(response) == [{"msg": msg, "code": "invalid_offset", "field": "timeZoneOffset"}]


def test_every_problem_is_reported_at_once(tenant: Tenant) -> None:
    response = details(
        tenant,
        {"startDate": "2025-09-01", "endDate": "2025-09-30", "channels": ["sms"],
         "selectedFields": {"skill": []}, "bots": "st-1"},
        query="?limit=0&offset=11",
    )
    fields = [error["field"] for error in errors_of(response)]
    assert fields == ["limit", "offset", "endDate", "timeZoneOffset", "channels", "bots", "selectedFields.skill"]


def test_unknown_top_level_fields_are_ignored(tenant: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, {**window, "isAutomation": True, "sort": "desc"})
    assert response.status_code == 200
    assert response.json() == {"numResults": 0, "hasMore": False, "data": []}


def test_a_body_that_is_not_an_object_is_rejected(tenant: Tenant) -> None:
    response = details(tenant, ["2025-09-30"])  # type: ignore[arg-type]
    assert errors_of(response) == [
        {"msg": "The request body must be a JSON object.", "code": "invalid", "field": "body"}
    ]


@pytest.mark.parametrize("segment", ["interactiondetails", "INTERACTIONDETAILS", "interactionDetails"])
def test_path_segment_is_case_insensitive(tenant: Tenant, window: dict[str, Any], segment: str) -> None:
    path = f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/{segment}"
    assert tenant.post(path, window).status_code == 200


def test_matching_account_header_is_accepted(tenant: Tenant, window: dict[str, Any]) -> None:
    assert details(tenant, window, accountId=tenant.account_id).status_code == 200


def test_other_account_header_is_forbidden(tenant: Tenant, outsider: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, window, accountId=outsider.account_id)
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"msg": f"This API client is not allowed to access account {outsider.account_id!r}.",
         "code": "account_forbidden", "field": "accountId"}
    ]


def test_unknown_iid_is_not_found(tenant: Tenant, outsider: Tenant, window: dict[str, Any]) -> None:
    for iid in ("st-unknown", outsider.bot.bot_id):
        response = details(tenant, window, IId=iid)
        assert response.status_code == 404
        assert response.json()["errors"] == [
            {"msg": f"No bot or app {iid!r} in this account.", "code": "not_found", "field": "IId"}
        ]


def test_client_without_the_analytics_scope_is_forbidden(tenant: Tenant, window: dict[str, Any]) -> None:
    ApiClient.objects.filter(pk=tenant.api_client.pk).update(scopes=["ingest"])
    tenant.api_client.refresh_from_db()
    response = details(tenant, window)
    assert response.status_code == 403
    assert response.json()["errors"][0]["msg"] == "This API client lacks the scope 'smartassist.analytics'."


def test_records_omit_what_they_lack_and_never_carry_null(tenant: Tenant, window: dict[str, Any]) -> None:
    record = SessionRecordFactory(botId=tenant.bot.bot_id, sessionEndTime=None, reason=None)
    ingest(tenant, [record])
    served = details(tenant, window).json()["data"][0]
    assert "sessionEndTime" not in served
    assert "reason" not in served
    assert "conversationId" not in served
    assert None not in served.values()


def test_unauthenticated_requests_are_refused(anonymous: Any, tenant: Tenant, window: dict[str, Any]) -> None:
    response = anonymous.post(DETAILS.format(tenant.account_id), window, format="json")
    assert response.status_code == 401



def test_project_urls_still_reverse(db: None) -> None:
    # A case-insensitive pattern Django cannot reverse would break every reverse() of the project.
    assert reverse("interaction-details", kwargs={"accountId": "a1"}).endswith("/v2/interactionDetails")
    assert reverse("swagger-ui") == "/api/docs/"
