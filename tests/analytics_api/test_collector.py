"""The garbage collector's tuning for batch-parsing processes (analytics_api/kernel/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from analytics_api.kernel.collector import THRESHOLDS, collector_tune, collector_tuned


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_a_worker_freezes_the_loaded_application_and_collects_less_often(restored: None) -> None:
    collector_tune()  # gunicorn's post_worker_init hook (analytics_api/server/gunicorn_conf.py)
    assert gc.get_threshold() == THRESHOLDS == (20_000, 20, 100)
    assert gc.get_freeze_count() > 10_000  # the modules, classes and functions loaded so far


def test_a_command_tunes_the_collector_for_its_run_only(restored: None) -> None:
    before = gc.get_threshold()
    with collector_tuned():
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
