"""What an export dataset is: the one interface the export runner uses (docs/contract.md#export-datasets).

A dataset says which read scope it needs, how its ``filters`` are validated, how its records are
read in a total order after a given order key (so a file boundary is a resume point), in blocks of
NDJSON lines (an NDJSON file is the blocks' texts one after the other, with no pass per record), and
which columns its CSV and Parquet files have. The datasets themselves are listed in
:mod:`exports.datasets`; ``conversations``, ``transcripts`` and ``events`` join that list once the
conversation content app provides their records (until then they are refused by name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
class Block:
    """``count`` consecutive records in order: their texts as NDJSON lines (each line ends in a
    newline; JSON text holds no raw newline, so a line is one record), and ``key(i)``, the order key
    of the i-th (made only where asked: a file's last record, a CSV or Parquet row)."""

    count: int
    text: str
    key: Callable[[int], list[Any]]

    def lines(self) -> list[str]:
        """The records' JSON texts."""
        return self.text[:-1].split("\n") if self.count else []

    def parsed(self) -> list[Any]:
        """The records parsed, in one call for the block: its lines joined by commas are one JSON array."""
        return orjson.loads("[" + self.text[:-1].replace("\n", ",") + "]") if self.count else []

    def parts(self, max_chars: int) -> Iterator[Block]:
        """The block as consecutive blocks of at most ``max_chars`` of text each (a longer record is a
        block of its own), so that what a writer parses and holds at once stays bounded whatever the
        records' size (1,000 Quality AI contacts are ~5 MB of text)."""
        if len(self.text) <= max_chars:
            yield self
            return
        first = begin = position = 0
        for i in range(self.count):
            end = self.text.index("\n", position) + 1
            if i > first and end - begin > max_chars:
                yield Block(i - first, self.text[begin:position], _shifted(self.key, first))
                first, begin = i, position
            position = end
        yield Block(self.count - first, self.text[begin:], _shifted(self.key, first))

    def head(self, count: int) -> Block:
        """The block's first ``count`` records."""
        end = -1
        for _ in range(count):
            end = self.text.index("\n", end + 1)
        return Block(count, self.text[: end + 1], self.key)


def _shifted(key: Callable[[int], list[Any]], first: int) -> Callable[[int], list[Any]]:
    return key if first == 0 else lambda i: key(first + i)


def blocks_of(records: Iterable[Record], chunk: int) -> Iterator[Block]:
    """Records grouped into blocks of ``chunk`` (the last one shorter), for datasets read record by record."""
    keys: list[list[Any]] = []
    lines: list[str] = []
    for key, text in records:
        keys.append(key)
        lines.append(text)
        if len(keys) == chunk:
            yield Block(len(keys), "\n".join(lines) + "\n", keys.__getitem__)
            keys, lines = [], []
    if keys:
        yield Block(len(keys), "\n".join(lines) + "\n", keys.__getitem__)


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
    value: Callable[[list[Any], dict[str, Any]], str | None] | None = None
    """A record's cell from its order key and the record; or None with ``source``."""
    source: str | None = None
    """The record's top-level key the column holds (:func:`field`): its cells are read without a
    call per record."""

    def __post_init__(self) -> None:
        if (self.value is None) == (self.source is None):
            raise ValueError(f"Column {self.name!r}: give either value or source, not both or neither.")

    def values(self, block: Block, records: list[dict[str, Any]]) -> list[str | None]:
        """The column's cells for the block's records (``records``: ``block.parsed()``)."""
        if self.value is None:
            source = self.source
            return [cell(record.get(source)) for record in records]
        value = self.value
        return [value(block.key(i), record) for i, record in enumerate(records)]


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
    blocks: Callable[[ExportWindow, int], Iterator[Block]]
    """Records in order, after ``window.after``, in blocks of at most the given size; reads a block at
    a time (never the window at once)."""
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
    return Column(name, description, source=source)


RECORD_COLUMN_DESCRIPTION = "The whole record as JSON text, exactly the NDJSON line"
