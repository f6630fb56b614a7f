"""A real worker process killed with SIGKILL in the middle of a file (PostgreSQL: the worker and the
test share the database): the manifest never holds a half file, and the job completes once the dead
worker's lease has run out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from exports.models import ExportFile, ExportJob, ExportState
from exports.tasks import exports_sweep
from tests.conftest import Tenant
from tests.conversations.conftest import ingest
from tests.conversations.factories import BASE, SessionRecordFactory
from tests.exports.conftest import DAY, EXPORTS, export_create, ndjson_lines, run_to_end, stored_files

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker process needs a shared database"),
]


def _worker(job: ExportJob, tmp_path: Path) -> subprocess.Popen[bytes]:
    db = django_settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ, "DATABASE_URL": url, "VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "EXPORT_MAX_ROWS_PER_FILE": "1500", "EXPORT_LEASE_SECONDS": "60", "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "exports" / "slow_worker.py"), str(job.pk)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "wb"),
    )


def _wait_until(condition: Any, *, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker never got there: {log.read_text()[-3000:]}")
        time.sleep(0.02)


def test_a_worker_killed_with_sigkill_mid_file_leaves_no_half_file_and_the_job_completes(
    tenant: Tenant, tmp_path: Path, settings: Any
) -> None:
    settings.EXPORT_MAX_ROWS_PER_FILE = 1500
    settings.EXPORT_LEASE_SECONDS = 60
    ingest(tenant, [SessionRecordFactory(botId=tenant.bot.bot_id, start=BASE + timedelta(seconds=n))
                    for n in range(4000)])
    created = export_create(tenant, {"dataset": "interactions", **DAY})
    job = ExportJob.objects.get(public_id=created["id"])
    worker = _worker(job, tmp_path)
    try:
        # File 1 is published and file 2 is a thousand records in (its first progress report).
        _wait_until(lambda: ExportJob.objects.get(pk=job.pk).rows >= 2500, log=tmp_path / "worker.log")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL

    killed = ExportJob.objects.get(pk=job.pk)
    assert killed.state == ExportState.RUNNING and killed.claim_token
    assert list(ExportFile.objects.filter(job=job).values_list("n", "rows")) == [(1, 1500)]
    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert "manifest" not in document
    # File 2 never reached a final key: at most its half, under the attempt's temporary key.
    assert len([path for path in stored_files() if path.parent.name != "tmp"]) == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=True):
        assert exports_sweep() == 1
        assert run_to_end(created["id"]) == ExportState.COMPLETED

    document = tenant.get(f"{EXPORTS}/{created['id']}").json()
    assert [(item["n"], item["rows"]) for item in document["manifest"]["files"]] == [(1, 1500), (2, 1500), (3, 1000)]
    lines = ndjson_lines(tenant, document)
    assert len(lines) == len(set(lines)) == 4000
    assert len(stored_files()) == 3  # the dead attempt's half file removed
    assert ExportJob.objects.get(pk=job.pk).attempts == 1
