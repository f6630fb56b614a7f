"""tools/drills/metrics.py: quantiles read from histogram buckets as Prometheus reads them."""

from __future__ import annotations

import math

from tools.drills.metrics import latency_agrees, quantile, quantile_bounds

# 10 requests under 10 ms, 80 between 10 and 50 ms, 10 between 50 and 100 ms.
BUCKETS = [(0.01, 10.0), (0.05, 90.0), (0.1, 100.0), (math.inf, 100.0)]


def test_quantile_interpolates_inside_the_bucket_holding_the_rank() -> None:
    assert quantile(0.5, BUCKETS) == 0.01 + 0.04 * (40 / 80)
    assert math.isclose(quantile(0.99, BUCKETS), 0.05 + 0.05 * (9 / 10))
    assert quantile(0.05, BUCKETS) == 0.005


def test_quantile_bounds_name_the_bucket() -> None:
    assert quantile_bounds(0.5, BUCKETS) == (0.01, 0.05)
    assert quantile_bounds(0.99, BUCKETS) == (0.05, 0.1)
    assert quantile_bounds(0.99, [(0.01, 1.0), (math.inf, 100.0)]) == (0.01, math.inf)
    assert math.isnan(quantile(0.5, [(math.inf, 0.0)]))


def test_a_client_quantile_agrees_inside_or_one_bucket_above_never_below() -> None:
    assert latency_agrees(measured_ms=30, bounds_s=(0.01, 0.05))
    assert latency_agrees(measured_ms=120, bounds_s=(0.01, 0.05))
    assert not latency_agrees(measured_ms=5, bounds_s=(0.01, 0.05))
    assert not latency_agrees(measured_ms=200, bounds_s=(0.01, 0.05))
