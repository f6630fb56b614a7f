"""The change feed's lag gauge, read at scrape time (docs/contract.md#metrics)."""

from __future__ import annotations

from django.utils import timezone

from analytics_api.metrics import CHANGE_FEED_LAG, StateRows
from changes.datasets import DATASETS
from changes.watermark import feed_watermark


@CHANGE_FEED_LAG.source
def change_feed_lag() -> StateRows:
    """The age in seconds of ``completeUpTo`` (the oldest transaction in flight holds it back). The
    watermark is one for the whole log, so every dataset has the same lag."""
    _position, complete_up_to = feed_watermark()
    lag = max(0.0, (timezone.now() - complete_up_to).total_seconds())
    return {(name,): lag for name in DATASETS}
