"""POST /api/v1/ingest/qualityai/{streamId}/contacts: per-record validation, upsert, idempotency."""

from __future__ import annotations

from typing import Any

import pytest

from qualityai.models import QaContact, QaContactCustomField
from tests.conftest import Tenant
from tests.qualityai.conftest import INGEST, errors_of, ids_of, ok, rawdata
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db


def send(tenant: Tenant, records: Any, *, stream_id: str | None = None) -> Any:
    body = {"records": records} if isinstance(records, list) else records
    return tenant.post(INGEST.format(stream_id or tenant.bot.bot_id), body)


def custom_rows(tenant: Tenant) -> set[tuple[str, str, str]]:
    return set(
        QaContactCustomField.objects.filter(stream=tenant.bot).values_list("contact__conversation_id", "key", "value")
    )


def test_new_contacts_are_created(tenant: Tenant, day: dict[str, Any]) -> None:
    documents = ContactDocumentFactory.build_batch(3)

    assert ok(send(tenant, documents)) == {"created": 3, "updated": 0, "rejected": []}
    assert ids_of(ok(rawdata(tenant, day))) == [d["Conversation ID"] for d in documents]
    stored = QaContact.objects.get(conversation_id=documents[0]["Conversation ID"])
    assert (stored.account_id, stored.stream_id) == (tenant.account.pk, tenant.bot.pk)
    assert stored.document == documents[0]


def test_sending_the_same_batch_again_updates_and_never_duplicates(tenant: Tenant, day: dict[str, Any]) -> None:
    documents = ContactDocumentFactory.build_batch(3)
    ok(send(tenant, documents))

    again = ok(send(tenant, documents))

    assert again == {"created": 0, "updated": 3, "rejected": []}
    assert QaContact.objects.filter(stream=tenant.bot).count() == 3
    assert len(custom_rows(tenant)) == 3


def test_resent_contact_replaces_columns_document_and_custom_fields(tenant: Tenant, day: dict[str, Any]) -> None:
    first = ContactDocumentFactory(conversation_id="c-1", custom_fields={"Region": "US", "Tier": "Gold"}, score=10)
    ok(send(tenant, [first]))
    created_at = QaContact.objects.get(conversation_id="c-1").created_at

    second = ContactDocumentFactory(
        conversation_id="c-1", custom_fields={"Region": "UK"}, score=90, direction="outbound", seconds=5
    )
    assert ok(send(tenant, [second, ContactDocumentFactory(conversation_id="c-2")])) == {
        "created": 1, "updated": 1, "rejected": []
    }

    stored = QaContact.objects.get(conversation_id="c-1")
    assert (stored.direction, stored.duration_ms, stored.document["Kore Evaluation Score"]) == ("outbound", 5000, 90)
    assert stored.created_at == created_at
    assert custom_rows(tenant) == {("c-1", "Region", "UK"), ("c-2", "Region", "US")}
    assert ids_of(ok(rawdata(tenant, {**day, "custom_fields": {"Tier": "Gold"}}))) == []


def test_duplicates_inside_one_batch_keep_the_last(tenant: Tenant) -> None:
    first = ContactDocumentFactory(conversation_id="c-dup", score=1)
    last = ContactDocumentFactory(conversation_id="c-dup", score=2)

    assert ok(send(tenant, [first, last])) == {"created": 1, "updated": 0, "rejected": []}
    assert QaContact.objects.get(conversation_id="c-dup").document["Kore Evaluation Score"] == 2


def test_the_same_conversation_id_in_two_streams_is_two_contacts(tenant: Tenant, outsider: Tenant) -> None:
    document = ContactDocumentFactory(conversation_id="c-same")

    ok(send(tenant, [document]))
    ok(send(outsider, [document]))

    assert QaContact.objects.filter(conversation_id="c-same").count() == 2


def test_invalid_records_are_rejected_by_index_with_every_reason_and_valid_ones_stored(tenant: Tenant) -> None:
    good = ContactDocumentFactory(conversation_id="c-good")
    bad = ContactDocumentFactory(
        start="2026-05-02 10:00:00",
        end="yesterday",
        duration="a minute",
        direction="sideways",
        score="high",
        custom_fields={"Region": {"nested": True}, "Tags": ["a"]},
        queues="Support",
        is_passed="yes",
    )
    del bad["Conversation ID"]

    result = ok(send(tenant, [good, bad, "not an object"]))

    assert result["created"] == 1
    assert result["rejected"] == [
        {"index": 1, "errors": [
            {"msg": "Conversation ID is required.", "code": "required", "field": "Conversation ID"},
            {"msg": "Conversation Start Time has no time zone: add Z (UTC) or an explicit offset such as +05:30.",
             "code": "invalid", "field": "Conversation Start Time"},
            {"msg": "Conversation End Time must be an ISO-8601 date and time such as 2025-09-30T06:10:31Z.",
             "code": "invalid", "field": "Conversation End Time"},
            {"msg": 'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number '
                    "of milliseconds, from 0 to 31536000000 (a year).", "code": "invalid", "field": "Duration"},
            {"msg": "contactDirection must be inbound or outbound.", "code": "invalid_choice",
             "field": "contactDirection"},
            {"msg": 'Kore Evaluation Score must be a number, or "NA" when not evaluated.', "code": "invalid",
             "field": "Kore Evaluation Score"},
            {"msg": "custom_fields.Region must be a string, a number, a boolean or null.", "code": "invalid",
             "field": "custom_fields.Region"},
            {"msg": "custom_fields.Tags must be a string, a number, a boolean or null.", "code": "invalid",
             "field": "custom_fields.Tags"},
            {"msg": "Queues must be a list.", "code": "invalid", "field": "Queues"},
            {"msg": "IsPassed must be true or false.", "code": "invalid", "field": "IsPassed"},
        ]},
        {"index": 2, "errors": [{"msg": "A record must be a JSON object.", "code": "invalid_type"}]},
    ]
    assert list(QaContact.objects.values_list("conversation_id", flat=True)) == ["c-good"]


@pytest.mark.parametrize(
    ("changes", "field", "msg", "code"),
    [
        ({"end": "2026-05-02T09:59:59Z"}, "Conversation End Time",
         "Conversation End Time must not be before Conversation Start Time.", "invalid"),
        ({"conversation_id": "  "}, "Conversation ID",
         "Conversation ID must be a non-empty string of at most 128 characters.", "invalid"),
        ({"conversation_id": 42}, "Conversation ID",
         "Conversation ID must be a non-empty string of at most 128 characters.", "invalid"),
        ({"start": None}, "Conversation Start Time", "Conversation Start Time must not be null.", "null"),
        ({"duration": -5}, "Duration",
         'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number of '
         "milliseconds, from 0 to 31536000000 (a year).", "invalid"),
        ({"duration": "31536000001 milliseconds"}, "Duration",
         'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number of '
         "milliseconds, from 0 to 31536000000 (a year).", "invalid"),
        ({"duration": "99000 seconds"}, "Duration",
         'Duration must be "<milliseconds> milliseconds" (e.g. "99000 milliseconds") or a whole number of '
         "milliseconds, from 0 to 31536000000 (a year).", "invalid"),
        ({"custom_fields": {"": "x"}}, 'custom_fields.""',
         'custom_fields."": field names must have 1 to 100 characters.', "invalid"),
        ({"custom_fields": {"Long": "x" * 501}}, "custom_fields.Long",
         "custom_fields.Long must have at most 500 characters.", "invalid"),
        ({"custom_fields": "Region=US"}, "custom_fields",
         "custom_fields must be an object of field names to strings, numbers or booleans.", "invalid"),
        ({"Configured_Intents": []}, "Configured_Intents", "Configured_Intents must be an object.", "invalid"),
        ({"sentiment_score": "1.5"}, "Sentiment Score", "Sentiment Score must be a number.", "invalid"),
        ({"customConversationId": 7}, "customConversationId",
         "customConversationId must be a string of at most 256 characters.", "invalid"),
    ],
)
def test_each_rule_rejects_with_its_message(
    tenant: Tenant, changes: dict[str, Any], field: str, msg: str, code: str
) -> None:
    result = ok(send(tenant, [ContactDocumentFactory(**changes)]))

    assert result["rejected"] == [{"index": 0, "errors": [{"msg": msg, "code": code, "field": field}]}]
    assert result["created"] == 0
    assert not QaContact.objects.exists()


def test_nothing_is_written_when_every_record_is_rejected(tenant: Tenant) -> None:
    result = ok(send(tenant, [{"Conversation ID": "c-1"}, {"Conversation Start Time": "2026-05-02T10:00:00Z"}]))

    assert [item["index"] for item in result["rejected"]] == [0, 1]
    assert not QaContact.objects.exists()
    assert not QaContactCustomField.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"records": []}, [{"msg": "Send at least one record.", "code": "empty", "field": "records"}]),
        ({}, [{"msg": 'records is required: send {"records": [...]} with 1 to 1000 records.', "code": "required",
               "field": "records"}]),
        ({"records": {"Conversation ID": "c-1"}}, [{
            "msg": "records must be a list of 1 to 1000 records (JSON objects).", "code": "invalid", "field": "records",
        }]),
        ({"records": None}, [{"msg": "records must not be null.", "code": "null", "field": "records"}]),
        ({"records": [{}] * 1001}, [{
            "msg": "A batch holds at most 1000 records: split it into several requests.", "code": "too_many",
            "field": "records",
        }]),
    ],
)
def test_a_body_that_is_not_a_batch_is_400_and_writes_nothing(
    tenant: Tenant, body: dict[str, Any], errors: list[dict[str, str]]
) -> None:
    assert errors_of(send(tenant, body)) == errors
    assert not QaContact.objects.exists()


def test_stream_of_another_account_is_404_and_nothing_is_written(tenant: Tenant, outsider: Tenant) -> None:
    response = send(tenant, ContactDocumentFactory.build_batch(1), stream_id=outsider.bot.bot_id)

    assert errors_of(response, 404) == [{
        "msg": f"No bot or app {outsider.bot.bot_id!r} in this account.", "code": "not_found", "field": "streamId"
    }]
    assert not QaContact.objects.exists()


def test_client_without_the_ingest_scope_is_403_and_nothing_is_written(tenant: Tenant) -> None:
    tenant.api_client.scopes = ["qualityai.analytics"]
    tenant.api_client.save()

    assert errors_of(send(tenant, ContactDocumentFactory.build_batch(1)), 403) == [
        {"msg": "This API client lacks the scope 'ingest'.", "code": "permission_denied"}
    ]
    assert not QaContact.objects.exists()


@pytest.mark.parametrize("size", [2, 200])
def test_a_batch_is_stored_in_bulk_not_record_by_record(
    tenant: Tenant, size: int, django_assert_max_num_queries: Any
) -> None:
    documents = ContactDocumentFactory.build_batch(size)
    ok(send(tenant, documents[: size // 2]))  # some updates, some creations

    # client, stream, savepoint, existing ids, upsert, ids → pks, delete + insert custom fields,
    # change log, release; SQLite splits a large INSERT into chunks of its 999-parameter limit (2 more here).
    with django_assert_max_num_queries(13):
        result = ok(send(tenant, documents))

    assert (result["created"], result["updated"]) == (size - size // 2, size // 2)
