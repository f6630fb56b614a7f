"""Where fetched recordings are kept: one interface, two implementations.

``FileSystemStorage`` (the default) keeps objects under ``MEDIA_ROOT``; ``S3Storage`` (when
``S3_BUCKET`` is set) keeps them in a bucket under ``S3_PREFIX``, at ``AWS_ENDPOINT_URL`` for
S3-compatible servers. A fetch writes to a temporary key and :meth:`promote` moves it to its final
key only once it is complete and verified, so a reader never sees half a recording.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any, Protocol

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from analytics_api.private_files import make_private_dirs, open_private_file

CHUNK_BYTES = 1024 * 1024
CONTENT_TYPE = "audio/flac"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class StorageError(Exception):
    """Storage could not take, move or remove an object."""


class RecordingStorage(ABC):
    @abstractmethod
    def save(self, key: str, reader: Readable) -> None:
        """Stream ``reader`` to ``key`` chunk by chunk (never the whole file in memory)."""

    @abstractmethod
    def promote(self, temp_key: str, final_key: str) -> None:
        """Move a complete object from its temporary key to its final key."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """The object's bytes as a stream."""

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        """A short-lived direct download address, when the storage offers one."""
        return None

    def local_path(self, key: str) -> Path | None:
        """Where ``key`` lives on this machine's filesystem, its folders made, for a writer that
        creates it in place (owner-only, flushed to disk before it is promoted); None when the storage
        is not local: write a file elsewhere and :meth:`save` it."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageError` when the storage cannot take objects now (the readiness check)."""


class FileSystemStorage(RecordingStorage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Keys are built from database ids and tokens; refuse anything that could leave the root.
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key

    def check(self) -> None:
        # The root is made by the first save: until then its nearest existing parent must be writable.
        existing = next(path for path in (self.root, *self.root.parents) if path.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise StorageError(f"{existing} is not a writable directory")

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        try:
            make_private_dirs(path.parent)
        except OSError as error:
            raise StorageError(f"cannot write {key}: {error}") from error
        return path

    def save(self, key: str, reader: Readable) -> None:
        path = self._path(key)
        try:
            # Owner-only: recordings are customer data, and other users of the machine must not read them.
            make_private_dirs(path.parent)
            with open(open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "wb") as handle:
                while chunk := reader.read(CHUNK_BYTES):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise StorageError(f"cannot write {key}: {error}") from error

    def promote(self, temp_key: str, final_key: str) -> None:
        target = self._path(final_key)
        try:
            make_private_dirs(target.parent)
            os.replace(self._path(temp_key), target)
        except OSError as error:
            raise StorageError(f"cannot move {temp_key} to {final_key}: {error}") from error

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"cannot delete {key}: {error}") from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open(self, key: str) -> IO[bytes]:
        return open(self._path(key), "rb")


@functools.cache
def _cached_s3_client(
    endpoint_url: str,
    region: str,
    connect_timeout: int,
    read_timeout: int,
    access_key_id: str = "",
    secret_access_key: str = "",
) -> BaseClient:
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        signature_version="s3v4",
    )
    # Without explicit keys boto3's default chain applies (environment, profile, instance role).
    session = boto3.session.Session(
        aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None
    )
    return session.client("s3", endpoint_url=endpoint_url or None, region_name=region, config=config)


def s3_client() -> BaseClient:
    """A boto3 S3 client for the configured endpoint (clients are thread-safe, so one per config)."""
    return _cached_s3_client(
        settings.AWS_ENDPOINT_URL,
        settings.AWS_REGION,
        settings.RECORDING_CONNECT_TIMEOUT_SECONDS,
        settings.RECORDING_READ_TIMEOUT_SECONDS,
    )


def source_s3_client() -> BaseClient:
    """The client that reads ``s3://`` recording sources.

    When any ``RECORDING_SOURCE_AWS_*`` setting is given, a client of its own: those keys (else
    boto3's default chain), that endpoint (else ``AWS_ENDPOINT_URL``) and region (else
    ``AWS_REGION``), so sources can be read with credentials that reach the source buckets and
    nothing else. With none of them set, the storage client is used.
    """
    key_id = settings.RECORDING_SOURCE_AWS_ACCESS_KEY_ID
    secret = settings.RECORDING_SOURCE_AWS_SECRET_ACCESS_KEY
    endpoint = settings.RECORDING_SOURCE_AWS_ENDPOINT_URL
    region = settings.RECORDING_SOURCE_AWS_REGION
    if not (key_id or secret or endpoint or region):
        return s3_client()
    return _cached_s3_client(
        endpoint or settings.AWS_ENDPOINT_URL,
        region or settings.AWS_REGION,
        settings.RECORDING_CONNECT_TIMEOUT_SECONDS,
        settings.RECORDING_READ_TIMEOUT_SECONDS,
        key_id,
        secret,
    )


class S3Storage(RecordingStorage):
    # Sequential parts of 8 MiB: bounded memory, and the reader is consumed in order.
    _transfer = TransferConfig(use_threads=False, multipart_chunksize=8 * 1024 * 1024)

    def __init__(self, bucket: str, prefix: str, client: BaseClient, *, content_type: str = CONTENT_TYPE) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self.content_type = content_type

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def save(self, key: str, reader: Readable) -> None:
        try:
            self.client.upload_fileobj(
                reader, self.bucket, self._key(key), ExtraArgs={"ContentType": self.content_type}, Config=self._transfer
            )
        except Exception as error:
            raise StorageError(f"cannot upload {key}: {error}") from error

    def promote(self, temp_key: str, final_key: str) -> None:
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._key(temp_key)},
                self.bucket,
                self._key(final_key),
                ExtraArgs={"ContentType": self.content_type, "MetadataDirective": "REPLACE"},
                Config=self._transfer,
            )
            self.client.delete_object(Bucket=self.bucket, Key=self._key(temp_key))
        except Exception as error:
            raise StorageError(f"cannot move {temp_key} to {final_key}: {error}") from error

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            raise StorageError(f"cannot delete {key}: {error}") from error

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"bucket {self.bucket} is not reachable: {error}") from error

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def open(self, key: str) -> IO[bytes]:
        answer: dict[str, Any] = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        return answer["Body"]

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": self.content_type,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=settings.S3_PRESIGN_SECONDS,
        )


def recording_storage() -> RecordingStorage:
    """The configured storage, read from settings at each call (tests switch it per test)."""
    if settings.S3_BUCKET:
        return S3Storage(settings.S3_BUCKET, settings.S3_PREFIX, s3_client())
    return FileSystemStorage(Path(settings.MEDIA_ROOT))

