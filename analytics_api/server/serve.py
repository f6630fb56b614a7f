"""``make run``: gunicorn and the django-q2 worker side by side; Ctrl-C (or SIGTERM) stops both.

Stopping, step by step:

1. Each server runs in a process group (a session) of its own, so the terminal's Ctrl-C reaches
   this supervisor alone and never catches a server half-way through its start-up, before it has
   installed its own signal handlers (django-q2's sentinel and workers then lived on for good).
2. On SIGINT/SIGTERM/SIGHUP, or when either server exits, the supervisor asks both to stop: SIGINT
   to gunicorn (its quick shutdown), SIGTERM to qcluster (its graceful stop).
3. Whatever is still alive after ``STOP_GRACE_SECONDS`` (or at a second Ctrl-C) is killed with its
   whole process group: qcluster's sentinel, pusher, monitor and workers included.

Metrics: both servers get one ``PROMETHEUS_MULTIPROC_DIR`` (docs/contract.md#metrics), so that
``/metrics`` sums the gunicorn workers and the django-q2 workers. Unless the operator names one,
it is a fresh private directory, removed at exit; one they name is emptied at start, since the
counts of an earlier run belong to processes that are gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STOP_GRACE_SECONDS = 5.0


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _metrics_dir() -> tuple[Path, bool]:
    """The multiprocess metrics directory of this run, and whether it was made here."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        return Path(tempfile.mkdtemp(prefix="analytics-metrics-")), True
    directory = Path(given)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory, False


def main() -> int:
    metrics_dir, made = _metrics_dir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    try:
        return _supervise(env)
    finally:
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(env: dict[str, str]) -> int:
    # Workers, threads, timeouts and BIND: analytics_api/server/gunicorn_conf.py (the image uses it too).
    servers = [
        ([sys.executable, "-m", "gunicorn", "-c", "python:analytics_api.server.gunicorn_conf",
          "analytics_api.wsgi:application"], signal.SIGINT),
        ([sys.executable, "manage.py", "qcluster"], signal.SIGTERM),
    ]
    processes = [subprocess.Popen(command, start_new_session=True, env=env) for command, _ in servers]
    stop_signals = [sig for _, sig in servers]
    stopping: list[float] = []

    def stop(signum: int = 0, _frame: object = None) -> None:
        if stopping and signum == signal.SIGINT:
            stopping[0] = 0.0  # a second Ctrl-C: kill now
            return
        if not stopping:
            stopping.append(time.monotonic())
            for process, sig in zip(processes, stop_signals, strict=True):
                if process.poll() is None:
                    process.send_signal(sig)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)

    # When either process exits, stop the other: a half-running service is worse than none.
    while all(process.poll() is None for process in processes) and not stopping:
        time.sleep(0.2)
    stop()
    while any(process.poll() is None for process in processes):
        if time.monotonic() - stopping[0] > STOP_GRACE_SECONDS:
            break
        time.sleep(0.1)
    # The groups may still hold children of a server that exited (qcluster's workers): kill them all.
    for process in processes:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
