"""How far the kept day counts of Quality AI contacts are behind, read at scrape time (docs/contract.md#metrics)."""

from __future__ import annotations

from django.utils import timezone

from analytics_api.metrics import QA_DAY_COUNTS_BEHIND, StateRows
from qualityai.models import QaDayDirty


@QA_DAY_COUNTS_BEHIND.source
def day_counts_behind() -> StateRows:
    """Seconds since the oldest mark not yet counted (by the primary key's index: marks are numbered in
    the order they are written). It grows when the qualityai-day-counts schedule does not run; totals
    stay exact meanwhile, only slower over the marked days."""
    oldest = QaDayDirty.objects.order_by("pk").values_list("marked_at", flat=True).first()
    return {(): 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())}
