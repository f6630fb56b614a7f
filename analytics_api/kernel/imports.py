"""JSON-lines imports (docs/contract.md#import-commands): a file streamed through an ingestion service,
chunk by chunk, with a progress bar and a report of every rejected line.

The three import commands (``analytics_api.kernel.import_command``) call this through their app's
``*_import`` service, so a file is validated and stored exactly as the endpoint's batches are.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import connection, connections

from analytics_api.kernel.errors import error_item
from analytics_api.kernel.ingestion import MAX_BATCH, IngestResult
from analytics_api.server.thread_pool import LifoThreadPool


@dataclass
class ImportReport:
    lines: int = 0
    result: IngestResult = field(default_factory=IngestResult)
    # (line number, errors) of each rejected line.
    rejected_lines: list[tuple[int, list[dict[str, str]]]] = field(default_factory=list)


def _jsonl_chunks(
    handle: IO[str], size: int, max_chars: int
) -> Iterator[tuple[list[int], list[Any], list[tuple[int, str]]]]:
    """Yield (line numbers, parsed records, unparseable lines) in chunks of at most ``size`` records,
    cut earlier once their lines reach ``max_chars`` characters; never the whole file."""
    numbers: list[int] = []
    records: list[Any] = []
    broken: list[tuple[int, str]] = []
    chars = 0
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            numbers.append(number)
            chars += len(line)
        except json.JSONDecodeError as error:
            broken.append((number, f"Not valid JSON: {error.msg} at column {error.colno}."))
        if len(records) >= size or chars >= max_chars:
            yield numbers, records, broken
            numbers, records, broken, chars = [], [], [], 0
    if records or broken:
        yield numbers, records, broken


# Chunks of one import stored at once on PostgreSQL, each by a thread with its own connection: one
# chunk's Python work (validation, pre-rendering) runs while another waits for the database.
IMPORT_WRITERS = 2
MAX_IMPORT_WRITERS = 8
# A chunk is cut at 1,000 lines or at this many characters of them, whichever comes first. A chunk's
# records, rows and statements at their peak hold ~60 MB of a 1,000-line chunk of interaction records
# (1.9 MB of text) or of 30-message conversations (5.3 MB), and an import holds up to writers + 1
# chunks: with 2 writers, 1,000-line chunks peaked at 215-222 MB (interactions) and 298-306 MB
# (conversations). 1 MiB chunks (~530 and ~190 lines) keep any import under 200 MB at ~5% of speed
# (BENCHMARKS.md, "Import memory").
IMPORT_CHUNK_CHARS = 1 << 20


def _chunk_keys(records: list[Any], fields: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """The values of ``fields`` in a chunk's records, as validation will read them (text, trimmed).

    A value of another type fails validation, so its record writes nothing and needs no key.
    """
    keys = set()
    for record in records:
        if isinstance(record, dict):
            for name in fields:
                value = record.get(name)
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    keys.add((name, str(value).strip()))
    return frozenset(keys)


def import_writers(requested: int) -> int:
    """How many chunks an import may store at once: ``requested``, or 1 where the chunks must run in
    the calling thread — on SQLite (one writer at a time), and inside the caller's transaction (a
    thread's own connection would neither see its uncommitted rows nor be undone with it)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return requested


def import_jsonl(
    *,
    path: Path,
    ingest: Callable[[list[Any]], IngestResult],
    keys: tuple[str, ...],
    progress: IO[str] | None = None,
    chunk_size: int = MAX_BATCH,
    chunk_chars: int = IMPORT_CHUNK_CHARS,
    writers: int = IMPORT_WRITERS,
) -> ImportReport:
    """Stream a JSON-lines file through ``ingest`` (the endpoint's service), one chunk at a time.

    ``keys`` are the record fields that name what a record writes (``sessionId``…): a record sent
    again later in the file must win, as if each line had been sent after the one before.

    1. The calling thread parses the file a chunk (``chunk_size`` lines, fewer when they pass
       ``chunk_chars`` characters) at a time.
    2. With one writer (:func:`import_writers`), each chunk is ingested there and then.
    3. Otherwise each chunk goes to a pool of ``writers`` threads. Before handing one over, the
       calling thread collects the chunks in flight, oldest first, while the oldest is done, the
       pool is full, or one of them holds a value of ``keys`` that this chunk holds too: two chunks
       stored at once never write the same record, so the later line still wins.
    4. Results are collected in file order. A chunk that raised (the database went away: rejected
       lines are not errors) raises from its collection, so no chunk is handed over after it; the
       chunks already in flight (at most ``writers - 1``) are finished first. Each thread closes its
       database connections as it ends, and the pool is ended before the report is returned or the
       error raised.

    Memory stays constant whatever the file size: at most ``writers + 1`` chunks are held.
    """
    report = ImportReport()
    total_bytes = max(path.stat().st_size, 1)
    out = progress or sys.stderr

    def collect(chunk: IngestResult, numbers: list[int], done: int) -> None:
        report.result.created += chunk.created
        report.result.updated += chunk.updated
        for item in chunk.rejected:
            report.rejected_lines.append((numbers[item["index"]], item["errors"]))
        _draw_progress(out, min(done, total_bytes) / total_bytes, report)

    writers = import_writers(writers)
    pool = (
        LifoThreadPool(max_workers=writers, name="import", on_thread_exit=connections.close_all)
        if writers > 1 else None
    )
    in_flight: deque[tuple[Future, list[int], int, frozenset[tuple[str, str]]]] = deque()
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for numbers, records, broken in _jsonl_chunks(handle, chunk_size, chunk_chars):
                report.lines += len(numbers) + len(broken)
                for number, reason in broken:
                    report.rejected_lines.append((number, [error_item(reason, "malformed_json")]))
                done = handle.buffer.tell() if hasattr(handle, "buffer") else 0
                if not records:
                    _draw_progress(out, min(done, total_bytes) / total_bytes, report)
                elif pool is None:
                    collect(ingest(records), numbers, done)
                else:
                    held = _chunk_keys(records, keys)
                    while in_flight and (
                        in_flight[0][0].done()
                        or len(in_flight) >= writers
                        or any(held & other for *_, other in in_flight)
                    ):
                        future, *rest, _held = in_flight.popleft()
                        collect(future.result(), *rest)
                    in_flight.append((pool.submit(ingest, records), numbers, done, held))
            while in_flight:
                future, *rest, _held = in_flight.popleft()
                collect(future.result(), *rest)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    _draw_progress(out, 1.0, report, final=True)
    report.rejected_lines.sort(key=lambda pair: pair[0])
    return report


def _draw_progress(out: IO[str], fraction: float, report: ImportReport, *, final: bool = False) -> None:
    width = 30
    filled = int(width * min(fraction, 1.0))
    bar = "#" * filled + "-" * (width - filled)
    out.write(
        f"\r[{bar}] {fraction:6.1%}  lines {report.lines}  created {report.result.created}  "
        f"updated {report.result.updated}  rejected {len(report.rejected_lines)}"
    )
    if final:
        out.write("\n")
    out.flush()


def format_import_report(report: ImportReport, *, max_lines: int = 1000) -> str:
    """A human summary, then one line per rejected input line with every reason."""
    rows = [
        f"Read {report.lines} lines: {report.result.created} created, {report.result.updated} updated, "
        f"{len(report.rejected_lines)} rejected."
    ]
    for number, errors in report.rejected_lines[:max_lines]:
        reasons = "; ".join(f"{e['field']}: {e['msg']}" if e.get("field") else e["msg"] for e in errors)
        rows.append(f"line {number}: {reasons}")
    if len(report.rejected_lines) > max_lines:
        rows.append(f"... and {len(report.rejected_lines) - max_lines} more rejected lines.")
    return "\n".join(rows)


def import_report_check(report: ImportReport) -> None:
    """Fail the import command (exit status 1) when any line was rejected, after its report is written.

    A scheduled import must not look successful to its caller when lines were dropped; the accepted
    lines stay stored, and importing the fixed file again only updates them.
    """
    if report.rejected_lines:
        raise CommandError(
            f"{len(report.rejected_lines)} of {report.lines} lines were rejected (listed above); the other lines "
            "are stored. Fix the rejected lines and import the file again: stored records are updated, not duplicated."
        )
