"""The cyclic garbage collector in processes that parse large batches (gunicorn workers, imports).

With Python's default thresholds (700, 10, 10) an ingestion batch of 1,000 conversations — about
half a million containers parsed from 5 MB of JSON — sets off hundreds of collections, some of them
full ones that walk every object of the loaded application: 16% of the batch's CPU. Measured in
process (``python -m tools.bench.content --profile``): 441 ms per batch by default, 369 ms with the
application frozen and these thresholds. ``import_interactions`` of 20,000 lines: 17% less CPU,
10% more lines/s.

Raised thresholds are for batches only. A worker that kept them for every request collected the
garbage of a hundred small requests at once, in one of them: the no-op endpoint's p99 at
concurrency 1 went from 1.4–1.6 ms to 5.0–5.6 ms (same p50). So a gunicorn worker freezes the
loaded application (which costs no request anything) and raises the thresholds only while a
request with a large body is being served (:func:`collector_relaxed`, from
``analytics_api.middleware.BodySizeLimitMiddleware``); an import command raises them for its run.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (20_000, 20, 100)
# A body at least this long is a batch worth relaxing the collector for: an ingestion batch of 100
# records is already larger; a query body is a few hundred bytes.
RELAXED_BODY_BYTES = 128 * 1024

_relaxed_lock = threading.Lock()
_relaxed_count = 0
_relaxed_before: tuple[int, int, int] | None = None


def collector_freeze() -> None:
    """The application is loaded: move its objects out of the collector's sight (``gc.freeze``: they
    live as long as the process), so that no collection walks them again."""
    gc.collect()
    gc.freeze()


@contextmanager
def collector_relaxed() -> Iterator[None]:
    """Collect every :data:`THRESHOLDS` allocations while at least one thread is inside.

    1. The first thread in saves the thresholds and raises them (they are the process's, not the
       thread's: a small request served meanwhile collects less often too, for that long).
    2. Later threads only count themselves in.
    3. The last thread out restores the saved thresholds.
    """
    global _relaxed_count, _relaxed_before
    with _relaxed_lock:
        if _relaxed_count == 0:
            _relaxed_before = gc.get_threshold()
            gc.set_threshold(*THRESHOLDS)
        _relaxed_count += 1
    try:
        yield
    finally:
        with _relaxed_lock:
            _relaxed_count -= 1
            if _relaxed_count == 0 and _relaxed_before is not None:
                gc.set_threshold(*_relaxed_before)
                _relaxed_before = None


@contextmanager
def collector_tuned() -> Iterator[None]:
    """For a command's run: the application frozen and the thresholds raised, both undone after."""
    collector_freeze()
    try:
        with collector_relaxed():
            yield
    finally:
        gc.unfreeze()
