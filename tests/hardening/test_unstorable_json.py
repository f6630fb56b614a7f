"""Records nested too deep or holding integers beyond 64 bits are rejected on their own, never a 500.

Found by an adversarial review: orjson (which encodes stored documents) refuses nesting beyond 255
levels and integers beyond 64 bits, so one such record answered 500 and lost its whole batch.
"""

from __future__ import annotations

from typing import Any

import pytest

from analytics_api.kernel.text import JSON_INT_MAX, JSON_INT_MIN, MAX_JSON_DEPTH, record_storage_errors
from conversations.models import Interaction
from qualityai.models import QaContact
from tests.conftest import Tenant
from tests.conversations.factories import ConversationRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


def nested(levels: int) -> dict[str, Any]:
    """An object nesting ``levels`` levels of objects and arrays (itself the first)."""
    value: Any = "leaf"
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value if isinstance(value, dict) else {"a": value}


def _too_deep(field: str) -> dict[str, str]:
    return {"msg": f"{field} nests objects and arrays deeper than 32 levels.", "code": "too_deep", "field": field}


def _too_big(field: str) -> dict[str, str]:
    return {
        "msg": f"{field} is an integer beyond 64 bits: send it as text, or a number from "
        "-9223372036854775808 to 18446744073709551615.",
        "code": "number_out_of_range",
        "field": field,
    }


def test_the_limits_are_the_documented_ones() -> None:
    assert (MAX_JSON_DEPTH, JSON_INT_MIN, JSON_INT_MAX) == (32, -(2**63), 2**64 - 1)


def test_an_interaction_nested_too_deep_or_with_a_huge_integer_is_rejected_and_the_rest_stored(
    tenant: Tenant,
) -> None:
    bot = tenant.bot.bot_id
    records = [
        ConversationRecordFactory(botId=bot, customerinfo=nested(33)),
        ConversationRecordFactory(botId=bot, metaInfo=nested(32), customerinfo={"n": JSON_INT_MAX}),
        ConversationRecordFactory(botId=bot, metaInfo={"deep": nested(300)}),
        ConversationRecordFactory(botId=bot, metaInfo={"n": [1, 2**64]}, customerinfo={"m": -(2**63) - 1}),
        ConversationRecordFactory(botId=bot, sessionleveltags=[{"name": "t", "value": nested(40)}], Extra=2**70),
    ]

    response = tenant.post("/api/v1/ingest/interactions", {"records": records})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 1,
        "updated": 0,
        "rejected": [
            {"index": 0, "errors": [_too_deep("customerinfo")]},
            {"index": 2, "errors": [_too_deep("metaInfo")]},
            {"index": 3, "errors": [_too_big("metaInfo.n[1]"), _too_big("customerinfo.m")]},
            {"index": 4, "errors": [_too_deep("sessionleveltags"), _too_big("Extra")]},
        ],
    }
    stored = Interaction.objects.get()
    assert stored.session_id == records[1]["sessionId"]
    assert stored.document["metaInfo"] == nested(32)
    assert stored.document["customerinfo"] == {"n": JSON_INT_MAX}


def test_a_contact_nested_too_deep_or_with_a_huge_integer_is_rejected_and_the_rest_stored(tenant: Tenant) -> None:
    contacts = [ContactDocumentFactory() for _ in range(3)]
    contacts[0]["Sentiment Ratio"] = nested(300)
    contacts[1]["Configured_Intents"] = {"count": 2**70}

    response = tenant.post(f"/api/v1/ingest/qualityai/{tenant.bot.bot_id}/contacts", {"records": contacts})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 1,
        "updated": 0,
        "rejected": [
            {"index": 0, "errors": [_too_deep("Sentiment Ratio")]},
            {"index": 1, "errors": [_too_big("Configured_Intents.count")]},
        ],
    }
    assert list(QaContact.objects.values_list("conversation_id", flat=True)) == [contacts[2]["Conversation ID"]]


@pytest.mark.parametrize(
    "record",
    [
        {"a": "[[[[" * 40, "b": "]]]]" * 40},  # brackets inside strings are no nesting
        {"a": '\\"[' * 50, "b": nested(32)},
        {"a": [[], {}, [{}]] * 100},
    ],
)
def test_records_within_the_limits_have_nothing_to_report(record: dict[str, Any]) -> None:
    assert record_storage_errors(record) == []


@pytest.mark.parametrize(
    "text",
    ["ends with a backslash \\", 'an escaped quote \\" then ]]]] and [[[[', '\\\\\\"}}}}]]', '"', "\\u005c", "[" * 40],
)
def test_strings_with_escapes_and_brackets_neither_hide_nor_add_nesting(text: str) -> None:
    # The fast check reads strings out of the encoded record: what they hold must not count.
    assert record_storage_errors({"a": text, "b": nested(32), "c": text}) == []
    assert record_storage_errors({"a": text, "b": nested(33), "c": text}) == [_too_deep("b")]
