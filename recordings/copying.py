"""Copying a recording from its source into storage as FLAC, verified on the way.

A fetch job (:mod:`recordings.jobs`) claims a file and calls :func:`source_copy`; every way the copy
can fail ends in a :class:`FetchFailure` of one kind, which the job records as the attempt's outcome
(the kind decides the file's state, and ``public`` is what the account may read).
"""

from __future__ import annotations

import hashlib
import http.client
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from recordings.audio import NotAudio, TranscodeTimeout, TranscodeTooLarge, flac_from
from recordings.grants import SourcePolicy
from recordings.outbound import Deadline, SourceError, SourceRefused
from recordings.sources import Readable, SourceMissing, SourceTooLarge, source_open
from recordings.storage import CHUNK_BYTES, RecordingStorage, StorageError

# Bytes asked of one receive: the reader checks its deadline between receives.
RECEIVE_BYTES = 256 * 1024


class FetchFailure(Exception):
    """A failed attempt: ``reason`` in full for operators (``last_error``), ``public`` in a sentence the
    account may read (the recording's ``failures``; by default the one of its kind)."""

    MISSING = "missing"
    REFUSED = "refused"
    TRANSIENT = "transient"
    CUT = "cut"
    UPLOAD = "upload"
    ERROR = "error"
    NOT_AUDIO = "not_audio"
    ABANDONED = "abandoned"

    def __init__(self, kind: str, reason: str, *, public: str = "") -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.public = public or _PUBLIC_REASONS[kind]


_PUBLIC_REASONS = {
    FetchFailure.MISSING: "The source answered that it has no such recording.",
    FetchFailure.REFUSED: "The source is not one this service may fetch for this account.",
    FetchFailure.TRANSIENT: "The source could not be reached, or answered with an error.",
    FetchFailure.CUT: "The download from the source was cut off or did not finish in time.",
    FetchFailure.UPLOAD: "The recording could not be stored; this is a fault of this service.",
    FetchFailure.ERROR: "The fetch failed on an error of this service.",
    FetchFailure.NOT_AUDIO: "The source is not audio this service can read.",
    FetchFailure.ABANDONED: "The fetch did not finish: its worker stopped.",
}


class _VerifyingReader:
    """Reads the source, counting and hashing, within the deadline; turns its failures into ``CUT``.

    Each receive returns what the network brought (``read1``), its timeout armed with the time left,
    and the deadline is checked before each: a source trickling a byte a second is cut at the
    deadline, not when a whole chunk has finally arrived.
    """

    def __init__(self, body: Readable, *, length: int | None, deadline: Deadline) -> None:
        self.body = body
        self.length = length
        self.deadline = deadline
        self.count = 0
        self.sha256 = hashlib.sha256()
        self.failure: FetchFailure | None = None
        self._receive = getattr(body, "read1", None) or body.read
        self._set_timeout = getattr(body, "set_socket_timeout", None)

    def _fail(self, kind: str, reason: str, *, public: str = "") -> FetchFailure:
        self.failure = FetchFailure(kind, reason, public=public)
        return self.failure

    def _gave_up(self) -> FetchFailure:
        return self._fail(FetchFailure.CUT, f"gave up after {self.deadline.seconds} s at {self.count} bytes")

    def read(self, size: int = -1, /) -> bytes:
        """``size`` bytes (all when negative), fewer only at the end of the body.

        Storage expects whole reads: S3 multipart takes a short first read for the end of the body.
        """
        pieces: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        received = 0
        while wanted is None or received < wanted:
            piece = self._piece(RECEIVE_BYTES if wanted is None else min(RECEIVE_BYTES, wanted - received))
            if not piece:
                break
            pieces.append(piece)
            received += len(piece)
        return b"".join(pieces)

    def _piece(self, size: int) -> bytes:
        left = self.deadline.left()
        if left <= 0:
            raise self._gave_up()
        try:
            if self._set_timeout is not None:
                self._set_timeout(min(settings.RECORDING_READ_TIMEOUT_SECONDS, left))
            chunk = self._receive(size)
        except (OSError, http.client.HTTPException, ValueError) as error:
            if self.deadline.left() <= 0:
                raise self._gave_up() from None
            raise self._fail(
                FetchFailure.CUT, f"connection cut after {self.count} bytes: {type(error).__name__}: {error}"
            ) from None
        except Exception as error:
            # botocore's and urllib3's stream errors (read timeout, incomplete read) share no base with the above.
            if self.deadline.left() <= 0:
                raise self._gave_up() from None
            raise self._fail(FetchFailure.CUT, f"source failed after {self.count} bytes: {error}") from None
        self.count += len(chunk)
        if self.count > settings.RECORDING_MAX_BYTES:
            raise self._fail(
                FetchFailure.ERROR, f"the recording exceeds {settings.RECORDING_MAX_BYTES} bytes", public=_too_large()
            )
        if self.length is not None and self.count > self.length:
            raise self._fail(FetchFailure.CUT, f"more bytes than the announced {self.length}")
        if not chunk and self.length is not None and self.count != self.length:
            raise self._fail(
                FetchFailure.CUT, f"body cut short: {self.count} of {self.length} announced bytes received"
            )
        self.sha256.update(chunk)
        return chunk


@dataclass(frozen=True)
class Stored:
    """What a fetch stored: the FLAC's size and checksum, and the source's format, size and checksum."""

    size: int
    sha256: str
    source_format: str
    source_size: int
    source_sha256: str


def _too_large() -> str:
    return f"The recording is larger than this service accepts ({settings.RECORDING_MAX_BYTES} bytes)."


def source_copy(*, url: str, storage: RecordingStorage, temp: str, final: str, policy: SourcePolicy) -> Stored:
    """Fetch ``url`` and store it as FLAC under ``final``.

    1. Open the source; the deadline (``RECORDING_FETCH_MAX_SECONDS``) covers opening it (a server
       may trickle its headers), the download and the transcoding.
    2. Download it through the verifier (count, sha256, size cap, deadline) into a file of a
       private temporary directory (``TMPDIR``; it holds the source and its FLAC at most, each
       bounded by ``RECORDING_MAX_BYTES``), and check the count against the announced length.
    3. Transcode it to FLAC (:func:`recordings.audio.flac_from`; a FLAC source is kept as it is);
       a file libsndfile cannot read is ``NOT_AUDIO``.
    4. Upload the FLAC to storage under ``temp`` while hashing it, then promote it to ``final``.
    """
    deadline = Deadline.from_setting("RECORDING_FETCH_MAX_SECONDS")
    try:
        stream = source_open(url, policy=policy, deadline=deadline)
    except SourceMissing as error:
        raise FetchFailure(FetchFailure.MISSING, str(error)) from None
    except SourceRefused as error:
        raise FetchFailure(FetchFailure.REFUSED, f"source refused: {error}", public=error.public) from None
    except SourceTooLarge as error:
        raise FetchFailure(FetchFailure.ERROR, str(error), public=_too_large()) from None
    except SourceError as error:
        raise FetchFailure(FetchFailure.TRANSIENT, str(error)) from None
    with tempfile.TemporaryDirectory(prefix="recording-") as work:
        source = Path(work) / "source"
        reader = _VerifyingReader(stream.body, length=stream.length, deadline=deadline)
        try:
            with open(source, "wb") as handle:
                while chunk := reader.read(CHUNK_BYTES):
                    handle.write(chunk)
        except OSError as error:
            raise FetchFailure(FetchFailure.UPLOAD, f"cannot write the local copy of the source: {error}") from None
        finally:
            stream.close()
        if reader.failure:
            raise reader.failure
        if stream.length is not None and reader.count != stream.length:
            raise FetchFailure(FetchFailure.CUT, f"body cut short: {reader.count} of {stream.length} bytes received")
        try:
            flac = flac_from(
                source, Path(work) / "audio.flac", deadline=deadline.at, max_bytes=settings.RECORDING_MAX_BYTES
            )
        except NotAudio as error:
            raise FetchFailure(
                FetchFailure.NOT_AUDIO,
                f"the source is not audio libsndfile can read ({error})",
                public=f"The source is not audio this service can read ({error})",
            ) from None
        except TranscodeTimeout:
            raise FetchFailure(
                FetchFailure.CUT,
                f"gave up after {deadline.seconds} s while transcoding to FLAC",
                public="The recording could not be converted to FLAC in time.",
            ) from None
        except TranscodeTooLarge as error:
            raise FetchFailure(FetchFailure.ERROR, str(error), public=_too_large()) from None
        except OSError as error:
            raise FetchFailure(FetchFailure.UPLOAD, f"cannot write the FLAC: {error}") from None
        with open(flac.path, "rb") as handle:
            hashing = _HashingReader(handle)
            try:
                storage.save(temp, hashing)
            except StorageError as error:
                raise FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    try:
        storage.promote(temp, final)
    except StorageError as error:
        raise FetchFailure(FetchFailure.UPLOAD, str(error)) from None
    return Stored(
        size=hashing.count,
        sha256=hashing.sha256.hexdigest(),
        source_format=flac.source_format,
        source_size=reader.count,
        source_sha256=reader.sha256.hexdigest(),
    )


class _HashingReader:
    """A local file read for upload, counted and hashed on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.count = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.handle.read(size)
        self.count += len(chunk)
        self.sha256.update(chunk)
        return chunk
