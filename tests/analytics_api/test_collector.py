"""The garbage collector's tuning for batch-parsing processes (analytics_api/kernel/collector.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

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

ROOT = Path(__file__).resolve().parents[2]


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


# A worker's life in a fresh process: gunicorn loads the WSGI module, post_worker_init freezes, then the
# first request resolves its path. Prints how many objects that first resolution left in the collector's sight.
_FIRST_REQUEST_AFTER_FREEZE = """
import gc
import analytics_api.wsgi
from django.urls import resolve
from analytics_api.kernel.collector import collector_freeze
collector_freeze()
before = len(gc.get_objects())
resolve("/agentassist/api/public/analytics/account/acc/v2/interactionDetails")
print(len(gc.get_objects()) - before)
"""


def test_the_wsgi_application_is_loaded_whole_before_a_worker_freezes_it(tmp_path: Path) -> None:
    # Loaded on the first request instead, the URL configuration and every view behind it (~30,000
    # objects) stayed in the collector's sight: each full collection walked them (7 ms), in a request.
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env = {**clean, "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "analytics_api.settings"}
    result = subprocess.run([sys.executable, "-c", _FIRST_REQUEST_AFTER_FREEZE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) < 1_000


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
