"""One batch-ingestion mechanism for every kind of record (DESIGN §7).

A kind of record supplies a :class:`RecordKind`: a validator for one raw record (a DRF serializer
class) and a bulk upsert for the valid ones. :func:`batch_ingest` is what the ingestion endpoints,
the JSON-lines import commands and ``seed_demo`` all call, so they accept and reject exactly the
same records.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from django.db import transaction
from rest_framework import serializers

from analytics_api.errors import error_item, flatten_validation_errors

MAX_BATCH = 1000

T = TypeVar("T")


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "rejected": self.rejected}

    def add(self, other: IngestResult, *, index_base: int = 0) -> None:
        self.created += other.created
        self.updated += other.updated
        self.rejected.extend({**item, "index": item["index"] + index_base} for item in other.rejected)


@dataclass(frozen=True)
class RecordKind(Generic[T]):
    """How to validate one record and store a list of valid ones.

    ``validator`` is a serializer class; its ``validated_data`` is what ``upsert`` receives.
    ``upsert`` returns ``(created, updated)`` and runs inside the batch's transaction.
    """

    validator: type[serializers.Serializer]
    upsert: Callable[[list[T]], tuple[int, int]]
    # Key identifying a record inside one batch; the last of duplicates wins (like resending it).
    key: Callable[[T], Any]


def batch_ingest(*, kind: RecordKind[T], records: list[Any], context: dict[str, Any]) -> IngestResult:
    """Validate each record on its own, then store the valid ones in one transaction.

    1. Validate every record with ``kind.validator`` (``context`` carries the account/stream);
       collect the errors of each invalid one under its index.
    2. Collapse duplicates inside the batch on ``kind.key``, keeping the last: the batch then
       behaves exactly as if its records had been sent one after another.
    3. Upsert the valid records in one transaction: all of them are stored, or (on a database
       error) none, so a batch is never half-written.
    """
    result = IngestResult()
    valid: dict[Any, T] = {}
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            result.rejected.append(
                {"index": index, "errors": [error_item("A record must be a JSON object.", "invalid_type")]}
            )
            continue
        serializer = kind.validator(data=raw, context=context)
        if not serializer.is_valid():
            result.rejected.append({"index": index, "errors": flatten_validation_errors(serializer.errors)})
            continue
        record: T = serializer.validated_data  # type: ignore[assignment]
        valid[kind.key(record)] = record
    if valid:
        with transaction.atomic():
            result.created, result.updated = kind.upsert(list(valid.values()))
    return result


class BatchSerializer(serializers.Serializer):
    """``{"records": [...]}`` with 1 to ``MAX_BATCH`` records; each is validated later, on its own."""

    records = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        max_length=MAX_BATCH,
        error_messages={
            "max_length": f"A batch holds at most {MAX_BATCH} records: split it into several requests.",
            "empty": "Send at least one record.",
        },
    )


class IngestResultSerializer(serializers.Serializer):
    """The answer of every ingestion endpoint (for the OpenAPI schema)."""

    class RejectedSerializer(serializers.Serializer):
        class ErrorSerializer(serializers.Serializer):
            msg = serializers.CharField()
            code = serializers.CharField()
            field = serializers.CharField(required=False)

        index = serializers.IntegerField(help_text="Position of the record in the batch (0-based)")
        errors = ErrorSerializer(many=True)

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = RejectedSerializer(many=True)


@dataclass
class ImportReport:
    lines: int = 0
    result: IngestResult = field(default_factory=IngestResult)
    # (line number, errors) of each rejected line.
    rejected_lines: list[tuple[int, list[dict[str, str]]]] = field(default_factory=list)


def _jsonl_chunks(handle: IO[str], size: int) -> Iterator[tuple[list[int], list[Any], list[tuple[int, str]]]]:
    """Yield (line numbers, parsed records, unparseable lines) in chunks; never the whole file."""
    numbers: list[int] = []
    records: list[Any] = []
    broken: list[tuple[int, str]] = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            numbers.append(number)
        except json.JSONDecodeError as error:
            broken.append((number, f"Not valid JSON: {error.msg} at column {error.colno}."))
        if len(records) >= size:
            yield numbers, records, broken
            numbers, records, broken = [], [], []
    if records or broken:
        yield numbers, records, broken


def import_jsonl(
    *,
    path: Path,
    kind: RecordKind[T],
    context: dict[str, Any],
    progress: IO[str] | None = None,
    chunk_size: int = MAX_BATCH,
) -> ImportReport:
    """Stream a JSON-lines file through :func:`batch_ingest`, one chunk at a time.

    Memory stays constant whatever the file size: at most ``chunk_size`` records are held.
    """
    report = ImportReport()
    total_bytes = max(path.stat().st_size, 1)
    out = progress or sys.stderr
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for numbers, records, broken in _jsonl_chunks(handle, chunk_size):
            report.lines += len(numbers) + len(broken)
            for number, reason in broken:
                report.rejected_lines.append((number, [error_item(reason, "malformed_json")]))
            if records:
                chunk = batch_ingest(kind=kind, records=records, context=context)
                report.result.created += chunk.created
                report.result.updated += chunk.updated
                for item in chunk.rejected:
                    report.rejected_lines.append((numbers[item["index"]], item["errors"]))
            done = min(handle.buffer.tell() if hasattr(handle, "buffer") else 0, total_bytes)
            _draw_progress(out, done / total_bytes, report)
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
