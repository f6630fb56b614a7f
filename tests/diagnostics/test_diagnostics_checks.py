"""The diagnostics section's validation: addresses, ports, numbers, times and the documented caps."""

from __future__ import annotations

from typing import Any

import pytest

from analytics_api.kernel.errors import flatten_validation_errors
from analytics_api.kernel.validation import Invalid
from diagnostics.checks import MAX_SIP_MESSAGE_CHARS, MAX_SIP_MESSAGES, diagnostics_check
from tests.diagnostics.conftest import CALL, GATEWAY, rtcp, sip


def _errors(section: Any) -> list[dict[str, str]]:
    with pytest.raises(Invalid) as caught:
        diagnostics_check(section)
    return flatten_validation_errors(caught.value.detail)


def test_a_valid_section_is_kept_with_times_in_utc() -> None:
    section = diagnostics_check(CALL)

    assert section["sip"][4]["time"] == "2025-09-30T10:01:00.250Z"
    assert section["endpoints"][0] == "50.19.12.248"
    assert "end" not in section["participants"][1]


def test_addresses_and_ports_are_checked() -> None:
    bad = sip("2025-09-30T10:00:00Z", "300.1.1.1", GATEWAY, "INVITE", "INVITE sip:a@b SIP/2.0")
    bad["to"]["port"] = 70000

    assert _errors({"sip": [bad], "endpoints": ["not-an-ip"]}) == [
        {"msg": "ip must be an IPv4 or IPv6 address such as 172.31.11.64.", "code": "invalid",
         "field": "endpoints[0]"},
        {"msg": "ip must be an IPv4 or IPv6 address such as 172.31.11.64.", "code": "invalid",
         "field": "sip[0].from.ip"},
        {"msg": "port must be an integer from 1 to 65,535.", "code": "out_of_range", "field": "sip[0].to.port"},
    ]


def test_sip_needs_time_endpoints_and_a_label() -> None:
    assert _errors({"sip": [{"message": "x"}]}) == [
        {"msg": "time is required.", "code": "required", "field": "sip[0].time"},
        {"msg": "from is required.", "code": "required", "field": "sip[0].from"},
        {"msg": "to is required.", "code": "required", "field": "sip[0].to"},
        {"msg": "label is required.", "code": "required", "field": "sip[0].label"},
    ]


def test_a_time_without_a_zone_is_refused() -> None:
    errors = _errors({"rtcp": [rtcp("2025-09-30T10:00:05", GATEWAY, GATEWAY)]})

    assert errors[0]["field"] == "rtcp[0].time" and errors[0]["code"] == "invalid"
    assert "send an ISO-8601 time with its zone" in errors[0]["msg"]


def test_rtcp_numbers_are_checked() -> None:
    report = rtcp("2025-09-30T10:00:05Z", GATEWAY, GATEWAY, mos=5.5, jitter="2", packets=-1)

    assert _errors({"rtcp": [report]}) == [
        {"msg": "packets must be an integer from 0 to 4,294,967,295.", "code": "out_of_range",
         "field": "rtcp[0].packets"},
        {"msg": "jitter must be a number from 0 to 4,294,967,295.", "code": "invalid", "field": "rtcp[0].jitter"},
        {"msg": "mos must be a number from 0 to 5.", "code": "out_of_range", "field": "rtcp[0].mos"},
    ]


def test_a_participant_cannot_leave_before_joining() -> None:
    participant = {"name": "A", "start": "2025-09-30T10:00:05Z", "end": "2025-09-30T10:00:04Z"}

    assert _errors({"participants": [participant]}) == [
        {"msg": "end must not be before start.", "code": "invalid", "field": "participants[0]"},
    ]


def test_lists_over_their_cap_are_refused_before_their_items() -> None:
    too_many = [{"bad": True}] * (MAX_SIP_MESSAGES + 1)

    assert _errors({"sip": too_many}) == [{
        "msg": f"sip may hold at most {MAX_SIP_MESSAGES:,} items; send the first {MAX_SIP_MESSAGES:,} or split "
        "the call.",
        "code": "too_many", "field": "sip",
    }]


def test_a_sip_message_over_its_size_cap_is_refused() -> None:
    message = sip("2025-09-30T10:00:00Z", GATEWAY, GATEWAY, "INVITE", "x" * MAX_SIP_MESSAGE_CHARS)

    assert _errors({"sip": [message]}) == [{
        "msg": f"message must be a string of at most {MAX_SIP_MESSAGE_CHARS} characters.", "code": "invalid",
        "field": "sip[0].message",
    }]
