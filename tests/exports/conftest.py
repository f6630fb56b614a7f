"""Helpers of the export tests: ingest records, create an export through the API, run its worker
tasks to the end (as django-q2 would, one task after the other), read its files back."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from exports.jobs import export_run
from exports.models import ExportJob, ExportState
from tests.conftest import Tenant
from tests.qualityai.factories import ContactDocumentFactory

EXPORTS = "/api/v1/exports"
DAY = {"startDate": "2025-09-30", "endDate": "2025-09-30"}


def export_create(tenant: Tenant, body: dict[str, Any], **headers: Any) -> dict[str, Any]:
    response = tenant.post(EXPORTS, body, **headers)
    assert response.status_code == 202, response.content
    return response.json()


def run_to_end(export_id: str, *, max_tasks: int = 50) -> str:
    """Run the job's tasks until it is no longer running; its final state."""
    job = ExportJob.objects.get(public_id=export_id)
    for _task in range(max_tasks):
        export_run(job_id=job.pk)
        job.refresh_from_db()
        if job.state not in (ExportState.QUEUED, ExportState.RUNNING) or job.claim_token:
            return job.state
    raise AssertionError(f"export {export_id} still {job.state} after {max_tasks} tasks")


def exported(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    """Create, run and read back an export: its document once finished."""
    created = export_create(tenant, body)
    assert run_to_end(created["id"]) == ExportState.COMPLETED
    response = tenant.get(f"{EXPORTS}/{created['id']}")
    assert response.status_code == 200
    return response.json()


def download(tenant: Tenant, url: str, **headers: Any) -> bytes:
    response = tenant.get(url.removeprefix("http://testserver"), **headers)
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content)


def ndjson_lines(tenant: Tenant, document: dict[str, Any]) -> list[bytes]:
    lines: list[bytes] = []
    for item in document["manifest"]["files"]:
        data = download(tenant, item["url"])
        if document["compression"] == "gzip":
            data = gzip.decompress(data)
        lines.extend(data.splitlines())
    return lines


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "exports"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture(autouse=True)
def _small_files(settings: Any) -> None:
    settings.EXPORT_MAX_ROWS_PER_FILE = 1000


@pytest.fixture(autouse=True)
def _fresh_sequence() -> None:
    """Contacts start at 10:00 on the factories' day (2026-05-02), whatever ran before."""
    ContactDocumentFactory.reset_sequence(force=True)
