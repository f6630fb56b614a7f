"""docs/operations/: the Grafana dashboard and the Prometheus alert rules use only metrics the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from analytics_api import metrics

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations"
_NAME = re.compile(r"\banalytics_[a-z_]+")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def exported_names() -> set[str]:
    """Every sample name /metrics can carry: the event metrics with their suffixes, and the state gauges."""
    names = {gauge.name for gauge in metrics.STATE_GAUGES}
    for value in vars(metrics).values():
        if hasattr(value, "_type") and hasattr(value, "_name"):
            names |= {value._name + suffix for suffix in _SUFFIXES}
    return names


def test_every_alert_has_an_expression_a_duration_a_severity_and_a_summary() -> None:
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} >= {
        "AnalyticsDatabaseDown", "AnalyticsRedisDown", "AnalyticsTaskQueueGrowing",
        "AnalyticsRecordingFetchFailuresRising", "AnalyticsChangeFeedLag",
    }
    for rule in rules:
        assert rule["expr"] and re.fullmatch(r"\d+m", rule["for"]), rule
        assert rule["labels"]["severity"] in ("critical", "warning"), rule
        assert rule["annotations"]["summary"], rule


def test_alerts_and_dashboard_use_only_exported_metrics() -> None:
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    expressions = [rule["expr"] for rule in rules] + [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {name for expression in expressions for name in _NAME.findall(expression)}
    assert used - exported_names() == set()
    assert len(used) >= 14


def test_the_dashboard_covers_requests_latency_errors_queue_recordings_exports_and_feed_lag() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    titles = " | ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("requests", "p50", "p99", "errors", "queue depth", "recordings", "export", "change feed lag"):
        assert topic in titles, topic
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
