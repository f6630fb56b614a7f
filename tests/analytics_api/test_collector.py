"""The garbage collector's tuning for batch-parsing processes (analytics_api/kernel/collector.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from analytics_api.kernel import collector
from analytics_api.kernel.collector import (
    RELAXED_BODY_BYTES,
    THRESHOLDS,
    collector_freeze,
    collector_relaxed,
    collector_tuned,
)
from analytics_api.middleware import BodySizeLimitMiddleware


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_a_worker_freezes_the_loaded_application_and_keeps_the_default_rhythm(restored: None) -> None:
    before = gc.get_threshold()
    collector_freeze()  # gunicorn's post_worker_init hook (analytics_api/server/gunicorn_conf.py)
    assert gc.get_freeze_count() > 10_000  # the modules, classes and functions loaded so far
    assert gc.get_threshold() == before


def test_a_command_tunes_the_collector_for_its_run_only(restored: None) -> None:
    before = gc.get_threshold()
    with collector_tuned():
        assert gc.get_threshold() == THRESHOLDS == (20_000, 20, 100)
        assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_thresholds_stay_raised_until_the_last_thread_leaves(restored: None) -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def batch() -> None:
        with collector_relaxed():
            inside.set()
            leave.wait(5)

    other = threading.Thread(target=batch)
    other.start()
    assert inside.wait(5)
    with collector_relaxed():
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == THRESHOLDS  # the other batch is still being served
    leave.set()
    other.join(5)
    assert gc.get_threshold() == before
    assert collector._relaxed_count == 0


def _seen_thresholds(body_bytes: int) -> tuple[int, int, int]:
    seen: list[tuple[int, int, int]] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(gc.get_threshold())
        return HttpResponse(status=204)

    middleware = BodySizeLimitMiddleware(view)
    middleware(RequestFactory().post("/x", data=b"x" * body_bytes, content_type="application/json"))
    return seen[0]


def test_only_a_request_with_a_large_body_is_served_with_raised_thresholds(restored: None) -> None:
    before = gc.get_threshold()
    assert _seen_thresholds(1_000) == before
    assert _seen_thresholds(RELAXED_BODY_BYTES) == THRESHOLDS
    assert gc.get_threshold() == before
