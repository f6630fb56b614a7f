"""django-q2 tasks of exports; ``exports_sweep`` runs every minute and ``exports_cleanup`` hourly
(schedules created by migration ``0002_schedules``)."""

from __future__ import annotations

from exports.jobs import export_queue, export_run, exports_runnable
from exports.services import exports_expire

SWEEP_BATCH = 200


def export_run_task(job_id: int) -> str:
    return export_run(job_id=job_id)


def exports_sweep() -> int:
    """Queue a task for every job that is waiting for one (a duplicate finds the job claimed)."""
    runnable = exports_runnable(limit=SWEEP_BATCH)
    for job_id in runnable:
        export_queue(job_id=job_id)
    return len(runnable)


def exports_cleanup() -> int:
    return exports_expire()
