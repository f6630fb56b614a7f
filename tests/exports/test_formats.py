"""CSV and Parquet files read back with pyarrow: the documented columns, then the NDJSON line."""

from __future__ import annotations

import gzip
import io
from typing import Any

import orjson
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from exports.datasets import DATASETS
from tests.conftest import Tenant
from tests.conversations.conftest import ingest
from tests.conversations.factories import ConversationRecordFactory, SessionRecordFactory
from tests.exports.conftest import DAY, download, exported, ndjson_lines
from tests.qualityai.conftest import ingest as ingest_contacts
from tests.qualityai.factories import ContactDocumentFactory

INTERACTION_COLUMNS = [
    "sessionId", "conversationId", "channel", "botId", "userId", "channelSpecificUserId", "orgId",
    "sessionStartTime", "sessionEndTime", "Direction", "isVoicemail", "finalStatus", "smartStatus", "reason",
    "disconnectingEvent", "record",
]
CONTACT_COLUMNS = [
    "streamId", "conversationId", "customConversationId", "contactDirection", "conversationStartTime",
    "conversationEndTime", "duration", "durationStatus", "koreEvaluationScore", "auditStatus", "language", "record",
]


def _records(tenant: Tenant) -> None:
    bot = tenant.bot.bot_id
    ingest(tenant, [
        *(SessionRecordFactory(botId=bot) for _ in range(4)),
        *(ConversationRecordFactory(botId=bot, channel="voice", isVoicemail=True) for _ in range(3)),
    ])


def _table(tenant: Tenant, document: dict[str, Any]) -> Any:
    [item] = document["manifest"]["files"]
    data = download(tenant, item["url"])
    if document["format"] == "parquet":
        return pq.read_table(io.BytesIO(data))
    if document["compression"] == "gzip":
        data = gzip.decompress(data)
    # Every column is text; an absent value is an empty cell.
    every_column_text = pa_csv.ConvertOptions(
        column_types={name: "string" for name in INTERACTION_COLUMNS}, strings_can_be_null=True
    )
    return pa_csv.read_csv(io.BytesIO(data), convert_options=every_column_text)


@pytest.mark.parametrize(("fmt", "compression"), [("csv", "none"), ("csv", "gzip"), ("parquet", "none"),
                                                  ("parquet", "gzip")])
def test_csv_and_parquet_have_the_documented_columns_and_the_served_records(
    tenant: Tenant, fmt: str, compression: str
) -> None:
    _records(tenant)
    body = {"dataset": "interactions", **DAY, "filters": {"timeZoneOffset": -330}}
    lines = ndjson_lines(tenant, exported(tenant, body))
    document = exported(tenant, {**body, "format": fmt, "compression": compression})

    table = _table(tenant, document)

    assert table.column_names == INTERACTION_COLUMNS
    assert table.num_rows == document["manifest"]["rows"] == 7
    rows = table.to_pylist()
    assert [row["record"].encode() for row in rows] == lines
    for row in rows:
        record = orjson.loads(row["record"])
        assert row["sessionId"] == record["sessionId"]
        assert row["sessionStartTime"] == record["sessionStartTime"]  # local time at the offset, as served
        assert row["conversationId"] == record.get("conversationId")
        assert row["isVoicemail"] == ("true" if record.get("isVoicemail") else None)


def test_parquet_of_qa_contacts_has_the_documented_columns(tenant: Tenant) -> None:
    ingest_contacts(tenant, [ContactDocumentFactory() for _ in range(3)])
    window = {"startDate": "2026-05-02", "endDate": "2026-05-02"}
    document = exported(tenant, {"dataset": "qa_contacts", **window, "format": "parquet"})

    rows = _table(tenant, document).to_pylist()

    assert list(rows[0]) == CONTACT_COLUMNS
    assert [row["streamId"] for row in rows] == [tenant.bot.bot_id] * 3
    for row in rows:
        record = orjson.loads(row["record"])
        assert row["conversationId"] == record["Conversation ID"]
        assert row["duration"] == "60000 milliseconds"
        assert row["koreEvaluationScore"] == "80"
        assert row["durationStatus"] == "evaluated"


def test_the_documented_columns_are_the_registrys(tenant: Tenant) -> None:
    assert [column.name for column in DATASETS["interactions"].columns] + ["record"] == INTERACTION_COLUMNS
    assert [column.name for column in DATASETS["qa_contacts"].columns] + ["record"] == CONTACT_COLUMNS
