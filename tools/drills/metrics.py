"""What the drills read from the service's own ``/metrics`` (docs/contract.md#metrics).

A drill scrapes before and after a stretch of load and compares the service's counts and latency
histograms with what its load generator saw: the counts must match, and the latency quantiles must
agree within the histogram's resolution (a quantile read from buckets is only known to lie inside
its bucket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tools.drills.client import call

Labels = frozenset[tuple[str, str]]
REQUESTS = "analytics_http_requests_total"
LATENCY = "analytics_http_request_duration_seconds"


@dataclass(frozen=True)
class Scrape:
    samples: dict[tuple[str, Labels], float]

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.samples.items() if sample == name and wanted <= have)

    def minus(self, earlier: Scrape) -> Scrape:
        """The change since ``earlier`` (counters and histograms; gauges keep their later value's change)."""
        return Scrape({key: value - earlier.samples.get(key, 0.0) for key, value in self.samples.items()})

    def buckets(self, operations: list[str]) -> list[tuple[float, float]]:
        """The latency histogram of these operations (2xx), summed: ``(upper bound, cumulative count)``."""
        bounds: dict[float, float] = {}
        for (sample, labels), value in self.samples.items():
            have = dict(labels)
            wanted = have.get("operation") in operations and have.get("status_class") == "2xx"
            if sample == f"{LATENCY}_bucket" and wanted:
                bound = float(have["le"])
                bounds[bound] = bounds.get(bound, 0.0) + value
        return sorted(bounds.items())


def scrape(base_url: str, *, token: str = "") -> Scrape:
    """GET /metrics (the drills run on this machine, inside the default METRICS_ALLOWED_NETS)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = call(base_url, "GET", "/metrics", headers=headers, timeout_s=30)
    if answer.status != 200:
        raise RuntimeError(f"/metrics answered {answer.status}: {answer.body[:300]!r}")
    return Scrape({
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.body.decode())
        for sample in family.samples
    })


def quantile_bounds(q: float, buckets: list[tuple[float, float]]) -> tuple[float, float]:
    """The bucket holding the ``q`` quantile, as ``(lower, upper)`` bounds in seconds (upper may be inf)."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return (math.nan, math.nan)
    rank = q * total
    lower = 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            return (lower, bound)
        lower = bound
    return (lower, math.inf)


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding the rank."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower_bound
            width = cumulative - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / width if width else 1.0)
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def latency_agrees(*, measured_ms: float, bounds_s: tuple[float, float]) -> bool:
    """Whether a load generator's quantile and the service's agree.

    The client's time includes what the service's cannot see (the socket, gunicorn's parsing, the
    response on the wire), so it may exceed the service's bucket — by at most the width of one
    bucket (the buckets grow about 2-2.5 times each) — and may not fall under its lower bound.
    """
    lower_ms, upper_ms = bounds_s[0] * 1000, bounds_s[1] * 1000
    return lower_ms <= measured_ms <= max(upper_ms * 2.5, upper_ms + 5.0)


@dataclass
class OperatorView:
    """What an operator's probes see at one moment: readiness, and /metrics (None: no answer)."""

    ready_status: int
    ready_fields: list[str]
    up: dict[str, float] | None
    dependency_errors: dict[str, float] | None


def operator_view(base_url: str) -> OperatorView:
    """``/api/health/ready`` (its status and the fields it names) and ``/metrics``' dependency families."""
    ready = call(base_url, "GET", "/api/health/ready", timeout_s=30)
    fields = [item.get("field", "") for item in ready.json()["errors"]] if ready.is_error_envelope() else []
    try:
        metrics = scrape(base_url)
    except RuntimeError:
        return OperatorView(ready.status, fields, None, None)
    return OperatorView(
        ready.status, fields,
        up=_by_dependency(metrics, "analytics_dependency_up"),
        dependency_errors=_by_dependency(metrics, "analytics_dependency_errors_total"),
    )


def _by_dependency(metrics: Scrape, name: str) -> dict[str, float]:
    return {dict(labels)["dependency"]: value for (sample, labels), value in metrics.samples.items() if sample == name}
