"""gunicorn's configuration, the one used by ``make run``, the Docker image and the drills.

Run as ``gunicorn -c python:analytics_api.server.gunicorn_conf analytics_api.wsgi:application``; options
given on the command line after it take precedence. Environment variables:

- ``BIND`` (default ``127.0.0.1:8000``; the image sets ``0.0.0.0:8000``);
- ``WEB_CONCURRENCY`` worker processes (default 2), ``WEB_THREADS`` threads each (default 16);
- ``WEB_HEADER_TIMEOUT`` seconds for a request's line and headers, from their first byte
  (default 10), ``WEB_BODY_TIMEOUT`` seconds for its body and for each write of the response
  (default 60: 16 MiB at 280 KB/s);
- ``WEB_ACCESS_LOG``: gunicorn's own line per request on stdout (default true; false with
  ``LOG_FORMAT=json``, where the application's ``analytics_api.access`` line says more);
- ``LOG_FORMAT=json``: gunicorn's own lines (start-up, worker exits) as JSON objects too;
- ``PROMETHEUS_MULTIPROC_DIR``: where the workers keep their metrics (docs/contract.md#metrics);
  when unset, a private temporary directory made here and removed when gunicorn exits.

Why threads: gunicorn's default ``sync`` worker reads each connection in the worker itself, with
no time limit, so two clients sending headers slowly stopped ``make run`` (two workers). The
threaded worker of :mod:`analytics_api.server.gunicorn_worker` waits for a connection's first byte in a
poller (a connection that sends nothing holds no thread and is closed after ``keepalive``), bounds
each read phase, and accepts only while it has a free thread.

The limit that remains: a client sending its request slowly holds a thread for up to
``WEB_HEADER_TIMEOUT`` (head) or ``WEB_BODY_TIMEOUT`` (body). More such connections than
``workers × threads`` (32 for ``make run``, 32 in the image), re-opened without pause, delay other
requests by up to those timeouts; and a worker holds at most ``worker_connections`` (1000)
connections. Exposed to the internet, put nginx in front (``deploy/``, ``docker-compose.yml``):
it buffers whole requests before gunicorn sees them (``make drill-slowloris`` measures both).

Database connections: each thread keeps its own PostgreSQL connection for ``DB_CONN_MAX_AGE``
seconds, so a web container may hold ``workers × threads`` of them; with several containers, keep
the sum (plus the qcluster's) under PostgreSQL's ``max_connections``. The most recently idle thread
takes the next request (:mod:`analytics_api.server.thread_pool`), so the connections in use follow
the concurrency: at low load a few warm ones serve everything, and a thread idle for
``DB_CONN_MAX_AGE`` seconds ends and closes its connection.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from analytics_api.kernel.collector import collector_freeze
from analytics_api.settings import DATABASES, env_bool, env_int

# Metrics in multiprocess mode: the directory must be in the environment before prometheus-client
# is first imported in this process (it picks its storage on import), so that every worker forked
# from here writes its own files there and /metrics, answered by any worker, sums them all.
_OWN_METRICS_DIR = "" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else tempfile.mkdtemp(prefix="analytics-metrics-")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import multiprocess  # noqa: E402 — only once the directory is set

bind = [os.environ.get("BIND") or "127.0.0.1:8000"]
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
worker_class = "analytics_api.server.gunicorn_worker.Worker"
threads = env_int("WEB_THREADS", 16, minimum=1)
# Connections a worker holds at once, idle and kept-alive ones included; past it, it stops accepting.
worker_connections = 1000
# A worker silent for this long (a request stuck in the application) is killed and replaced.
timeout = 60
graceful_timeout = 20
# Seconds an idle kept-alive connection (or one that connected and sent nothing) is kept.
keepalive = 5
# gunicorn's defaults, stated: past them it answers 414 or 431 (behind nginx, its own
# large_client_header_buffers 4 8k answers first).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# gunicorn >= 25 opens a control socket in $HOME by default: nothing here uses it, and two servers
# of one user (tests, drills) would share its path.
control_socket_disable = True

# Files (recording downloads) go out through the socket's bounded writes too, not sendfile(2),
# which would block on a client that stops reading with no time limit.
sendfile = False

_JSON_LOGS = os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json"
accesslog = "-" if env_bool("WEB_ACCESS_LOG", not _JSON_LOGS) else None
if _JSON_LOGS:
    # Merged by gunicorn over its defaults: its loggers write through the application's formatter.
    logconfig_dict = {
        "formatters": {"json": {"()": "analytics_api.logs.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }

# Read by analytics_api.server.gunicorn_worker (gunicorn has no setting for them).
# An idle request thread ends after as long as a database connection may live, and closes its
# own: Django closes an old connection only when its thread serves a request. At least 1 s: on
# SQLite (no CONN_MAX_AGE, a connection per request) an idle thread holds nothing worth keeping.
thread_idle_timeout = max(DATABASES["default"].get("CONN_MAX_AGE") or 0, 1)
header_timeout = env_int("WEB_HEADER_TIMEOUT", 10, minimum=1)
body_timeout = env_int("WEB_BODY_TIMEOUT", 60, minimum=1)


def post_worker_init(worker: Any) -> None:
    """The worker has loaded the application: freeze it (kernel.collector; a request with a large
    body raises the collector's thresholds while it is served)."""
    collector_freeze()


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its live gauges go (its counters and histograms stay in the sums)."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
