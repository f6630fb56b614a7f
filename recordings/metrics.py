"""The recordings' state gauge, read at scrape time (docs/contract.md#metrics).

Counted: the states a recording passes through and the failure states, each from the state
column's index. ``available`` and ``deleted`` are left out: they only grow, with every call ever
recorded, and counting them would read the whole index on each scrape; the rate at which
recordings become available is ``analytics_recording_fetch_attempts{outcome="stored"}``.
"""

from __future__ import annotations

from django.db.models import Count

from analytics_api.metrics import RECORDINGS, StateRows
from recordings.models import Recording, RecordingState

COUNTED_STATES = tuple(
    state for state in RecordingState.values if state not in (RecordingState.AVAILABLE, RecordingState.DELETED)
)


@RECORDINGS.source
def recordings_by_state() -> StateRows:
    counts = dict(
        Recording.objects.filter(state__in=COUNTED_STATES)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(state,): float(counts.get(state, 0)) for state in COUNTED_STATES}
