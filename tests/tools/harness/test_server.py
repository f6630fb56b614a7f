"""Gunicorn and Qcluster come up with the given environment, report their processes, stop cleanly."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import psutil
import pytest

from tools.harness.pg import sqlite_app_env
from tools.harness.server import Gunicorn, Qcluster, error_records, process_env


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database of its own: the harness runs the app as a separate process."""
    return sqlite_app_env(tmp_path, Q_WORKERS="1")


def test_the_environment_is_the_callers_and_debug_is_always_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://leaked@elsewhere/db")
    env = process_env({"VAR_DIR": "/tmp/x", "DJANGO_DEBUG": "true"})
    assert "DATABASE_URL" not in env
    assert (env["VAR_DIR"], env["DJANGO_DEBUG"]) == ("/tmp/x", "false")


def test_gunicorn_serves_health_reports_its_workers_and_stops(app_env: dict[str, str]) -> None:
    with Gunicorn(env=app_env, workers=2) as server:
        with urllib.request.urlopen(f"{server.base_url}/api/health", timeout=5) as answer:
            assert (answer.status, json.loads(answer.read())) == (200, {"status": "ok"})
        pids = server.pids()
        assert len(pids) == 3 and server.worker_pids() == pids[1:]
        sizes = server.rss_mb()
        assert set(sizes) == set(pids) and all(10 < size < 1000 for size in sizes.values())
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)


def test_gunicorn_that_cannot_start_says_why(tmp_path: Path) -> None:
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": "mysql://nope"}
    with pytest.raises(RuntimeError, match="DATABASE_URL must start with") as failure:
        with Gunicorn(env=env, workers=1, startup_timeout_s=20):
            pass
    assert "stderr tail" in str(failure.value)


def test_an_error_inside_the_block_carries_the_servers_log(app_env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="a figure failed") as failure:
        with Gunicorn(env=app_env, workers=1):
            raise ValueError("a figure failed")
    (note,) = failure.value.__notes__
    assert note.startswith("gunicorn stderr tail:\n") and "Booting worker" in note


def test_error_records_are_kept_with_their_traceback_however_many_lines_follow(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    access = "2026-12-07 11:26:48,513 INFO analytics_api.access [r-{n}] POST queryConversations 200 4.0 ms\n"
    failure = (
        "2026-12-07 11:26:40,001 ERROR analytics_api.kernel.errors [r-x] Unhandled exception in SearchView\n"
        "Traceback (most recent call last):\n"
        '  File "search/engines.py", line 1, in rank\n'
        "ValueError: boom\n"
    )
    gunicorn_error = "[2026-12-07 11:26:50 +0000] [14314] [ERROR] Worker (pid:14317) was sent SIGKILL!\n"
    lines = [access.format(n=n) for n in range(5000)]
    log.write_text("".join(lines[:10]) + failure + "".join(lines[10:]) + gunicorn_error + "".join(lines[:3]))

    assert error_records(log) == failure + gunicorn_error
    assert error_records(log, limit=40) == gunicorn_error[-40:]
    assert error_records(tmp_path / "missing.log") == ""


def test_qcluster_starts_its_workers_and_stops(app_env: dict[str, str]) -> None:
    with Qcluster(env=app_env) as cluster:
        workers = cluster.worker_pids()
        assert len(workers) == 1
        # main, sentinel, one worker, monitor, pusher
        assert len(cluster.pids()) == 5 and set(workers) <= set(cluster.pids())
        assert set(cluster.rss_mb()) == set(cluster.pids())
        everything = cluster.pids()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in everything)
