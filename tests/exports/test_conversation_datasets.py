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
from exports.models import ExportJob, ExportState
from exports.writers import column_names
from tests.conftest import Tenant
from tests.exports.conftest import EXPORTS, download, export_create, exported, ndjson_lines, run_to_end
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


def test_an_events_window_starting_more_than_30_days_ago_is_refused_naming_start_date(
    tenant: Tenant, two: None
) -> None:
    with time_machine.travel(START + timedelta(days=30, minutes=1), tick=False):
        response = tenant.post(EXPORTS, {"dataset": "events", "startDate": "2025-09-30 06:00:00",
                                         "endDate": "2025-09-30", "format": "bogus"})
        transcripts = tenant.post(EXPORTS, {"dataset": "transcripts", "startDate": "2025-09-30 06:00:00",
                                            "endDate": "2025-09-30"})

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"msg": "format must be ndjson, csv or parquet, not 'bogus'.", "code": "invalid_choice", "field": "format"},
        {"msg": "Events can be downloaded only for conversations up to 30 days old: startDate must be "
                "2025-09-30T06:01:00.000Z or later.", "code": "events_expired", "field": "startDate"},
    ]}
    assert transcripts.status_code == 202  # transcripts have no such limit
    assert ExportJob.objects.filter(dataset="events").count() == 0


def test_a_conversation_that_passes_30_days_before_the_job_reads_is_left_out_as_the_events_endpoint_refuses_it(
    tenant: Tenant, two: None
) -> None:
    body = {"dataset": "events", "startDate": "2025-09-30 06:00:00", "endDate": "2025-09-30"}
    with time_machine.travel(START + timedelta(days=30), tick=False) as clock:
        created = export_create(tenant, body, **{"Idempotency-Key": "events-30"})
        clock.shift(timedelta(minutes=3, seconds=30))  # s-1 started at 06:03, s-22 at 06:04
        assert run_to_end(created["id"]) == ExportState.COMPLETED
        document = tenant.get(f"{EXPORTS}/{created['id']}").json()
        records = [json.loads(line) for line in ndjson_lines(tenant, document)]
        reads = [tenant.get(f"/api/v1/conversations/{session}/events").status_code for session in ("s-1", "s-22")]
        replay = tenant.post(EXPORTS, body, **{"Idempotency-Key": "events-30"})

    assert reads == [410, 200]
    assert {record["sessionId"] for record in records} == {"s-22"} and records
    assert document["manifest"]["rows"] == len(records)
    # The same key and body still answer the job once its window has aged past 30 days.
    assert (replay.status_code, replay.json()["id"]) == (202, created["id"])
