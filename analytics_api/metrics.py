"""Every Prometheus metric of the service, defined once (docs/contract.md#metrics).

Two kinds:

* **Events** — counters and histograms that code increments where the event happens
  (``REQUESTS.labels(...).inc()``). With ``PROMETHEUS_MULTIPROC_DIR`` set (``make run``, the image,
  the drills) prometheus-client keeps them in memory-mapped files of that directory, one per
  process, so that ``/metrics`` answered by any gunicorn worker sums every worker and the django-q2
  worker processes writing to the same directory (or to the directories of ``METRICS_READ_DIRS``).
  Without it (tests, ``runserver``) they live in the process.
* **States** — :class:`StateGauge`: a value read when ``/metrics`` is scraped (recordings by state,
  the task queue's depth), from one cheap, indexed query. An app attaches its query with
  ``@GAUGE.source``; a gauge without a source is left out of the exposition.

Label values are always drawn from fixed sets — operationIds, reasons, states, dataset names —
never ids, paths or anything a client sends.

Hooks for the export jobs and the change feed (their apps fill them in):

* ``EXPORT_JOBS`` — ``@EXPORT_JOBS.source`` a function returning ``{(state,): count}`` with a row
  for every state (0 when none: the alert rules compare states), from one query on an index;
* ``EXPORT_ROWS.labels(dataset=, format=).inc(rows)`` when a job writes a file's rows;
* ``EXPORT_JOBS_FINISHED.labels(dataset=, state=).inc()`` when a job ends (completed, failed, cancelled);
* ``CHANGE_FEED_LAG`` — ``@CHANGE_FEED_LAG.source`` a function returning ``{(dataset,): seconds}``,
  the age of the feed's ``completeUpTo`` per dataset.

Attach a source in a module the app imports at start-up (as ``recordings/metrics.py``, imported by
``RecordingsConfig.ready``); docs/operations/ already draws and alerts on all four.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django_q.brokers import get_broker
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

# Seconds: from a cached page (a few ms) to the slowest documented read (a 10,000-item page).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TASK_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 120.0, 300.0, 600.0)

REQUESTS = Counter(
    "analytics_http_requests",
    "HTTP requests answered, by operation (the OpenAPI operationId, else a fixed route name) and status class.",
    ["operation", "status_class"],
)
REQUEST_SECONDS = Histogram(
    "analytics_http_request_duration_seconds",
    "Time from the request reaching the application to its response, by operation and status class.",
    ["operation", "status_class"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "analytics_rate_limited",
    "Requests refused for a limit: client_minute, client_hour (per-client rate limits), "
    "auth_failures (too many failed authentications), admin_login (admin login attempts).",
    ["reason"],
)
AUTH_FAILURES = Counter(
    "analytics_auth_failures",
    "Failed authentications (401), by reason (missing, malformed, expired, bad_signature, ...).",
    ["reason"],
)
INGESTED_RECORDS = Counter(
    "analytics_ingested_records",
    "Records sent to ingestion (endpoints and import commands), accepted or rejected, per dataset.",
    ["dataset", "outcome"],
)
TASKS = Counter(
    "analytics_tasks",
    "django-q2 tasks run by the workers, by task function and outcome (success, failure).",
    ["task", "outcome"],
)
TASK_SECONDS = Histogram(
    "analytics_task_duration_seconds", "Run time of django-q2 tasks, by task function.", ["task"],
    buckets=TASK_BUCKETS,
)
FETCH_ATTEMPTS = Counter(
    "analytics_recording_fetch_attempts",
    "Recording fetch attempts by outcome: stored, or the kind of failure (missing, refused, transient, "
    "cut, upload, error, not_audio, abandoned).",
    ["outcome"],
)
DEPENDENCY_ERRORS = Counter(
    "analytics_dependency_errors",
    "Errors reaching a backing service (database, redis) that made a request answer 503.",
    ["dependency"],
)
EXPORT_ROWS = Counter(
    "analytics_export_rows", "Rows written by export jobs, per dataset and format.", ["dataset", "format"]
)
EXPORT_JOBS_FINISHED = Counter(
    "analytics_export_jobs_finished",
    "Export jobs that ended, per dataset and final state (completed, failed, cancelled).",
    ["dataset", "state"],
)

StateRows = Mapping[tuple[str, ...], float]


class StateGauge:
    """A gauge computed at scrape time by the function an app attaches with :meth:`source`.

    ``needs``: the backing services its query uses (``analytics_dependency_up`` labels); while one
    of them is down the gauge is left out, so that a scrape never waits on a dead server's timeout
    twice (Prometheus would then see the whole target down instead of the dependency).
    """

    def __init__(
        self, name: str, documentation: str, labels: Iterable[str] = (), *, needs: tuple[str, ...] = ("database",)
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = list(labels)
        self.needs = needs
        self.read: Callable[[], StateRows] | None = None
        self.rows: StateRows = {}
        STATE_GAUGES.append(self)

    def source(self, read: Callable[[], StateRows]) -> Callable[[], StateRows]:
        self.read = read
        return read

    def collect(self) -> Iterator[Metric]:
        if self.read is None:
            return
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        try:
            rows = self.rows = self.read()
        except Exception as error:  # a scrape must still answer when one source's backend is down
            logger.warning("Metric %s not collected: %s: %s", self.name, type(error).__name__, error)
            return
        for labels, value in sorted(rows.items()):
            family.add_metric(list(labels), value)
        yield family


STATE_GAUGES: list[StateGauge] = []

# First: the gauges after it are skipped while a service they need is down.
DEPENDENCY_UP = StateGauge(
    "analytics_dependency_up",
    "1 when a backing service (database, replica, redis, storage) answers the readiness check, else 0.",
    ["dependency"],
    needs=(),
)
TASK_QUEUE_DEPTH = StateGauge(
    "analytics_task_queue_depth", "django-q2 tasks waiting in the broker's queue.", needs=("database", "redis")
)
RECORDINGS = StateGauge("analytics_recordings", "Recordings by state.", ["state"])
EXPORT_JOBS = StateGauge("analytics_export_jobs", "Export jobs by state.", ["state"])
CHANGE_FEED_LAG = StateGauge(
    "analytics_change_feed_lag_seconds", "Age of the change feed's completeUpTo, per dataset.", ["dataset"]
)
QA_DAY_COUNTS_BEHIND = StateGauge(
    "analytics_qa_day_counts_behind_seconds",
    "Age of the oldest write of Quality AI contacts not yet in the kept day counts (0: none).",
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def ingestion_count(*, dataset: str, records: int, rejected: int) -> None:
    """Count a batch of ``records`` records sent to ``dataset``'s ingestion, ``rejected`` of them refused."""
    INGESTED_RECORDS.labels(dataset=dataset, outcome="accepted").inc(records - rejected)
    INGESTED_RECORDS.labels(dataset=dataset, outcome="rejected").inc(rejected)


def task_name(func: Any) -> str:
    """A task's function as a dotted path (django-q2 tasks are queued by path or by function)."""
    if isinstance(func, str):
        return func
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(func).__name__)}"


@cache
def task_broker() -> Any:
    """The django-q2 broker, made once per process (its Redis client keeps a connection pool)."""
    return get_broker()


@TASK_QUEUE_DEPTH.source
def _queue_depth() -> StateRows:
    return {(): float(task_broker().queue_size() or 0)}


class _EventFiles:
    """The event metrics of every process writing to the multiprocess directories, summed."""

    def __init__(self, directories: list[str]) -> None:
        self.directories = directories

    def collect(self) -> Iterable[Metric]:
        files = [path for directory in self.directories for path in glob.glob(os.path.join(directory, "*.db"))]
        return MultiProcessCollector.merge(files, accumulate=True)


class _InProcess:
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _States:
    def collect(self) -> Iterator[Metric]:
        DEPENDENCY_UP.rows = {}
        for gauge in STATE_GAUGES:
            down = {labels[0] for labels, value in DEPENDENCY_UP.rows.items() if not value}
            if not down.intersection(gauge.needs):
                yield from gauge.collect()


def metrics_exposition() -> bytes:
    """The Prometheus text exposition: event metrics (every process's), then the state gauges."""
    registry = CollectorRegistry(auto_describe=False)
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own:
        # A directory named twice (the same volume read twice) would count its files twice.
        directories = list(dict.fromkeys(os.path.realpath(path) for path in [own, *settings.METRICS_READ_DIRS]))
        registry.register(_EventFiles(directories))
    else:
        registry.register(_InProcess())
    registry.register(_States())
    return generate_latest(registry)
