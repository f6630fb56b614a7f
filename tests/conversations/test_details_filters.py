"""channels, queues, bots, the IId header, selectedFields and calldetails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.conversations.conftest import CALLS, details, errors_of, ingest
from tests.conversations.factories import ConversationRecordFactory, QueueEntryFactory, SessionRecordFactory
from tests.factories import BotFactory


def session_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [record["sessionId"] for record in response.json()["data"]]


@pytest.fixture
def mixed(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """One record per channel, a second bot, and queues: sales (voice), sales + billing (email)."""
    other_bot = BotFactory(account=tenant.account)
    records = {
        "chat": SessionRecordFactory(botId=tenant.bot.bot_id, channel="rtm"),
        "call": ConversationRecordFactory(
            botId=tenant.bot.bot_id, channel="voice", destinations=[QueueEntryFactory(queueId="qu-sales")]
        ),
        "mail": ConversationRecordFactory(
            botId=other_bot.bot_id,
            channel="email",
            destinations=[QueueEntryFactory(queueId="qu-sales"), QueueEntryFactory(queueId="qu-billing")],
        ),
    }
    ingest(tenant, list(records.values()))
    return records


def ids(mixed: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [mixed[name]["sessionId"] for name in names]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [(["rtm"], ["chat"]), (["voice"], ["call"]), (["email"], ["mail"]), (["RTM", "email"], ["chat", "mail"]),
     ([], ["chat", "call", "mail"])],
)
def test_channels_filter(tenant: Tenant, window: dict[str, Any], mixed: Any, channels: list[str],
                         expected: list[str]) -> None:
    assert session_ids(details(tenant, {**window, "channels": channels})) == ids(mixed, *expected)


def test_channels_are_served_with_their_labels(tenant: Tenant, window: dict[str, Any], mixed: Any) -> None:
    assert [r["channel"] for r in details(tenant, window).json()["data"]] == ["Web/Mobile Client", "Voice",
                                                                              "System Mail"]


def test_unknown_channel_is_rejected_naming_the_allowed_ones(tenant: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, {**window, "channels": ["voice", "sms", "chat"]})
    assert errors_of(response) == [
        {"msg": "Unknown channel(s) 'sms', 'chat': allowed are rtm (Web/Mobile Client), voice (Voice) and "
                "email (System Mail).", "code": "invalid_channel", "field": "channels"}
    ]


@pytest.mark.parametrize(
    ("queues", "expected"),
    [(["qu-sales"], ["call", "mail"]), (["qu-billing"], ["mail"]), (["qu-billing", "qu-sales"], ["call", "mail"]),
     (["qu-none"], [])],
)
def test_queues_filter_matches_any_destination_once(tenant: Tenant, window: dict[str, Any], mixed: Any,
                                                   queues: list[str], expected: list[str]) -> None:
    assert session_ids(details(tenant, {**window, "queues": queues})) == ids(mixed, *expected)


def test_bots_filter(tenant: Tenant, window: dict[str, Any], mixed: Any) -> None:
    other = mixed["mail"]["botId"]
    assert session_ids(details(tenant, {**window, "bots": [other]})) == ids(mixed, "mail")
    assert session_ids(details(tenant, {**window, "bots": [tenant.bot.bot_id, other]})) == ids(
        mixed, "chat", "call", "mail"
    )


def test_iid_header_restricts_to_that_bot(tenant: Tenant, window: dict[str, Any], mixed: Any) -> None:
    other = mixed["mail"]["botId"]
    assert session_ids(details(tenant, window, IId=other)) == ids(mixed, "mail")
    assert session_ids(details(tenant, {**window, "bots": [tenant.bot.bot_id]}, IId=other)) == []


def test_filters_combine(tenant: Tenant, window: dict[str, Any], mixed: Any) -> None:
    body = {**window, "channels": ["voice", "email"], "queues": ["qu-sales"], "bots": [tenant.bot.bot_id]}
    assert session_ids(details(tenant, body)) == ids(mixed, "call")


@pytest.mark.parametrize("name", ["channels", "queues", "bots"])
def test_filters_must_be_lists_of_strings(tenant: Tenant, window: dict[str, Any], name: str) -> None:
    response = details(tenant, {**window, name: "voice"})
    assert errors_of(response) == [
        {"msg": f"{name} must be a list of strings.", "code": "invalid", "field": name}
    ]


@pytest.mark.parametrize("name", ["channels", "queues", "bots"])
def test_filter_items_are_checked_by_position(tenant: Tenant, window: dict[str, Any], name: str) -> None:
    response = details(tenant, {**window, name: ["voice", ["x"], "y" * 129]})
    assert errors_of(response) == [
        {"msg": "Not a valid string.", "code": "invalid", "field": f"{name}[1]"},
        {"msg": "Ensure this field has no more than 128 characters.", "code": "max_length", "field": f"{name}[2]"},
    ]


def test_calldetails_serves_voice_only(tenant: Tenant, window: dict[str, Any], mixed: Any) -> None:
    assert session_ids(details(tenant, window, path=CALLS)) == ids(mixed, "call")
    assert session_ids(details(tenant, {**window, "channels": ["rtm", "voice"]}, path=CALLS)) == ids(mixed, "call")
    assert session_ids(details(tenant, {**window, "channels": ["rtm"]}, path=CALLS)) == []


def test_calldetails_applies_the_same_rules(tenant: Tenant) -> None:
    response = details(tenant, {"startDate": "2025-09-23", "endDate": "2025-09-30"}, path=CALLS, query="?limit=101")
    assert [error["field"] for error in errors_of(response)] == ["limit", "endDate", "timeZoneOffset"]


SECTIONED = {
    "skills": [{"id": "sk-1", "name": "Billing"}, {"id": "sk-2", "name": "Sales"}],
    "userleveltags": [{"name": "accountnum", "value": "1214"}, {"name": "tier", "value": "gold"}],
    "sessionleveltags": [{"name": "audioCodesCallDisconnect", "value": "1"}],
    "customerinfo": {"CustomerPhone": "1888456780", "CustomerFirstName": "John", "CenterPhone": ""},
}


@pytest.fixture
def sectioned(tenant: Tenant) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id, **SECTIONED)])


def served(tenant: Tenant, window: dict[str, Any], selected: Any) -> dict[str, Any]:
    body = {**window} if selected is None else {**window, "selectedFields": selected}
    response = details(tenant, body)
    assert response.status_code == 200, response.content
    return response.json()["data"][0]


def test_sections_appear_only_when_selected(tenant: Tenant, window: dict[str, Any], sectioned: None) -> None:
    assert not set(SECTIONED) & set(served(tenant, window, None))
    assert not set(SECTIONED) & set(served(tenant, window, {}))
    record = served(tenant, window, {"customerinfo": []})
    assert record["customerinfo"] == SECTIONED["customerinfo"]
    assert not {"skills", "userleveltags", "sessionleveltags"} & set(record)


def test_empty_lists_keep_every_name(tenant: Tenant, window: dict[str, Any], sectioned: None) -> None:
    record = served(tenant, window, {name: [] for name in SECTIONED})
    assert {name: record[name] for name in SECTIONED} == SECTIONED


def test_named_lists_keep_only_those_names(tenant: Tenant, window: dict[str, Any], sectioned: None) -> None:
    record = served(
        tenant, window,
        {"skills": ["Sales", "sk-1"], "userleveltags": ["tier"], "sessionleveltags": ["nope"],
         "customerinfo": ["CustomerPhone", "Missing"]},
    )
    assert record["skills"] == SECTIONED["skills"]
    assert record["userleveltags"] == [{"name": "tier", "value": "gold"}]
    assert record["sessionleveltags"] == []
    assert record["customerinfo"] == {"CustomerPhone": "1888456780"}


def test_a_selected_section_the_record_lacks_is_omitted(tenant: Tenant, window: dict[str, Any]) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    record = served(tenant, window, {name: [] for name in SECTIONED})
    assert not set(SECTIONED) & set(record)


def test_unknown_selected_field_is_rejected(tenant: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, {**window, "selectedFields": {"skills": [], "userLevelTags": [], "tags": ["a"]}})
    allowed = "skills, userleveltags, sessionleveltags, customerinfo"
    assert errors_of(response) == [
        {"msg": f"Unknown section 'userLevelTags': allowed are {allowed}.", "code": "invalid_selected_fields",
         "field": "selectedFields.userLevelTags"},
        {"msg": f"Unknown section 'tags': allowed are {allowed}.", "code": "invalid_selected_fields",
         "field": "selectedFields.tags"},
    ]


@pytest.mark.parametrize(
    ("value", "field", "msg"),
    [
        (["skills"], "selectedFields",
         "selectedFields must be an object with any of skills, userleveltags, sessionleveltags, customerinfo."),
        ({"skills": "Sales"}, "selectedFields.skills",
         "selectedFields.skills must be a list of names (an empty list keeps all)."),
        ({"customerinfo": [1]}, "selectedFields.customerinfo",
         "selectedFields.customerinfo must be a list of names (an empty list keeps all)."),
    ],
)
def test_malformed_selected_fields_are_rejected(tenant: Tenant, window: dict[str, Any], value: Any, field: str,
                                                msg: str) -> None:
    response = details(tenant, {**window, "selectedFields": value})
    assert [(error["field"], error["msg"]) for error in errors_of(response)] == [(field, msg)]


def test_selected_fields_of_the_wrong_type_are_invalid(tenant: Tenant, window: dict[str, Any]) -> None:
    response = details(tenant, {**window, "selectedFields": "skills"})
    assert [error["code"] for error in errors_of(response)] == ["invalid"]
