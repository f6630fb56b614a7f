"""An export's records are byte for byte what the dataset's endpoint serves, file by file."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import stat
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection

from analytics_api.kernel import read_ahead
from analytics_api.kernel.read_ahead import rows_read_ahead
from conversations.models import Interaction
from tests.conftest import Tenant
from tests.conversations.conftest import CALLS, DETAILS, details, ingest
from tests.conversations.factories import BASE, ConversationRecordFactory, QueueEntryFactory, SessionRecordFactory
from tests.exports.conftest import DAY, download, exported, ndjson_lines, stored_files
from tests.qualityai.conftest import ingest as ingest_contacts
from tests.qualityai.conftest import rawdata
from tests.qualityai.factories import ContactDocumentFactory


def _served(tenant: Tenant, body: dict[str, Any], *, path: str = DETAILS) -> list[bytes]:
    """Every record the endpoint serves for ``body``, as its exact bytes within the page."""
    records: list[bytes] = []
    for page in range(11):
        response = details(tenant, body, query=f"?limit=100&offset={page}", path=path)
        assert response.status_code == 200
        data = orjson.loads(response.content)["data"]
        # Each record's own bytes: the page's data array is the records' texts joined by commas.
        records.extend(orjson.dumps(record) for record in data)
        if not orjson.loads(response.content)["hasMore"]:
            return records
    raise AssertionError("more than 11 pages")


def _mixed_records(tenant: Tenant) -> None:
    bot = tenant.bot.bot_id
    ingest(tenant, [
        *(SessionRecordFactory(botId=bot) for _ in range(30)),
        *(ConversationRecordFactory(botId=bot, channel="voice", customerinfo={"tier": "gold", "zip": "10001"},
                                    destinations=[QueueEntryFactory(queueId="qu-7")]) for _ in range(25)),
        *(ConversationRecordFactory(botId=bot, channel="rtm") for _ in range(20)),
    ])


@pytest.mark.parametrize(
    "filters",
    [
        {"timeZoneOffset": -330},
        {"timeZoneOffset": 300, "selectedFields": {"customerinfo": [], "skills": []}},
        {"timeZoneOffset": -345, "selectedFields": {"customerinfo": ["tier"]}},  # named: rendered from documents
        {"timeZoneOffset": 0, "channels": ["voice"], "queues": ["qu-7"]},
    ],
)
def test_an_ndjson_export_is_byte_for_byte_what_interaction_details_serves(
    tenant: Tenant, filters: dict[str, Any]
) -> None:
    _mixed_records(tenant)
    document = exported(tenant, {"dataset": "interactions", **DAY, "filters": filters})

    lines = ndjson_lines(tenant, document)

    assert lines == _served(tenant, {**DAY, **filters})
    assert document["manifest"]["rows"] == len(lines) > 0


def test_the_bytes_of_a_record_are_those_of_the_page(tenant: Tenant) -> None:
    """The comparison above re-serialises the page's records; here the raw page text contains each line."""
    _mixed_records(tenant)
    document = exported(tenant, {"dataset": "interactions", **DAY, "filters": {"timeZoneOffset": -330}})
    page = details(tenant, {**DAY, "timeZoneOffset": -330}, query="?limit=100").content
    for line in ndjson_lines(tenant, document):
        assert line in page


def test_a_calldetails_export_holds_the_voice_records_calldetails_serves(tenant: Tenant) -> None:
    _mixed_records(tenant)
    document = exported(tenant, {"dataset": "calldetails", **DAY, "filters": {"timeZoneOffset": -330}})
    lines = ndjson_lines(tenant, document)
    assert lines == _served(tenant, {**DAY, "timeZoneOffset": -330}, path=CALLS)
    assert len(lines) == 25


def test_a_qa_contacts_export_holds_the_results_rawdata_serves(tenant: Tenant) -> None:
    _qa_contacts_export_matches_rawdata(tenant)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="reading ahead needs PostgreSQL")
def test_a_qa_contacts_export_read_ahead_holds_the_results_rawdata_serves(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _counted_read_ahead(monkeypatch)
    _qa_contacts_export_matches_rawdata(tenant)
    assert reads, "the export did not read ahead"


def _counted_read_ahead(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the reads ahead (one per file), which otherwise leave no trace."""
    reads: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        yield from rows_read_ahead(*args, **kwargs)

    monkeypatch.setattr(read_ahead, "rows_read_ahead", counted)
    return reads


def _qa_contacts_export_matches_rawdata(tenant: Tenant) -> None:
    ingest_contacts(tenant, [ContactDocumentFactory(seconds=5 if n % 3 == 0 else 90) for n in range(30)])
    window = {"startDate": "2026-05-02 00:00:00", "endDate": "2026-05-02 23:59:59"}
    document = exported(tenant, {"dataset": "qa_contacts", **window, "filters": {"include_below_threshold": True}})

    page = orjson.loads(rawdata(tenant, {**window, "offset": 0, "limit": 100, "include_below_threshold": True}).content)

    assert ndjson_lines(tenant, document) == [orjson.dumps(result) for result in page["results"]]
    assert document["manifest"]["rows"] == 30


def test_files_hold_at_most_the_cap_and_the_manifest_describes_each(tenant: Tenant, settings: Any) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=BASE + timedelta(seconds=n))
                    for n in range(2345)])
    document = exported(tenant, {"dataset": "interactions", **DAY, "compression": "gzip"})

    files = document["manifest"]["files"]
    assert [(item["n"], item["rows"]) for item in files] == [(1, 1000), (2, 1000), (3, 345)]
    assert document["manifest"]["rows"] == document["progress"]["rows"] == 2345
    for item in files:
        data = download(tenant, item["url"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"])
        assert len(gzip.decompress(data).splitlines()) == item["rows"]
    assert document["progress"]["bytes"] == sum(item["bytes"] for item in files)
    starts = [orjson.loads(line)["sessionStartTime"] for line in ndjson_lines(tenant, document)]
    assert starts == sorted(starts) and len(set(starts)) == 2345  # every record once, in order, across files


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_a_cap_inside_a_block_cuts_it_and_the_next_file_resumes_after_its_last_record(
    tenant: Tenant, settings: Any, fmt: str
) -> None:
    settings.EXPORT_MAX_ROWS_PER_FILE = 700  # records are read in blocks of 1,000
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=BASE + timedelta(seconds=n))
                    for n in range(1600)])
    document = exported(tenant, {"dataset": "interactions", **DAY, "format": fmt})

    assert [(item["n"], item["rows"]) for item in document["manifest"]["files"]] == [(1, 700), (2, 700), (3, 200)]
    if fmt == "ndjson":
        starts = [orjson.loads(line)["sessionStartTime"] for line in ndjson_lines(tenant, document)]
    else:
        starts = [row["sessionStartTime"] for item in document["manifest"]["files"]
                  for row in csv.DictReader(io.StringIO(download(tenant, item["url"]).decode()))]
    assert starts == sorted(starts) and len(set(starts)) == 1600


def test_export_files_are_readable_by_their_owner_only(tenant: Tenant) -> None:
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(3)])
    exported(tenant, {"dataset": "interactions", **DAY})

    assert [stat.S_IMODE(path.stat().st_mode) for path in stored_files()] == [0o600]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="reading ahead needs PostgreSQL")
@pytest.mark.parametrize("filters", [{"timeZoneOffset": 0}, {"timeZoneOffset": -330, "selectedFields": {"skills": []}}])
def test_an_export_read_ahead_is_byte_for_byte_what_interaction_details_serves(
    tenant: Tenant, filters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a transaction (as on a worker) PostgreSQL's rows are read ahead on a connection of
    their own: escapes in the JSON text, and a record with no pre-rendered text."""
    _mixed_records(tenant)
    ingest(tenant, [ConversationRecordFactory(
        botId=tenant.bot.bot_id, customerinfo={"note": 'back\\slash\ttab\nline "quoted" ☎'},
    )])
    Interaction.objects.filter(pk=Interaction.objects.order_by("pk").values("pk")[:1]).update(served_version=0)
    reads = _counted_read_ahead(monkeypatch)
    document = exported(tenant, {"dataset": "interactions", **DAY, "filters": filters})

    lines = ndjson_lines(tenant, document)

    assert reads, "the export did not read ahead"
    assert lines == _served(tenant, {**DAY, **filters})
    assert document["manifest"]["rows"] == len(lines) == 76
