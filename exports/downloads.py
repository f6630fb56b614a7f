"""Serving a stored export file: streamed with single-range support on the filesystem
(docs/contract.md#export-files), a redirect to a fresh presigned URL on S3."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from analytics_api.kernel.errors import DEPENDENCY_RETRY_AFTER_SECONDS, ApiError, error_item, json_error_response
from exports.models import ExportFile, ExportJob
from exports.storage import file_name, job_storage
from exports.writers import CONTENT_TYPES
from recordings.storage import StorageError

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def range_parse(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range ``Range`` asks for, or None for the whole file.

    One range only (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``); a header in any other form, or
    several ranges, is ignored (the whole file is sent, as RFC 9110 allows). A range starting past
    the end is :class:`Unsatisfiable`.
    """
    match = _RANGE.match((header or "").strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:
        length = int(match[2])
        if length == 0:
            raise Unsatisfiable()
        return max(size - length, 0), size - 1
    start = int(match[1])
    if match[2] and int(match[2]) < start:
        return None
    if start >= size:
        raise Unsatisfiable()
    end = int(match[2]) if match[2] else size - 1
    return start, min(end, size - 1)


def _chunks(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def export_file_response(*, job: ExportJob, item: ExportFile, range_header: str | None) -> HttpResponse:
    storage = job_storage(job)
    name = file_name(job, item.n)
    try:
        url = storage.presigned_url(item.storage_key, filename=name)
        if url:
            return HttpResponseRedirect(url)
        try:
            span = range_parse(range_header, item.bytes)
        except Unsatisfiable:
            response = json_error_response(416, [error_item(
                f"The range is outside the file ({item.bytes} bytes).", "range_not_satisfiable", "Range"
            )])
            response["Content-Range"] = f"bytes */{item.bytes}"
            return response
        handle = storage.open(item.storage_key)
    except (OSError, StorageError) as error:
        raise ApiError(
            "The export file could not be read; the failure has been logged.",
            code="storage_unavailable", status_code=503, headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
        ) from error
    start, end = span if span is not None else (0, item.bytes - 1)
    length = max(end - start + 1, 0)
    response = StreamingHttpResponse(
        _chunks(handle, start, length), status=206 if span else 200,
        content_type=CONTENT_TYPES[(job.format, job.compression)],
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{item.sha256}"'
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    if span:
        response["Content-Range"] = f"bytes {start}-{end}/{item.bytes}"
    return response
