"""Zip archives streamed in constant memory: written entry by entry as the answer is sent (CSV: csv_stream)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any


class _Chunks(io.RawIOBase):
    """A write-only, unseekable file whose written bytes are taken out after each step."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        # zipfile asks where it is to record each entry's offset; an unseekable stream may answer that.
        return self._written

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_stream(
    entries: Iterable[tuple[str, Iterable[bytes]]], *, at: datetime, compress: bool = True
) -> Iterator[bytes]:
    """A zip of ``(name, content chunks)`` entries, produced entry by entry (each entry's data as it comes).

    zipfile writes a data descriptor after each entry when the output cannot seek, so nothing is held
    but the chunk being compressed; ``at`` is every entry's modification time. ``compress=False``
    stores entries as they are (audio that is compressed already).
    """
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    sink = _Chunks()
    with zipfile.ZipFile(sink, mode="w", compression=method) as archive:
        for name, chunks in entries:
            info = zipfile.ZipInfo(name, date_time=at.timetuple()[:6])
            info.compress_type = method
            with archive.open(info, mode="w") as entry:
                for chunk in chunks:
                    entry.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
