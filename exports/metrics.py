"""The export jobs' state gauge, read at scrape time (docs/contract.md#metrics)."""

from __future__ import annotations

from django.db.models import Count

from analytics_api.metrics import EXPORT_JOBS, StateRows
from exports.models import ExportJob, ExportState


@EXPORT_JOBS.source
def export_jobs_by_state() -> StateRows:
    """Every state, 0 when no job is in it: one grouped count (jobs are few: one per request, kept
    until deleted)."""
    counts = dict(ExportJob.objects.values_list("state").annotate(n=Count("pk")).order_by())
    return {(state,): float(counts.get(state, 0)) for state in ExportState.values}
