"""Where export files are kept: the recordings' storage classes (:mod:`recordings.storage`), under
``MEDIA_ROOT/exports/`` on the filesystem or ``<S3_PREFIX>exports/`` in the S3 bucket when
``S3_BUCKET`` is set. A file is stored under a temporary key and promoted to its final key once
whole; keys carry the attempt's token, so a worker that lost its job removes only its own objects."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from exports.models import ExportJob
from exports.writers import CONTENT_TYPES, file_extension
from recordings.storage import FileSystemStorage, RecordingStorage, S3Storage, s3_client

EXPORTS_PREFIX = "exports/"


def export_storage(*, content_type: str = "application/octet-stream") -> RecordingStorage:
    if settings.S3_BUCKET:
        prefix = settings.S3_PREFIX + EXPORTS_PREFIX
        return S3Storage(settings.S3_BUCKET, prefix, s3_client(), content_type=content_type)
    return FileSystemStorage(Path(settings.MEDIA_ROOT) / EXPORTS_PREFIX)


def job_storage(job: ExportJob) -> RecordingStorage:
    return export_storage(content_type=CONTENT_TYPES[(job.format, job.compression)])


def file_name(job: ExportJob, n: int) -> str:
    return f"{job.dataset}-{job.public_id}-{n:05d}.{file_extension(job.format, job.compression)}"


def temp_key(job: ExportJob, n: int, token: str) -> str:
    return f"tmp/{job.pk}-{n}-{token}.part"


def final_key(job: ExportJob, n: int, token: str) -> str:
    return f"{job.account_id}/{job.public_id}/{n:05d}-{token}.{file_extension(job.format, job.compression)}"
