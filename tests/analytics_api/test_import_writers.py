"""The import commands store chunks of a file at once on PostgreSQL (analytics_api.kernel.imports.import_jsonl).

Each chunk is stored by a thread with its own connection, so these tests commit (``transaction=True``):
a chunk stored inside the test's transaction would be invisible to the other threads.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from analytics_api.kernel.imports import import_jsonl
from analytics_api.kernel.ingestion import IngestResult
from conversations.models import Interaction
from conversations.services import IMPORT_KEYS, interactions_ingest
from tests.conftest import Tenant
from tests.conversations.factories import SessionRecordFactory
from tools.drills.stack import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite stores one chunk at a time (one writer)"
)


def _write(tmp_path: Path, records: list[Any]) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join((record if isinstance(record, str) else json.dumps(record)) + "\n" for record in records))
    return path


def _import(tenant: Tenant, path: Path, *, chunk_size: int, before: Callable[[int], None] = lambda call: None) -> Any:
    """import_jsonl with two writers; ``before(n)`` runs in the writer before the n-th chunk (from 0) is stored."""
    calls = iter(range(1_000_000))
    lock = threading.Lock()

    def ingest(records: list[Any]) -> IngestResult:
        with lock:
            call = next(calls)
        before(call)
        return interactions_ingest(account=tenant.account, records=records)

    return import_jsonl(
        path=path, ingest=ingest, keys=IMPORT_KEYS, progress=io.StringIO(), chunk_size=chunk_size, writers=2
    )


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_later_line_wins_over_an_earlier_chunk_still_being_stored(tenant: Tenant, tmp_path: Path) -> None:
    first = SessionRecordFactory(botId=tenant.bot.bot_id, userId="u-first")
    again = {**first, "userId": "u-again"}
    path = _write(
        tmp_path,
        [first, SessionRecordFactory(botId=tenant.bot.bot_id), again, SessionRecordFactory(botId=tenant.bot.bot_id)],
    )

    # The first chunk is slow: stored at once, the second (holding the same session) would commit first.
    report = _import(tenant, path, chunk_size=2, before=lambda call: time.sleep(0.5) if call == 0 else None)

    assert (report.lines, report.result.created, report.result.updated) == (4, 3, 1)
    stored = Interaction.objects.get(account=tenant.account, session_id=first["sessionId"])
    assert stored.document["userId"] == "u-again"


def test_a_conversation_id_in_two_chunks_keeps_them_in_file_order(tenant: Tenant, tmp_path: Path) -> None:
    one = SessionRecordFactory(botId=tenant.bot.bot_id, conversationId="conv-shared")
    two = SessionRecordFactory(botId=tenant.bot.bot_id, conversationId="conv-shared")
    order: list[str] = []

    def before(call: int) -> None:
        if call == 0:
            time.sleep(0.5)
        order.append(f"chunk {call}")

    _import(tenant, _write(tmp_path, [one, two]), chunk_size=1, before=before)

    assert order == ["chunk 0", "chunk 1"]


@postgresql_only
def test_chunks_holding_different_records_are_stored_at_once(tenant: Tenant, tmp_path: Path) -> None:
    # Each of the first two chunks waits for the other: stored one after the other, the barrier breaks.
    both = threading.Barrier(2, timeout=10)
    records = [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(6)]

    path = _write(tmp_path, records)

    report = _import(tenant, path, chunk_size=2, before=lambda call: both.wait() if call < 2 else None)

    assert (report.lines, report.result.created, report.rejected_lines) == (6, 6, [])
    assert Interaction.objects.filter(account=tenant.account).count() == 6


def test_rejected_lines_keep_their_numbers_across_writers(tenant: Tenant, tmp_path: Path) -> None:
    lines: list[Any] = []
    for index in range(9):
        lines.append(SessionRecordFactory(botId="st-elsewhere") if index % 4 == 1 else SessionRecordFactory(
            botId=tenant.bot.bot_id
        ))
    lines[6] = "{not json"

    report = _import(tenant, _write(tmp_path, lines), chunk_size=2, before=lambda call: time.sleep(0.2 * (call % 2)))

    assert (report.lines, report.result.created) == (9, 6)
    assert [(number, [error["msg"] for error in errors]) for number, errors in report.rejected_lines] == [
        (2, ["'st-elsewhere' is not a bot of this account."]),
        (6, ["'st-elsewhere' is not a bot of this account."]),
        (7, ["Not valid JSON: Expecting property name enclosed in double quotes at column 2."]),
    ]


@postgresql_only
def test_the_writers_close_their_connections_when_the_import_ends(tenant: Tenant, tmp_path: Path) -> None:
    before = _backends()
    records = [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(8)]

    _import(tenant, _write(tmp_path, records), chunk_size=2)

    assert wait_until(lambda: _backends() == before, timeout_s=10, every_s=0.1) >= 0, (before, _backends())


@postgresql_only
def test_a_failing_chunk_raises_once_the_chunks_in_flight_are_stored(tenant: Tenant, tmp_path: Path) -> None:
    before = _backends()
    records = [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(8)]

    def fail_second(call: int) -> None:
        if call == 0:
            time.sleep(0.3)
        if call == 1:
            raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        _import(tenant, _write(tmp_path, records), chunk_size=2, before=fail_second)

    # The first chunk was stored; nothing after the failing one was started.
    assert set(Interaction.objects.values_list("session_id", flat=True)) == {r["sessionId"] for r in records[:2]}
    assert wait_until(lambda: _backends() == before, timeout_s=10, every_s=0.1) >= 0, (before, _backends())


def test_the_command_refuses_a_writers_count_out_of_range(tenant: Tenant, tmp_path: Path) -> None:
    path = _write(tmp_path, [SessionRecordFactory(botId=tenant.bot.bot_id)])
    for writers in ("0", "9"):
        with pytest.raises(CommandError) as failure:
            call_command("import_interactions", tenant.account_id, str(path), "--writers", writers,
                         stdout=io.StringIO(), stderr=io.StringIO())
        assert str(failure.value) == f"--writers must be 1 to 8 (got {writers})."
    assert not Interaction.objects.exists()


def test_the_command_with_one_writer_stores_every_line(tenant: Tenant, tmp_path: Path) -> None:
    records = [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(1500)]
    out = io.StringIO()

    call_command("import_interactions", tenant.account_id, str(_write(tmp_path, records)), "--writers", "1",
                 stdout=out, stderr=io.StringIO())

    assert out.getvalue().splitlines() == ["Read 1500 lines: 1500 created, 0 updated, 0 rejected."]
    assert Interaction.objects.filter(account=tenant.account).count() == 1500


@pytest.mark.django_db
def test_inside_the_callers_transaction_chunks_are_stored_in_its_thread(tenant: Tenant, tmp_path: Path) -> None:
    threads: set[int] = set()
    path = _write(tmp_path, [SessionRecordFactory(botId=tenant.bot.bot_id) for _ in range(6)])

    report = _import(tenant, path, chunk_size=2, before=lambda call: threads.add(threading.get_ident()))

    assert threads == {threading.get_ident()}
    assert report.result.created == 6


def test_a_chunk_is_cut_when_its_lines_reach_the_character_budget(tmp_path: Path) -> None:
    """Memory follows a chunk's size in text, not in lines: big records make shorter chunks."""
    path = tmp_path / "records.jsonl"
    lines = [json.dumps({"n": number, "pad": "x" * 80}) for number in range(10)]  # 100 characters with "\n"
    lines.insert(4, "{not json")
    path.write_text("".join(line + "\n" for line in lines))
    chunks: list[list[int]] = []

    def ingest(records: list[Any]) -> IngestResult:
        chunks.append([record["n"] for record in records])
        return IngestResult(created=len(records))

    report = import_jsonl(path=path, ingest=ingest, keys=("n",), progress=io.StringIO(), chunk_size=1_000,
                          chunk_chars=250, writers=1)

    assert chunks == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert (report.lines, report.result.created) == (11, 10)
    assert [number for number, _errors in report.rejected_lines] == [5]
