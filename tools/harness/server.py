"""The production processes — gunicorn and the django-q2 cluster — as context managers.

Each starts from a clean environment: only a few system variables (``PATH``, ``HOME``, locale,
``TMPDIR``) are inherited, then the caller's ``env``, so that a ``DATABASE_URL`` or ``DJANGO_DEBUG``
exported in the shell can never leak into a measurement. Output goes to files in a temporary
directory (a pipe nobody reads would block the server once full); the tail of stderr is quoted
when a process fails to come up, and its error records (a 500's traceback) with the tail when an
error leaves its block.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType

import psutil

REPO = Path(__file__).resolve().parents[2]
# The project's virtualenv when there is one (a checkout), else the interpreter running us (an image).
BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin" / "python").exists() else Path(sys.executable).parent

_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the usual small race with other processes applies)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_env(env: dict[str, str]) -> dict[str, str]:
    """The environment of a child process: a few system variables, production defaults, ``env``."""
    base = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "analytics_api.settings",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    base.update(env)
    # Measurements and drills are of the production configuration: DEBUG is never on.
    base["DJANGO_DEBUG"] = "false"
    return base


def manage(env: dict[str, str], *args: str, timeout_s: float = 600.0) -> str:
    """Run ``manage.py <args>`` in the clean environment ``env``; its stdout, or raise with its output."""
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=REPO, env=process_env(env),
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


def rss_mb(pids: list[int]) -> dict[int, float]:
    """Resident memory per live process, in MiB (processes that exited meanwhile are left out)."""
    sizes: dict[int, float] = {}
    for pid in pids:
        try:
            sizes[pid] = psutil.Process(pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return sizes


# The first line of a log record: the project's text format ("2026-12-07 11:26:48,513 ERROR …"),
# or gunicorn's own ("[2026-12-07 11:26:50 +0000] [14314] [ERROR] …").
_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) |\[[^]]+\] \[\d+\] \[(?P<own>[A-Z]+)\] )"
)


def error_records(path: Path, limit: int = 8000) -> str:
    """The log's ERROR and CRITICAL records with their continuation lines (a traceback), the last
    ``limit`` characters of them. A tail alone misses them: a 500 is counted at the end of a load
    run, by which time thousands of access lines have followed its traceback."""
    # At most `limit` lines: every line has a character, so they hold the last `limit` characters.
    kept: deque[str] = deque(maxlen=limit)
    keeping = False
    try:
        with open(path, errors="replace") as log:
            for line in log:
                record = _RECORD.match(line)
                if record:
                    keeping = (record["level"] or record["own"]) in ("ERROR", "CRITICAL")
                if keeping:
                    kept.append(line)
    except FileNotFoundError:
        return ""
    return "".join(kept)[-limit:]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except FileNotFoundError:
        return ""


class _Managed:
    """A child process group with its log files; stopped with SIGTERM, then SIGKILL."""

    name = "process"

    def __init__(self, *, env: dict[str, str], stop_timeout_s: float) -> None:
        self.env = process_env(env)
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._logs = tempfile.TemporaryDirectory(prefix=f"harness-{self.name}-")
        self.stdout_path = Path(self._logs.name) / "stdout.log"
        self.stderr_path = Path(self._logs.name) / "stderr.log"

    def _spawn(self, command: list[str]) -> None:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # A session of its own: a Ctrl-C meant for the drill must not hit the server mid-measure.
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=out, stderr=err, start_new_session=True
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def stderr_tail(self, limit: int = 4000) -> str:
        return _tail(self.stderr_path, limit)

    def pids(self) -> list[int]:
        """The main process and all its descendants."""
        try:
            main = psutil.Process(self.pid)
            return [main.pid, *(child.pid for child in main.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> dict[int, float]:
        return rss_mb(self.pids())

    def _fail(self, reason: str) -> RuntimeError:
        """Stop and clean up after a failed start (``__exit__`` does not run then)."""
        self.stop()
        error = RuntimeError(f"{self.name} {reason}; stderr tail:\n{self.stderr_tail()}")
        self._logs.cleanup()
        return error

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL for the whole tree after ``stop_timeout_s``."""
        if self.process is None:
            return
        tree = self.pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Children that outlived their parent (killed master, orphaned workers) go too.
        for pid in tree:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                continue
        self.process = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        if error is not None:
            # The process's log goes with its temporary directory: keep its error records (a 500 a
            # figure ran into is explained there, by the server's traceback) and its tail.
            errors = error_records(self.stderr_path)
            if errors:
                error.add_note(f"{self.name} error records:\n{errors}")
            error.add_note(f"{self.name} stderr tail:\n{self.stderr_tail()}")
        self._logs.cleanup()


class Gunicorn(_Managed):
    """``gunicorn analytics_api.wsgi:application`` with the production configuration
    (``analytics_api/server/gunicorn_conf.py``, as the Dockerfile and ``make run``), on a free loopback port.
    ``app`` serves another WSGI application with the same configuration (the benchmark's ceiling); it
    must answer 200 on ``/api/health``.

    Usage::

        with Gunicorn(env={"DATABASE_URL": url, "SECRET_KEY": key}, workers=4) as server:
            run_wrk(base_url=server.base_url, ...)
            print(server.rss_mb())
    """

    name = "gunicorn"

    def __init__(
        self,
        *,
        env: dict[str, str],
        workers: int = 4,
        threads: int | None = None,
        access_log: bool = False,
        startup_timeout_s: float = 60.0,
        app: str = "analytics_api.wsgi:application",
        port: int = 0,
    ) -> None:
        # Past graceful-timeout (20 s) gunicorn kills its workers itself; 5 s more covers the exit.
        super().__init__(env=env, stop_timeout_s=25.0)
        self.workers = workers
        self.threads = threads
        self.access_log = access_log
        self.startup_timeout_s = startup_timeout_s
        self.app = app
        # 0: a free port; a given one lets a restarted server take the place of a dead one.
        self.requested_port = port
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        self.port = self.requested_port or free_port()
        command = [
            str(BIN / "gunicorn"), "-c", "python:analytics_api.server.gunicorn_conf", self.app,
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
        ]
        if self.threads is not None:
            command += ["--threads", str(self.threads)]
        self.env["WEB_ACCESS_LOG"] = "true" if self.access_log else "false"
        self._spawn(command)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise self._fail(f"exited with code {code} before answering /api/health")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/health", timeout=2) as answer:
                    if answer.status == 200:
                        self._wait_workers()
                        return
                    last = f"status {answer.status}"
            except urllib.error.HTTPError as error:
                last = f"status {error.code}"
            except OSError as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.2)
        raise self._fail(f"did not answer 200 on /api/health within {self.startup_timeout_s:.0f} s ({last})")

    def _wait_workers(self) -> None:
        # One worker answering is not all of them booted; memory baselines need every one.
        deadline = time.monotonic() + self.startup_timeout_s
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        return self.pids()[1:]


class Qcluster(_Managed):
    """``manage.py qcluster`` (the django-q2 worker) with the given environment.

    The cluster's tree is: this process → the sentinel → ``Q_WORKERS`` workers, then a monitor and
    a pusher, spawned in that order. Without ``setproctitle`` their command lines are identical,
    so the workers are told apart by spawn order, recorded once at start-up: the monitor and the
    pusher are the two last-born children of the sentinel. A worker killed later is replaced by a
    new one, which ``worker_pids()`` includes; so would be a monitor or pusher the sentinel had to
    restart (after a broker outage) — to find the process doing a given job, look at what it is
    connected to instead (``psutil.Process(pid).net_connections()``).
    """

    name = "qcluster"

    def __init__(self, *, env: dict[str, str], startup_timeout_s: float = 60.0) -> None:
        super().__init__(env=env, stop_timeout_s=30.0)
        self.startup_timeout_s = startup_timeout_s
        self.workers = int(self.env.get("Q_WORKERS") or 2)
        self._auxiliary: set[int] = set()

    def __enter__(self) -> Qcluster:
        self._spawn([str(BIN / "python"), "manage.py", "qcluster"])
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise self._fail("exited during start-up")
            children = self._sentinel_children()
            if len(children) >= self.workers + 2:
                self._auxiliary = {child.pid for child in children[-2:]}
                return self
            time.sleep(0.2)
        raise self._fail(f"did not spawn {self.workers} workers within {self.startup_timeout_s:.0f} s")

    def _sentinel_children(self) -> list[psutil.Process]:
        try:
            sentinels = psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []
        born: list[tuple[float, int, psutil.Process]] = []
        for sentinel in sentinels:
            try:
                for child in sentinel.children():
                    born.append((child.create_time(), child.pid, child))
            except psutil.NoSuchProcess:
                continue  # a process that just died is no longer part of the cluster
        return [child for _, _, child in sorted(born, key=lambda entry: entry[:2])]

    def worker_pids(self) -> list[int]:
        return [child.pid for child in self._sentinel_children() if child.pid not in self._auxiliary]
