"""Export file writers: NDJSON, CSV and Parquet, optionally gzip-compressed (docs/contract.md#export-formats).

Each writes one file on this machine (in the storage itself on the filesystem, else a scratch file
then uploaded) a block of records at a time (Parquet a row group at a time), so memory does not
grow with the file. NDJSON lines are the records' JSON texts as served, one per line. CSV and
Parquet have the dataset's columns, then ``record`` (the NDJSON line); every column is text.
gzip applies to the whole NDJSON or CSV file (``.gz``) and to Parquet's column chunks.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from analytics_api.kernel.csv_stream import csv_line
from analytics_api.private_files import open_private_file
from exports.models import Compression, ExportFormat
from exports.registry import Block, Dataset

RECORD_COLUMN = "record"
# A row group is flushed at this many rows or this many bytes of text, whichever comes first: the
# worker holds one group (twice: as Python strings and as Arrow arrays) at a time. 2 MB rather than
# 4 MB: a Parquet worker's peak RSS 200-201 -> 193-194 MB (233,000 interactions, measured), under
# the 200 MB that a worker may use; about 1,300 interactions a group.
PARQUET_ROW_GROUP = 10_000
PARQUET_GROUP_BYTES = 2 * 1024 * 1024
# CSV and Parquet parse a block this much of its text at a time (Block.parts): a row group's worth
# of Parquet text is then pending at most, as when records were taken one by one.
PART_CHARS = 256 * 1024
# Records are ≈1.5 KB: the default 8 KB buffer made a write system call every few records.
FILE_BUFFER = 1024 * 1024


@functools.cache
def _arrow() -> tuple[ModuleType, ModuleType]:
    """pyarrow and pyarrow.parquet, imported by the first Parquet file: an NDJSON or CSV worker
    never loads them (≈78 MB of its memory, and a tenth of its start-up, or more under load).

    pyarrow serves only these writers in this service. Its default pool (mimalloc) keeps the pages
    of freed row groups for reuse, so a Parquet worker's peak RSS was its largest groups' sum rather
    than one group's; the C library's allocator (the system pool) gives them back: 216 MB → 186 MB
    peak on the benchmark's export (tools/bench/exports.py).
    """
    import pyarrow
    import pyarrow.parquet

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return pyarrow, pyarrow.parquet


CONTENT_TYPES = {
    (ExportFormat.NDJSON, Compression.NONE): "application/x-ndjson",
    (ExportFormat.CSV, Compression.NONE): "text/csv; charset=utf-8",
    (ExportFormat.NDJSON, Compression.GZIP): "application/gzip",
    (ExportFormat.CSV, Compression.GZIP): "application/gzip",
    (ExportFormat.PARQUET, Compression.NONE): "application/vnd.apache.parquet",
    (ExportFormat.PARQUET, Compression.GZIP): "application/vnd.apache.parquet",
}


def file_extension(fmt: str, compression: str) -> str:
    return f"{fmt}.gz" if compression == Compression.GZIP and fmt != ExportFormat.PARQUET else fmt


def column_names(dataset: Dataset) -> list[str]:
    return [column.name for column in dataset.columns] + [RECORD_COLUMN]


@dataclass(frozen=True)
class Written:
    rows: int
    bytes: int
    sha256: str


class _HashedFile(io.RawIOBase):
    """A new owner-only file whose bytes are counted and hashed as they are written: the sha256 of
    the manifest without reading the file back. ``durable``: flushed to disk when closed (a file
    written in place in the storage, published without a copy).

    Writing and hashing in a thread of their own (both release the GIL) was tried: no difference
    above the noise on two cores, which the database server and the worker already keep busy.
    """

    def __init__(self, path: Path, durable: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        self._file = open(open_private_file(path, flags), "wb", buffering=0)
        self.durable = durable
        self.digest = hashlib.sha256()
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        count = self._file.write(data) or 0
        self.digest.update(memoryview(data)[:count])
        self.written += count
        return count

    def tell(self) -> int:
        return self.written

    def close(self) -> None:
        if self.durable and not self._file.closed:
            os.fsync(self._file.fileno())
        self._file.close()
        super().close()


class FileWriter(ABC):
    def __init__(self, path: Path, dataset: Dataset, compression: str, durable: bool) -> None:
        self.path = path
        self.dataset = dataset
        self.compression = compression
        self.rows = 0
        self._hashed = _HashedFile(path, durable)
        self._raw: IO[bytes] = io.BufferedWriter(self._hashed, FILE_BUFFER)  # type: ignore[assignment]

    def _stream(self) -> IO[bytes]:
        if self.compression == Compression.GZIP:
            # mtime 0: the same rows give the same bytes (and sha256) on every run.
            return gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0, compresslevel=6)
        return self._raw

    def size(self) -> int:
        """Bytes written so far (lagging behind by what is still buffered: the file buffer, gzip's, a
        Parquet row group)."""
        return self._raw.tell()

    @abstractmethod
    def write_block(self, block: Block) -> None:
        """Append the block's records to the file."""

    @abstractmethod
    def _finish(self) -> None: ...

    def close(self) -> Written:
        self._finish()
        self._raw.close()
        return Written(rows=self.rows, bytes=self._hashed.written, sha256=self._hashed.digest.hexdigest())

    def abort(self) -> None:
        if not self._raw.closed:
            self._hashed.durable = False
            self._raw.close()

    def _block_columns(self, block: Block) -> list[list[str | None]]:
        """The block's cells column by column, the record column last (the block parsed in one call)."""
        records = block.parsed()
        return [column.values(block, records) for column in self.dataset.columns] + [block.lines()]


class NdjsonWriter(FileWriter):
    """A block's text is its lines already: written as it is, in one call (a write per record was a
    tenth of an export's time)."""

    def __init__(self, path: Path, dataset: Dataset, compression: str, durable: bool) -> None:
        super().__init__(path, dataset, compression, durable)
        self._out = self._stream()

    def write_block(self, block: Block) -> None:
        self._out.write(block.text.encode())
        self.rows += block.count

    def _finish(self) -> None:
        if self._out is not self._raw:
            self._out.close()


class CsvWriter(FileWriter):
    """A line per record (``csv_line``), written a part of a block (``PART_CHARS``) at a time."""

    def __init__(self, path: Path, dataset: Dataset, compression: str, durable: bool) -> None:
        super().__init__(path, dataset, compression, durable)
        self._binary = self._stream()
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8", newline="", write_through=False)
        self._text.write(csv_line(column_names(dataset)))

    def write_block(self, block: Block) -> None:
        for part in block.parts(PART_CHARS):
            self._text.write("".join(map(csv_line, zip(*self._block_columns(part), strict=True))))
        self.rows += block.count

    def _finish(self) -> None:
        self._text.flush()
        self._text.detach()
        if self._binary is not self._raw:
            self._binary.close()


class ParquetWriter(FileWriter):
    def __init__(self, path: Path, dataset: Dataset, compression: str, durable: bool) -> None:
        super().__init__(path, dataset, compression, durable)
        pa, pq = _arrow()
        self._names = column_names(dataset)
        self._schema = pa.schema([pa.field(name, pa.string()) for name in self._names])
        codec = "gzip" if compression == Compression.GZIP else "none"
        self._writer = pq.ParquetWriter(self._raw, self._schema, compression=codec)
        self._pending: list[list[str | None]] = [[] for _ in self._names]
        self._pending_bytes = 0

    def write_block(self, block: Block) -> None:
        for part in block.parts(PART_CHARS):
            for column, values in zip(self._pending, self._block_columns(part), strict=True):
                column.extend(values)
            self.rows += part.count
            self._pending_bytes += 2 * len(part.text)  # the record column and, at most as much again, the others
            if len(self._pending[0]) >= PARQUET_ROW_GROUP or self._pending_bytes >= PARQUET_GROUP_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self._pending[0]:
            pa, _pq = _arrow()
            self._writer.write_table(pa.Table.from_arrays(
                [pa.array(values, type=pa.string()) for values in self._pending], schema=self._schema
            ))
            self._pending = [[] for _ in self._names]
            self._pending_bytes = 0

    def _finish(self) -> None:
        self._flush()
        self._writer.close()


_WRITERS: dict[str, type[FileWriter]] = {
    ExportFormat.NDJSON: NdjsonWriter, ExportFormat.CSV: CsvWriter, ExportFormat.PARQUET: ParquetWriter,
}


def file_writer(*, path: Path, dataset: Dataset, fmt: str, compression: str, durable: bool = False) -> FileWriter:
    """A writer of a new file at ``path``; ``durable``: flushed to disk when closed."""
    return _WRITERS[fmt](path, dataset, compression, durable)
