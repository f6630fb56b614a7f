"""``make run``'s entry point (``python -m analytics_api.server.serve``): Ctrl-C stops every process it started.

The terminal's Ctrl-C is a SIGINT to the whole foreground process group; the test sends exactly
that, once while the servers are still starting (django-q2's sentinel and workers used to outlive
it for good) and once when both are up, then looks for any process left of the run by a marker in
its environment, which every descendant inherits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from tools.harness.pg import sqlite_app_env
from tools.harness.server import free_port, process_env

ROOT = Path(__file__).resolve().parents[2]


def _left_over(marker: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("SERVE_TEST_MARKER") == marker:
                found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/api/health", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def _qcluster_running(marker: str) -> bool:
    # The sentinel, pusher, monitor and workers are forked by `manage.py qcluster`: more than one.
    return sum("qcluster" in line for line in _left_over(marker)) >= 3


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    return sqlite_app_env(tmp_path, Q_WORKERS="2", WEB_CONCURRENCY="2")


@pytest.mark.parametrize("moment", ["while_starting", "when_running"])
def test_ctrl_c_stops_gunicorn_qcluster_and_all_their_children(serve_env: dict[str, str], moment: str) -> None:
    marker = uuid.uuid4().hex
    port = free_port()
    env = {**process_env(serve_env), "BIND": f"127.0.0.1:{port}", "SERVE_TEST_MARKER": marker}
    run = subprocess.Popen(
        [sys.executable, "-m", "analytics_api.server.serve"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        if moment == "while_starting":
            # The first process qcluster forks: the cluster is part-way through its start-up.
            deadline = time.monotonic() + 60
            while sum("qcluster" in line for line in _left_over(marker)) < 2:
                assert time.monotonic() < deadline, "qcluster did not start within 60 s"
                time.sleep(0.02)
        else:
            deadline = time.monotonic() + 60
            while not (_healthy(f"http://127.0.0.1:{port}") and _qcluster_running(marker)):
                assert time.monotonic() < deadline, "the servers did not come up within 60 s"
                time.sleep(0.25)

        os.killpg(run.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        stopped = time.monotonic()
        run.wait(timeout=20)
        while _left_over(marker) and time.monotonic() - stopped < 20:
            time.sleep(0.2)
        took = time.monotonic() - stopped

        assert _left_over(marker) == []
        assert took < 10, f"stopping took {took:.1f} s"
    finally:
        for line in _left_over(marker):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def _metrics_dirs(marker: str) -> dict[str, str]:
    """Each server process of the run (gunicorn's, qcluster's) → the PROMETHEUS_MULTIPROC_DIR it was given."""
    found = {}
    for process in psutil.process_iter(["pid"]):
        try:
            environ, command = process.environ(), " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if environ.get("SERVE_TEST_MARKER") == marker and ("gunicorn" in command or "qcluster" in command):
            found[f"{process.pid} {command}"] = environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return found


def test_gunicorn_and_qcluster_share_one_fresh_metrics_directory_removed_at_exit(serve_env: dict[str, str]) -> None:
    marker = uuid.uuid4().hex
    port = free_port()
    env = {**process_env(serve_env), "BIND": f"127.0.0.1:{port}", "SERVE_TEST_MARKER": marker}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "analytics_api.server.serve"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (_healthy(f"http://127.0.0.1:{port}") and _qcluster_running(marker)):
            assert time.monotonic() < deadline, "the servers did not come up within 60 s"
            time.sleep(0.25)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert answer.status == 200
        dirs = _metrics_dirs(marker)
        [directory] = set(dirs.values())
        assert any("gunicorn" in command for command in dirs) and any("qcluster" in command for command in dirs)
        assert Path(directory).is_dir() and oct(Path(directory).stat().st_mode & 0o777) == "0o700"
        assert list(Path(directory).glob("counter_*.db"))  # the requests above
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=20)
        assert not Path(directory).exists()
    finally:
        for line in _left_over(marker):
            os.kill(int(line.split()[0]), signal.SIGKILL)
