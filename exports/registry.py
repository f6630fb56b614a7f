"""What an export dataset is: the one interface the export runner uses (docs/contract.md#export-datasets).

A dataset says which read scope it needs, how its ``filters`` are validated, how its records are
read in a total order after a given order key (so a file boundary is a resume point), and which
columns its CSV and Parquet files have. The datasets themselves are listed in
:mod:`exports.datasets`; ``conversations``, ``transcripts`` and ``events`` join that list once the
conversation content app provides their records (until then they are refused by name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from analytics_api.models import Account

# Bumped when a dataset's columns or record framing change.
SCHEMA_VERSION = 1

# (order key, the record's JSON text exactly as the dataset's endpoint serves it)
Record = tuple[list[Any], str]


@dataclass(frozen=True)
class ExportWindow:
    """What a job reads: the account, the UTC window, the validated filters, where to resume."""

    account: Account
    start: datetime
    end: datetime
    filters: dict[str, Any]
    after: list[Any] | None


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    value: Callable[[list[Any], dict[str, Any]], str | None]


@dataclass(frozen=True)
class Kept:
    """How long after its start a record stays served by the dataset's endpoint, and what the endpoint
    answers past that (events: 30 days, ``events_expired``)."""

    age: timedelta
    code: str
    message: str


@dataclass(frozen=True)
class Dataset:
    name: str
    read_scope: str
    description: str
    filters_check: Callable[[Any, Account], dict[str, Any]]
    """Validated, normalised filters (JSON-able), or ``Invalid`` / ``ApiError`` naming each field."""
    records: Callable[[ExportWindow, int], Iterator[Record]]
    """Records in order, after ``window.after``; reads in chunks of the given size (never the window at once)."""
    columns: tuple[Column, ...]
    kept: Kept | None = None
    """Records served only up to an age: a window starting earlier is refused (400 naming ``startDate``),
    and a job reads only the records still served when it began reading (``completeUpTo``)."""


def cell(value: Any) -> str | None:
    """A CSV/Parquet cell: text as is, absent → null, booleans ``true``/``false``, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def field(name: str, description: str, key: str | None = None) -> Column:
    """A column holding one top-level key of the record."""
    source = key or name
    return Column(name, description, lambda _key, record: cell(record.get(source)))


RECORD_COLUMN_DESCRIPTION = "The whole record as JSON text, exactly the NDJSON line"
