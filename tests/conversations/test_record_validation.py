"""The rules of one ingested interaction record, checked without a serializer per record.

Every case below is a change to a valid record and what a client reads back: DRF's messages and
codes (they were produced by the DRF serializers these checks replaced, and must not drift), at
the exact spot (``destinations[0].respondingAgent.interactionDuration``).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from analytics_api.kernel.errors import flatten_validation_errors
from analytics_api.kernel.validation import Invalid
from conversations.records import interaction_record_validator

BOT = "st-valid"
DELETE = object()
AGENT = ("destinations", 0, "respondingAgent")


def valid_record() -> dict[str, Any]:
    """A voice record using every declared field kind at every level."""
    return {
        "conversationId": "c-1",
        "sessionId": "s-1",
        "channel": "voice",
        "botId": BOT,
        "sessionStartTime": "2025-09-30T06:00:00Z",
        "sessionEndTime": "2025-09-30T06:10:00Z",
        "userId": "u-1",
        "Direction": "Inbound",
        "dispositions": ["Resolved"],
        "metaInfo": {"caller": "+1555"},
        "skills": [{"id": "sk-1", "name": "Billing"}],
        "userleveltags": [{"name": "accountnum", "value": "42"}],
        "destinations": [
            {
                "destinationType": "QueueEntry",
                "queueId": "qu-1",
                "CallbackOpted": False,
                "EnterTime": "2025-09-30T06:00:10Z",
                "respondingAgent": {
                    "agentId": "u-a",
                    "destinationType": "AgentSegment",
                    "interactionDuration": 60,
                    "agentNotes": ["ok"],
                    "acceptedTime": "2025-09-30T06:00:20Z",
                    "ConsultingAgents": [{"name": "Jane", "isMerged": True, "acceptedTime": "2025-09-30T06:01:00Z"}],
                    "JoinedUsers": [{"id": "u-j"}],
                },
                "nonRespondingAgents": [{"agentId": "u-b", "nonResponseEvent": "Timed Out"}],
            },
            {"destinationType": "AgentSegment", "agentId": "u-c", "afterCallWorkDuration": 5},
        ],
        "recordingSources": [{"url": "https://rec.example/a.wav", "channel": "mixed"}],
    }


def changed(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(record)
    target = record
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return record


def validate(record: dict[str, Any]) -> dict[str, Any]:
    return interaction_record_validator(bot_ids={BOT})(record)


def errors_of(record: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    with pytest.raises(Invalid) as rejected:
        validate(record)
    return [(item.get("field"), item["msg"], item["code"]) for item in flatten_validation_errors(rejected.value.detail)]


RULES = [
    (("sessionId",), DELETE, [("sessionId", "This field is required.", "required")]),
    (("sessionId",), "", [("sessionId", "This field may not be blank.", "blank")]),
    (("sessionId",), "   ", [("sessionId", "This field may not be blank.", "blank")]),
    (("sessionId",), "x" * 129, [("sessionId", "Ensure this field has no more than 128 characters.", "max_length")]),
    (("sessionId",), True, [("sessionId", "Not a valid string.", "invalid")]),
    (("sessionId",), ["s"], [("sessionId", "Not a valid string.", "invalid")]),
    (("sessionId",), "s\x00", [("sessionId", "Null characters are not allowed.", "null_characters_not_allowed")]),
    (
        ("sessionId",),
        "s\ud800",
        [("sessionId", "Surrogate characters are not allowed: U+D800.", "surrogate_characters_not_allowed")],
    ),
    (
        ("sessionId",),
        "x" * 129 + "\x00",
        [
            ("sessionId", "Ensure this field has no more than 128 characters.", "max_length"),
            ("sessionId", "Null characters are not allowed.", "null_characters_not_allowed"),
        ],
    ),
    (("conversationId",), {"id": 1}, [("conversationId", "Not a valid string.", "invalid")]),
    (
        ("channel",),
        "sms",
        [
            (
                "channel",
                "Unknown channel 'sms': use rtm (Web/Mobile Client), voice (Voice) or email (System Mail).",
                "invalid_channel",
            )
        ],
    ),
    (
        ("channel",),
        3,
        [
            (
                "channel",
                "Unknown channel 3: use rtm (Web/Mobile Client), voice (Voice) or email (System Mail).",
                "invalid_channel",
            )
        ],
    ),
    (("botId",), "st-other", [("botId", "'st-other' is not a bot of this account.", "unknown_bot")]),
    (("botId",), "x" * 65, [("botId", "Ensure this field has no more than 64 characters.", "max_length")]),
    (
        ("sessionStartTime",),
        "2025-09-30T06:00:00",
        [
            (
                "sessionStartTime",
                "The time '2025-09-30T06:00:00' has no time zone: add Z (UTC) or an explicit offset such as +05:30.",
                "invalid_time",
            )
        ],
    ),
    (
        ("sessionStartTime",),
        "yesterday",
        [
            (
                "sessionStartTime",
                "The time 'yesterday' must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.",
                "invalid_time",
            )
        ],
    ),
    (
        ("sessionStartTime",),
        1727676000,
        [("sessionStartTime", "The time 1727676000 must be an ISO-8601 string.", "invalid_time")],
    ),
    (
        ("sessionStartTime",),
        "2025-02-30T06:00:00Z",
        [
            (
                "sessionStartTime",
                "The time '2025-02-30T06:00:00Z' must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.",
                "invalid_time",
            )
        ],
    ),
    (
        ("sessionStartTime",),
        "9999-12-31T23:00:00Z",
        [
            (
                "sessionStartTime",
                "The time '9999-12-31T23:00:00Z' is outside the supported range of dates (years 0002 to 9998).",
                "invalid_time",
            )
        ],
    ),
    (
        ("sessionEndTime",),
        "2025-09-30T05:00:00Z",
        [("sessionEndTime", "sessionEndTime is before sessionStartTime.", "invalid")],
    ),
    (("userId",), False, [("userId", "Not a valid string.", "invalid")]),
    (("userId",), {"a": 1}, [("userId", "Not a valid string.", "invalid")]),
    (("dispositions",), "Resolved", [("dispositions", 'Expected a list of items but got type "str".', "not_a_list")]),
    (("dispositions",), {"a": 1}, [("dispositions", 'Expected a list of items but got type "dict".', "not_a_list")]),
    (("dispositions",), 7, [("dispositions", 'Expected a list of items but got type "int".', "not_a_list")]),
    (
        ("dispositions",),
        ["ok", None, 3, ["x"]],
        [
            ("dispositions[1]", "This field may not be null.", "null"),
            ("dispositions[3]", "Not a valid string.", "invalid"),
        ],
    ),
    (("metaInfo",), ["a"], [("metaInfo", 'Expected a dictionary of items but got type "list".', "not_a_dict")]),
    (("customerinfo",), "x", [("customerinfo", 'Expected a dictionary of items but got type "str".', "not_a_dict")]),
    (("skills",), [None], [("skills[0]", "This field may not be null.", "null")]),
    (("skills",), [7], [("skills", "A skill is an object {id, name} or a string.", "invalid")]),
    (("skills",), [float("nan")], [("skills[0]", "Value must be valid JSON.", "invalid")]),
    (("userleveltags",), ["tag"], [("userleveltags[0]", "Expected a JSON object.", "invalid_type")]),
    (("userleveltags",), [None], [("userleveltags[0]", "This field may not be null.", "null")]),
    (("userleveltags",), [{"value": 1}], [("userleveltags[0].name", "This field is required.", "required")]),
    (("userleveltags",), [{"name": ""}], [("userleveltags[0].name", "This field may not be blank.", "blank")]),
    (
        ("userleveltags",),
        [{"name": 5, "value": float("inf")}],
        [("userleveltags[0].value", "Value must be valid JSON.", "invalid")],
    ),
    (("destinations",), [None], [("destinations[0]", "This field may not be null.", "null")]),
    (
        ("destinations",),
        ["QueueEntry"],
        [
            (
                "destinations[0].destinationType",
                "A destination needs destinationType QueueEntry or AgentSegment.",
                "invalid",
            )
        ],
    ),
    (
        ("destinations",),
        [{"queueId": "q"}],
        [
            (
                "destinations[0].destinationType",
                "A destination needs destinationType QueueEntry or AgentSegment.",
                "invalid",
            )
        ],
    ),
    (
        ("destinations",),
        [{"destinationType": "QueueEntry"}],
        [("destinations[0].queueId", "This field is required.", "required")],
    ),
    (
        ("destinations", 0, "queueId"),
        "x" * 129,
        [("destinations[0].queueId", "Ensure this field has no more than 128 characters.", "max_length")],
    ),
    (
        ("destinations", 0, "CallbackOpted"),
        "maybe",
        [("destinations[0].CallbackOpted", "Must be a valid boolean.", "invalid")],
    ),
    (
        ("destinations", 0, "CallbackOpted"),
        [True],
        [("destinations[0].CallbackOpted", "Must be a valid boolean.", "invalid")],
    ),
    (
        ("destinations", 0, "EnterTime"),
        "2025-09-30 06:00:10",
        [
            (
                "destinations[0].EnterTime",
                "The time '2025-09-30 06:00:10' has no time zone: add Z (UTC) or an explicit offset such as +05:30.",
                "invalid_time",
            )
        ],
    ),
    (AGENT, "agent", [("destinations[0].respondingAgent", "Expected a JSON object.", "invalid_type")]),
    (
        (*AGENT, "destinationType"),
        "QueueEntry",
        [("destinations[0].respondingAgent.destinationType", '"QueueEntry" is not a valid choice.', "invalid_choice")],
    ),
    (
        (*AGENT, "interactionDuration"),
        -1,
        [
            (
                "destinations[0].respondingAgent.interactionDuration",
                "Ensure this value is greater than or equal to 0.",
                "min_value",
            )
        ],
    ),
    (
        (*AGENT, "interactionDuration"),
        "1.5",
        [("destinations[0].respondingAgent.interactionDuration", "A valid integer is required.", "invalid")],
    ),
    (
        (*AGENT, "interactionDuration"),
        "9" * 1001,
        [("destinations[0].respondingAgent.interactionDuration", "String value too large.", "max_string_length")],
    ),
    (
        (*AGENT, "interactionDuration"),
        True,
        [("destinations[0].respondingAgent.interactionDuration", "A valid integer is required.", "invalid")],
    ),
    (
        (*AGENT, "agentNotes"),
        [None],
        [("destinations[0].respondingAgent.agentNotes[0]", "This field may not be null.", "null")],
    ),
    (
        (*AGENT, "ConsultingAgents"),
        [None],
        [("destinations[0].respondingAgent.ConsultingAgents[0]", "This field may not be null.", "null")],
    ),
    (
        (*AGENT, "ConsultingAgents"),
        ["Jane"],
        [("destinations[0].respondingAgent.ConsultingAgents[0]", "Expected a JSON object.", "invalid_type")],
    ),
    (
        (*AGENT, "ConsultingAgents", 0, "isMerged"),
        "perhaps",
        [("destinations[0].respondingAgent.ConsultingAgents[0].isMerged", "Must be a valid boolean.", "invalid")],
    ),
    (
        (*AGENT, "ConsultingAgents", 0, "acceptedTime"),
        "yesterday",
        [
            (
                "destinations[0].respondingAgent.ConsultingAgents[0].acceptedTime",
                "The time 'yesterday' must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.",
                "invalid_time",
            )
        ],
    ),
    (
        (*AGENT, "JoinedUsers"),
        [None],
        [("destinations[0].respondingAgent.JoinedUsers[0]", "This field may not be null.", "null")],
    ),
    (
        (*AGENT, "JoinedUsers"),
        "u-j",
        [("destinations[0].respondingAgent.JoinedUsers", 'Expected a list of items but got type "str".', "not_a_list")],
    ),
    (
        ("destinations", 0, "nonRespondingAgents"),
        {"agentId": "x"},
        [("destinations[0].nonRespondingAgents", 'Expected a list of items but got type "dict".', "not_a_list")],
    ),
    (
        ("destinations", 1, "afterCallWorkDuration"),
        "soon",
        [("destinations[1].afterCallWorkDuration", "A valid integer is required.", "invalid")],
    ),
    (("recordingSources",), [None], [("recordingSources[0]", "This field may not be null.", "null")]),
    (
        ("recordingSources",),
        ["https://x"],
        [("recordingSources[0]", "Invalid data. Expected a dictionary, but got str.", "invalid")],
    ),
    (("recordingSources", 0, "url"), None, [("recordingSources[0].url", "This field may not be null.", "null")]),
    (
        ("recordingSources", 0, "url"),
        "file:///etc/passwd",
        [("recordingSources[0].url", "A recording source must be an http, https or s3 address.", "invalid")],
    ),
    (("recordingSources", 0, "url"), "", [("recordingSources[0].url", "This field may not be blank.", "blank")]),
    (
        ("recordingSources", 0, "url"),
        "https://" + "x" * 2000,
        [("recordingSources[0].url", "Ensure this field has no more than 2000 characters.", "max_length")],
    ),
    (
        ("recordingSources", 0, "channel"),
        "stereo",
        [("recordingSources[0].channel", "channel must be mixed, agent or customer, not 'stereo'.", "invalid_choice")],
    ),
    (
        ("recordingSources", 0, "channel"),
        DELETE,
        [("recordingSources[0].channel", "This field is required.", "required")],
    ),
    (("channel",), "rtm", [("recordingSources", "Only voice records carry recordingSources.", "invalid")]),
]


@pytest.mark.parametrize(("path", "value", "errors"), RULES)
def test_each_rule_reports_drfs_message_and_code_at_the_exact_spot(
    path: tuple[Any, ...], value: Any, errors: list[tuple[str, str, str]]
) -> None:
    assert errors_of(changed(valid_record(), path, value)) == errors


CONVERSIONS = [
    # Like DRF's fields: numbers become text, ids are trimmed, booleans and counts are read from
    # their usual spellings, times are stored in UTC with milliseconds.
    (("sessionId",), 12345, "12345"),
    (("sessionId",), "  s-2  ", "s-2"),
    (("userId",), 1e16, "1e+16"),
    (("userId",), "  kept  ", "  kept  "),
    (("userId",), "", ""),
    (("sessionStartTime",), "2025-09-30T11:30:00.5+05:30", "2025-09-30T06:00:00.500Z"),
    (("destinations", 0, "CallbackOpted"), "yes", True),
    (("destinations", 0, "CallbackOpted"), 0, False),
    ((*AGENT, "interactionDuration"), "60", 60),
    ((*AGENT, "interactionDuration"), 60.0, 60),
    ((*AGENT, "interactionDuration"), " 7 ", 7),
    (("metaInfo",), {"caller": None}, {"caller": None}),
    (("userleveltags",), [{"name": " a ", "value": None}], [{"name": " a "}]),
    (("recordingSources", 0, "url"), "  S3://bucket/key  ", "S3://bucket/key"),
]


@pytest.mark.parametrize(("path", "value", "stored"), CONVERSIONS)
def test_accepted_values_are_stored_as_drfs_fields_convert_them(path: tuple[Any, ...], value: Any, stored: Any) -> None:
    result: Any = validate(changed(valid_record(), path, value))
    for key in path:
        result = result[key]
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("rtm", "Web/Mobile Client"),
        (" EMAIL ", "System Mail"),
        ("Voice", "Voice"),
        ("web/mobile client", "Web/Mobile Client"),
    ],
)
def test_a_channel_is_stored_as_its_label(sent: str, stored: str) -> None:
    record = changed(valid_record(), ("recordingSources",), DELETE)
    assert validate(changed(record, ("channel",), sent))["channel"] == stored


def test_nulls_are_dropped_unknown_fields_kept_after_the_known_ones_and_closed_shapes_keep_only_theirs() -> None:
    record = {"extra": {"a": 1}, **valid_record(), "userId": None, "later": [1]}
    record["destinations"][0]["respondingAgent"] = {"custom": True, **record["destinations"][0]["respondingAgent"]}
    record["recordingSources"][0]["extra"] = 1

    stored = validate(record)

    assert list(stored)[-2:] == ["extra", "later"]
    assert "userId" not in stored
    assert list(stored["destinations"][0]["respondingAgent"])[-1] == "custom"
    assert stored["recordingSources"] == [{"url": "https://rec.example/a.wav", "channel": "mixed"}]


def test_a_stored_record_validates_to_itself() -> None:
    stored = validate(valid_record())
    assert stored["destinations"][0]["EnterTime"] == "2025-09-30T06:00:10.000Z"
    assert validate(copy.deepcopy(stored)) == stored


def test_every_error_of_a_record_is_reported_in_declaration_order() -> None:
    record = changed(valid_record(), ("botId",), "st-other")
    record["sessionId"] = ""
    record["destinations"][1]["afterCallWorkDuration"] = -5
    record["destinations"][0]["respondingAgent"]["agentNotes"] = ["ok", None, 3]

    assert errors_of(record) == [
        ("sessionId", "This field may not be blank.", "blank"),
        ("botId", "'st-other' is not a bot of this account.", "unknown_bot"),
        ("destinations[0].respondingAgent.agentNotes[1]", "This field may not be null.", "null"),
        ("destinations[1].afterCallWorkDuration", "Ensure this value is greater than or equal to 0.", "min_value"),
    ]


def test_rules_across_fields_apply_only_once_every_field_is_valid() -> None:
    record = changed(valid_record(), ("sessionEndTime",), "2025-09-30T05:00:00Z")
    record["userId"] = []
    assert errors_of(record) == [("userId", "Not a valid string.", "invalid")]
