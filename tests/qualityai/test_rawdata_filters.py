"""Window, direction, custom fields and the minimum-duration threshold of rawdata."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from qualityai.models import StreamSettings
from qualityai.services import stream_settings_set
from tests.conftest import Tenant
from tests.qualityai.conftest import ids_of, ingest, ok, rawdata
from tests.qualityai.factories import BASE, ContactDocumentFactory

pytestmark = pytest.mark.django_db


def contact(conversation_id: str, **kwargs: Any) -> dict[str, Any]:
    return ContactDocumentFactory(conversation_id=conversation_id, **kwargs)


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


# Window ------------------------------------------------------------------------------------------


@pytest.fixture
def around_ten(tenant: Tenant) -> None:
    ingest(tenant, [
        contact("c-before", started=BASE - timedelta(seconds=1)),
        contact("c-start", started=BASE),
        contact("c-inside", started=BASE + timedelta(minutes=30)),
        contact("c-end", started=BASE + timedelta(hours=1)),
        contact("c-after", started=BASE + timedelta(hours=1, milliseconds=1)),
    ])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-05-02 10:00:00", "2026-05-02 11:00:00"),
        ("2026-05-02T10:00:00", "2026-05-02T11:00:00"),
        ("2026-05-02T10:00:00Z", "2026-05-02T11:00:00.000Z"),
        ("2026-05-02T10:00:00.000Z", "2026-05-02 11:00:00.000"),
    ],
)
def test_window_bounds_are_inclusive_in_every_documented_form(
    tenant: Tenant, around_ten: None, start: str, end: str
) -> None:
    result = ok(rawdata(tenant, {"offset": 0, "startDate": start, "endDate": end}))

    assert ids_of(result) == ["c-start", "c-inside", "c-end"]


def test_date_only_end_covers_the_whole_day(tenant: Tenant) -> None:
    ingest(tenant, [contact("c-late", started=BASE.replace(hour=23, minute=59, second=59, microsecond=999000)),
                    contact("c-next-day", started=BASE.replace(hour=0) + timedelta(days=1))])

    result = ok(rawdata(tenant, {"offset": 0, "startDate": "2026-05-02", "endDate": "2026-05-02"}))

    assert ids_of(result) == ["c-late"]


def test_times_sent_with_an_offset_are_matched_and_returned_in_utc(tenant: Tenant) -> None:
    ingest(tenant, [contact("c-india", start="2026-05-02T15:30:00+05:30", end="2026-05-02T15:31:00.5+05:30")])

    result = ok(rawdata(tenant, {"offset": 0, "startDate": "2026-05-02 10:00:00", "endDate": "2026-05-02 10:00:00"}))

    assert result["results"][0]["Conversation Start Time"] == "2026-05-02T10:00:00.000Z"
    assert result["results"][0]["Conversation End Time"] == "2026-05-02T10:01:00.500Z"


# Direction ---------------------------------------------------------------------------------------


def test_contact_direction_filters_on_the_resolved_direction(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [
        contact("c-in", direction="inbound"),
        contact("c-out", direction="outbound"),
        without(contact("c-defaulted"), "contactDirection"),
    ])

    inbound = ok(rawdata(tenant, {**day, "contact_direction": "inbound"}))
    outbound = ok(rawdata(tenant, {**day, "contact_direction": "outbound"}))

    assert ids_of(inbound) == ["c-in", "c-defaulted"]
    assert inbound["totalResults"] == 2
    assert ids_of(outbound) == ["c-out"]


# Custom fields -----------------------------------------------------------------------------------


@pytest.fixture
def regions(tenant: Tenant) -> None:
    ingest(tenant, [
        contact("c-us-clid", custom_fields={"Region": "US", "CallType": "CLINumber"}),
        contact("c-uk-clid", custom_fields={"Region": "UK", "CallType": "CLINumber"}),
        contact("c-in-web", custom_fields={"Region": "IN", "CallType": "Web"}),
        contact("c-us-none", custom_fields={"Region": "US"}),
        contact("c-numbers", custom_fields={"Region": "us", "Priority": 2, "VIP": True, "Note": None}),
        without(contact("c-no-fields"), "custom_fields"),
    ])


@pytest.mark.parametrize(
    ("custom_fields", "expected"),
    [
        ({"Region": "US"}, ["c-us-clid", "c-us-none"]),  # a string: exactly equal (case too)
        ({"Region": ["US", "UK"]}, ["c-us-clid", "c-uk-clid", "c-us-none"]),  # a list: any of
        ({"Region": ["US", "UK"], "CallType": "CLINumber"}, ["c-us-clid", "c-uk-clid"]),  # keys AND-ed
        ({"Region": "US", "CallType": ["Web"]}, []),
        ({"CallType": ["Web", "Fax"]}, ["c-in-web"]),
        ({"Priority": "2", "VIP": "true"}, ["c-numbers"]),  # numbers and booleans as their JSON text
        ({"Note": "null"}, []),  # a null value is no value
        ({"Missing": "x"}, []),
        ({}, ["c-us-clid", "c-uk-clid", "c-in-web", "c-us-none", "c-numbers", "c-no-fields"]),
    ],
)
def test_custom_fields_filter(
    tenant: Tenant, regions: None, day: dict[str, Any], custom_fields: dict[str, Any], expected: list[str]
) -> None:
    result = ok(rawdata(tenant, {**day, "custom_fields": custom_fields}))

    assert ids_of(result) == expected
    assert result["totalResults"] == len(expected)


def test_custom_fields_of_another_stream_do_not_match(tenant: Tenant, outsider: Tenant, day: dict[str, Any]) -> None:
    ingest(outsider, [contact("c-shared", custom_fields={"Region": "EU"})])
    ingest(tenant, [contact("c-shared", custom_fields={"Region": "US"})])

    assert ids_of(ok(rawdata(tenant, {**day, "custom_fields": {"Region": "EU"}}))) == []
    assert ids_of(ok(rawdata(tenant, {**day, "custom_fields": {"Region": "US"}}))) == ["c-shared"]


# Minimum duration --------------------------------------------------------------------------------


@pytest.fixture
def durations(tenant: Tenant) -> None:
    ingest(tenant, [
        contact("c-9999ms", duration="9999 milliseconds"),
        contact("c-10s", duration="10000 milliseconds"),
        contact("c-30s", duration=30000),
        without(contact("c-unknown"), "Duration"),
        contact("c-null", duration=None),
        contact("c-zero", duration="0 milliseconds"),
    ])


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {r["Conversation ID"]: r["duration_status"] for r in result["results"]}


def test_default_threshold_is_ten_seconds_and_below_threshold_is_left_out(
    tenant: Tenant, durations: None, day: dict[str, Any]
) -> None:
    result = ok(rawdata(tenant, day))

    assert statuses(result) == {
        "c-10s": "evaluated",
        "c-30s": "evaluated",
        "c-unknown": "duration_unavailable",
        "c-null": "duration_unavailable",
    }
    assert result["totalResults"] == 4
    unknown = next(r for r in result["results"] if r["Conversation ID"] == "c-unknown")
    assert unknown["Duration"] is None


def test_include_below_threshold_returns_and_counts_them(tenant: Tenant, durations: None, day: dict[str, Any]) -> None:
    result = ok(rawdata(tenant, {**day, "include_below_threshold": True}))

    assert statuses(result) == {
        "c-9999ms": "below_threshold",
        "c-10s": "evaluated",
        "c-30s": "evaluated",
        "c-unknown": "duration_unavailable",
        "c-null": "duration_unavailable",
        "c-zero": "below_threshold",
    }
    assert result["totalResults"] == 6
    assert next(r for r in result["results"] if r["Conversation ID"] == "c-zero")["Duration"] == "0 milliseconds"


def test_per_stream_threshold_applies_to_contacts_stored_before_it_changed(
    tenant: Tenant, durations: None, day: dict[str, Any]
) -> None:
    stream_settings_set(stream=tenant.bot, min_duration_seconds=30)

    strict = ok(rawdata(tenant, day))
    stream_settings_set(stream=tenant.bot, min_duration_seconds=0)
    lenient = ok(rawdata(tenant, day))

    assert sorted(statuses(strict)) == ["c-30s", "c-null", "c-unknown"]
    assert statuses(lenient)["c-zero"] == "evaluated"
    assert lenient["totalResults"] == 6


def test_threshold_is_per_stream(tenant: Tenant, outsider: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [contact("c-20s", duration=20000)])
    ingest(outsider, [contact("c-20s", duration=20000)])
    StreamSettings.objects.create(stream=outsider.bot, min_duration_seconds=60)

    assert statuses(ok(rawdata(tenant, day))) == {"c-20s": "evaluated"}
    assert ok(rawdata(outsider, day))["totalResults"] == 0


def test_duration_status_sent_at_ingestion_is_ignored(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [contact("c-liar", duration=1000, duration_status="evaluated")])

    result = ok(rawdata(tenant, {**day, "include_below_threshold": True}))

    assert statuses(result) == {"c-liar": "below_threshold"}
