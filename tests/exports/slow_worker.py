"""A django-q2-like worker process for the killed-worker test: runs an export's tasks one after the
other, each record slowed down and progress reported every thousand records, so that the test can
SIGKILL it in the middle of a file."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_api.settings")
django.setup()

from exports import datasets, jobs  # noqa: E402 - after django.setup()
from exports.jobs import export_run  # noqa: E402
from exports.models import ExportState  # noqa: E402

_REAL = datasets.DATASETS["interactions"]


def _slow(window: Any, chunk: int) -> Iterator[Any]:
    for block in _REAL.blocks(window, chunk):
        time.sleep(0.002 * block.count)
        yield block


datasets.DATASETS["interactions"] = dataclasses.replace(_REAL, blocks=_slow)
jobs.BLOCK_ROWS, jobs.HEARTBEAT_ROWS = 100, 1000

if __name__ == "__main__":
    while export_run(job_id=int(sys.argv[1])) == ExportState.RUNNING:
        pass
