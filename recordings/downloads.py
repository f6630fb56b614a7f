"""Recording downloads as the reference describes them (docs/contract.md#recording-downloads).

"Single file": the mixed file, or the agent and customer files joined as one stereo FLAC; "separate
files": one channel's file, or a zip of the chosen channels' files. Every file served is FLAC (the
stored files are FLAC: recordings.audio transcodes sources when they are fetched).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.utils import timezone

from analytics_api.kernel.errors import DEPENDENCY_RETRY_AFTER_SECONDS, ApiError
from analytics_api.kernel.streams import zip_stream
from recordings.audio import NotJoinable, stereo_flac
from recordings.models import Recording, RecordingFile
from recordings.storage import CHUNK_BYTES, StorageError, recording_storage

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_name(recording: Recording, label: str, part: int = 1, suffix: str = "flac") -> str:
    """``<conversationId>-<label>[-<part>].<suffix>``, characters a file name cannot hold replaced by ``_``."""
    name = _UNSAFE_FILENAME.sub("_", recording.conversation_id)[:100] or "recording"
    return f"{name}-{label}{f'-{part}' if part > 1 else ''}.{suffix}"


def storage_unavailable(error: Exception) -> ApiError:
    return ApiError(
        "The stored recording could not be read; the failure has been logged.",
        code="storage_unavailable",
        status_code=503,
        headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
    )


def stored_open(item: RecordingFile) -> IO[bytes]:
    try:
        return recording_storage().open(item.storage_key)
    except (OSError, StorageError) as error:
        raise storage_unavailable(error) from error


def stereo_open(agent: RecordingFile, customer: RecordingFile) -> IO[bytes]:
    """The agent and customer files as one stereo FLAC, in a private temporary file (open, already unlinked).

    1. Copy both stored objects to a temporary directory (S3 objects are not seekable files).
    2. Join them with :func:`recordings.audio.stereo_flac`.
    3. Open the result and remove the directory: the open handle keeps the data until it is served.
    """
    work = Path(tempfile.mkdtemp(prefix="stereo-"))
    try:
        paths = []
        for item in (agent, customer):
            path = work / f"{item.channel}.flac"
            with stored_open(item) as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target, CHUNK_BYTES)
            paths.append(path)
        try:
            stereo_flac(paths[0], paths[1], work / "stereo.flac")
        except NotJoinable as error:
            raise ApiError(
                f"The agent and customer files cannot be joined ({error}): choose a channel (agent, customer).",
                code="required",
                field="channel",
            ) from None
        return open(work / "stereo.flac", "rb")
    except OSError as error:
        raise storage_unavailable(error) from error
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _chunks(item: RecordingFile) -> Iterator[bytes]:
    with stored_open(item) as body:
        while chunk := body.read(CHUNK_BYTES):
            yield chunk


def channels_zip(recording: Recording, files: list[tuple[RecordingFile, int]]) -> tuple[str, Iterator[bytes]]:
    """The zip name and its bytes: one ``<conversationId>-<channel>[-<part>].flac`` per file, stored as is.

    The first object is opened before the answer starts, so a storage failure is still a 503.
    """
    first = _chunks(files[0][0])
    head = next(first, b"")

    def entries() -> Iterator[tuple[str, Iterator[bytes]]]:
        for index, (item, part) in enumerate(files):
            chunks = _prefixed(head, first) if index == 0 else _chunks(item)
            yield download_name(recording, item.channel, part), chunks

    return download_name(recording, "channels", suffix="zip"), zip_stream(
        entries(), at=timezone.now(), compress=False
    )


def _prefixed(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest
