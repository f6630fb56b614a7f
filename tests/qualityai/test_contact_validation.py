"""Ingestion checks contacts with ``ContactRecordSerializer``'s own fields, without a serializer per record.

The serializer stays as the contact's documented shape (OpenAPI); the check that runs must give
exactly its answer — the same ``ContactRecord``, or the same errors — for every record.
"""

from __future__ import annotations

from typing import Any

import pytest

from analytics_api.kernel.errors import flatten_validation_errors
from analytics_api.kernel.validation import Invalid
from qualityai.serializers import ContactRecordSerializer, contact_record_check
from tests.qualityai.factories import ContactDocumentFactory

ABSENT = object()
# One of each JSON type, and the forms a contact's fields take (times, durations, scores).
VALUES = [
    ABSENT, None, "", "  ", "text", "x" * 257, 0, -5, 7, 31536000001, 1.5, float("nan"), True, False, [], ["a"],
    {}, {"k": "v"}, {"": "x"}, {"k": {"nested": 1}}, {"Long": "x" * 501},
    "2026-05-02T10:00:00Z", "2026-05-02T15:30:00+05:30", "2026-05-02 10:00:00", "2026-02-30T10:00:00Z",
    "99000 milliseconds", "99000 seconds", "NA", "inbound", "Outbound",
]


def document(name: str, value: Any) -> dict[str, Any]:
    doc = ContactDocumentFactory(conversation_id="c-1")
    if value is ABSENT:
        doc.pop(name, None)
    else:
        doc[name] = value
    return doc


def serializer_answer(doc: dict[str, Any]) -> tuple[str, Any]:
    serializer = ContactRecordSerializer(data=doc)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "rejected", flatten_validation_errors(serializer.errors)


def check_answer(doc: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "valid", contact_record_check(doc)
    except Invalid as error:
        return "rejected", flatten_validation_errors(error.detail)


def comparable(answer: tuple[str, Any]) -> tuple[str, Any]:
    """NaN is never equal to itself: compare what would be stored and reported, as text."""
    return answer[0], repr(answer[1])


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("name", list(ContactRecordSerializer().fields))
def test_the_check_agrees_with_the_serializer_on_every_field_and_kind_of_value(name: str, value: Any) -> None:
    doc = document(name, value)
    assert comparable(check_answer(doc)) == comparable(serializer_answer(doc))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"end": "2026-05-02T09:59:59Z"},
        {"end": None, "duration": None, "direction": None},
        {"custom_fields": {"Region": "US", "Tier": 3, "Vip": True, "Empty": None}},
        {"audit_status": " Completed ", "audit_date": "2026-05-03T10:00:00Z"},
        {"score": "NA", "unknown key": [1, 2]},
    ],
    ids=repr,
)
def test_the_check_agrees_with_the_serializer_on_whole_records(changes: dict[str, Any]) -> None:
    doc = ContactDocumentFactory(**changes)
    answer = check_answer(doc)
    assert comparable(answer) == comparable(serializer_answer(doc))


def test_every_error_of_a_contact_is_reported_in_the_serializers_order() -> None:
    doc = ContactDocumentFactory(start="yesterday", duration="soon", direction="sideways", is_passed="yes")
    del doc["Conversation ID"]

    assert [item["field"] for item in check_answer(doc)[1]] == [
        "Conversation ID", "Conversation Start Time", "Duration", "contactDirection", "IsPassed",
    ]
