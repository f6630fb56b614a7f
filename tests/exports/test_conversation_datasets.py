"""The conversations, transcripts and events export datasets (docs/contract.md#export-datasets)."""

from __future__ import annotations

import gzip
import io
import json
from datetime import timedelta
from typing import Any

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import time_machine

from exports.datasets import DATASETS
from exports.writers import column_names
from tests.conftest import Tenant
from tests.exports.conftest import download, exported, ndjson_lines
from tests.supervision.conftest import EMAIL, PHONE, START, a_conversation

pytestmark = pytest.mark.django_db

WINDOW = {"startDate": START.strftime("%Y-%m-%d"), "endDate": START.strftime("%Y-%m-%d")}
QUERY = "/api/v1/conversations/query"


@pytest.fixture
def two(tenant: Tenant) -> None:
    a_conversation(tenant, "s-1")
    a_conversation(tenant, "s-22")


def _records(tenant: Tenant, dataset: str, fmt: str, compression: str = "none", **body: Any) -> list[dict[str, Any]]:
    """The exported records, read back from the file in its format (CSV and Parquet: the record column)."""
    document = exported(tenant, {"dataset": dataset, **WINDOW, "format": fmt, "compression": compression, **body})
    if fmt == "ndjson":
        return [json.loads(line) for line in ndjson_lines(tenant, document)]
    [item] = document["manifest"]["files"]
    data = download(tenant, item["url"])
    names = column_names(DATASETS[dataset])
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
    else:
        if compression == "gzip":
            data = gzip.decompress(data)
        table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(
            column_types={name: "string" for name in names}, strings_can_be_null=True
        ))
    assert table.column_names == names
    rows = table.to_pylist()
    for row in rows:
        record = json.loads(row["record"])
        assert row["sessionId"] == record["sessionId"]
    return [json.loads(row["record"]) for row in rows]


def _query_rows(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.post(QUERY, {**WINDOW, "sort": "start_asc"})
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize(("fmt", "compression"), [("ndjson", "none"), ("ndjson", "gzip"), ("csv", "none"),
                                                  ("csv", "gzip"), ("parquet", "none")])
def test_conversations_are_the_query_endpoints_rows_in_every_format(
    tenant: Tenant, two: None, fmt: str, compression: str
) -> None:
    assert _records(tenant, "conversations", fmt, compression) == _query_rows(tenant)


def test_conversation_filters_are_the_tables_criteria(tenant: Tenant, two: None) -> None:
    records = _records(tenant, "conversations", "ndjson", filters={"ids": ["s-22"]})

    assert [record["sessionId"] for record in records] == ["s-22"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
def test_transcripts_are_one_row_per_shown_message_without_speech_on_hold(tenant: Tenant, two: None, fmt: str) -> None:
    records = _records(tenant, "transcripts", fmt)

    served = tenant.get("/api/v1/conversations/s-1/transcript").json()["messages"]
    assert [(record["sessionId"], record["id"]) for record in records] == [
        *(("s-1", message_id) for message_id in ("m1", "m2", "m3", "m5", "m6", "m7")),
        *(("s-22", message_id) for message_id in ("m1", "m2", "m3", "m5", "m6", "m7")),
    ]
    assert [{k: v for k, v in record.items() if k not in ("sessionId", "position")} for record in records[:6]] == served


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
def test_events_are_one_row_per_event(tenant: Tenant, two: None, fmt: str) -> None:
    with time_machine.travel(START + timedelta(days=1), tick=False):
        records = _records(tenant, "events", fmt)
        served = tenant.get("/api/v1/conversations/s-1/events").json()["events"]
    assert [record["sessionId"] for record in records] == ["s-1"] * len(served) + ["s-22"] * len(served)
    assert [{k: v for k, v in record.items() if k not in ("sessionId", "position")} for record in records[:len(served)]
            ] == served


@pytest.mark.parametrize("dataset", ["conversations", "transcripts"])
def test_customer_contacts_are_masked_when_the_account_obscures_them(tenant: Tenant, two: None, dataset: str) -> None:
    assert tenant.put("/api/v1/settings/privacy", {"obscureCustomerInfo": True}).status_code == 200

    records = _records(tenant, dataset, "ndjson")

    assert records
    assert PHONE not in str(records) and EMAIL not in str(records)
    if dataset == "conversations":
        assert records == _query_rows(tenant)
