"""``make drill-slowloris``: slow clients against the production layout, health probes throughout.

The stack is the documented one (docker-compose.yml) on loopback ports: Debian's nginx with the
committed server block (``deploy/api.conf.template``, run by :mod:`harness.nginx` from a private
prefix; installed with apt-get when missing) in front of gunicorn with the production
configuration (``analytics_api/server/gunicorn_conf.py``), a scratch PostgreSQL database and a private
Redis. Phases, each ``DRILL_PHASE_S`` seconds (default 30):

1. ``baseline``: health probes through nginx, nothing else;
2. ``nginx``: ``DRILL_SLOW_SOCKETS`` (default 300) slow-header, as many slow-body and as many
   silent sockets held open against nginx — each one that the server closes is re-opened at once,
   as an attacker would — while health probes go through nginx;
3. ``gunicorn``: ``DRILL_DIRECT_SOCKETS`` (default 8) of each kind straight at gunicorn (the
   ``make run`` layout, no nginx), probes straight at gunicorn too.

Pass criteria (exit 1 otherwise), results in ``tools/drills/results/slowloris-latest.json``:

- every probe of every phase answered 200, and the slowest within ``PROBE_LIMIT_S``;
- the slow sockets were really held: in the attack phases, the slow-header sockets were cut by the
  server's header timeout (nginx 10 s, gunicorn ``WEB_HEADER_TIMEOUT``), not earlier and not never;
- no error or traceback in gunicorn's log.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.drills.backends import PrivateRedis
from tools.drills.client import call
from tools.drills.records import INGEST_INTERACTIONS
from tools.drills.report import Report, log_markers
from tools.drills.stack import ACCOUNT_ID, ORG_ID, app_env, client_create
from tools.harness.nginx import Nginx, nginx_install
from tools.harness.pg import ADMIN_URL, migrate, scratch_database
from tools.harness.server import Gunicorn, manage

NGINX_HEADER_TIMEOUT_S = 10  # deploy/api.conf.template: client_header_timeout
DIRECT_HEADER_TIMEOUT_S = 5  # WEB_HEADER_TIMEOUT given to gunicorn in this drill
PROBE_INTERVAL_S = 0.1
PROBE_LIMIT_S = 2.0


@dataclass(frozen=True)
class SlowlorisSettings:
    phase_s: float
    slow_sockets: int
    direct_sockets: int
    workers: int
    trickle_interval_s: float = 1.0

    @classmethod
    def from_env(cls) -> SlowlorisSettings:
        return cls(
            phase_s=float(os.environ.get("DRILL_PHASE_S") or 30),
            slow_sockets=int(os.environ.get("DRILL_SLOW_SOCKETS") or 300),
            direct_sockets=int(os.environ.get("DRILL_DIRECT_SOCKETS") or 8),
            workers=int(os.environ.get("DRILL_WORKERS") or 2),
        )


@dataclass
class _Slow:
    sock: socket.socket
    kind: str
    opened: float
    connected: bool = False


@dataclass
class Swarm:
    """Slow sockets of three kinds, kept at ``count`` each, driven by one thread with a selector.

    ``header``: a request head sent one byte per ``interval_s``, never finished; ``body``: a full
    head announcing a 1 MB body sent one byte per ``interval_s``; ``silent``: connects, sends
    nothing. A socket the server closes is counted (with its lifetime) and replaced at once.
    """

    port: int
    count: int
    interval_s: float
    token: str
    lifetimes: dict[str, list[float]] = field(default_factory=lambda: {"header": [], "body": [], "silent": []})
    opened: int = 0
    connect_failures: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)
        self._selector = selectors.DefaultSelector()
        self._sockets: list[_Slow] = []

    def _head(self, kind: str) -> bytes:
        if kind == "body":
            return (f"POST {INGEST_INTERACTIONS} HTTP/1.1\r\nHost: localhost\r\nauth: {self.token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n").encode()
        if kind == "header":
            return b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n"
        return b""

    def _open(self, kind: str) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        slow = _Slow(sock=sock, kind=kind, opened=time.monotonic())
        self._sockets.append(slow)
        self._selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, slow)
        self.opened += 1

    def _close(self, slow: _Slow, *, by_server: bool) -> None:
        self._selector.unregister(slow.sock)
        slow.sock.close()
        self._sockets.remove(slow)
        if by_server and slow.connected:
            self.lifetimes[slow.kind].append(time.monotonic() - slow.opened)
        elif by_server:
            self.connect_failures += 1
        if not self._stop.is_set():
            self._open(slow.kind)

    def _run(self) -> None:
        for kind in ("header", "body", "silent"):
            for _ in range(self.count):
                self._open(kind)
        next_trickle = time.monotonic() + self.interval_s
        while not self._stop.is_set():
            for key, events in self._selector.select(timeout=0.2):
                slow: _Slow = key.data
                if events & selectors.EVENT_WRITE and not slow.connected:
                    if slow.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        self._close(slow, by_server=True)
                        continue
                    slow.connected = True
                    slow.opened = time.monotonic()
                    self._selector.modify(slow.sock, selectors.EVENT_READ, slow)
                    try:
                        slow.sock.send(self._head(slow.kind))
                    except OSError:
                        self._close(slow, by_server=True)
                    continue
                if events & selectors.EVENT_READ:
                    try:
                        data = slow.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:  # closed by the server (an answer, if any, came before)
                        self._close(slow, by_server=True)
            if time.monotonic() >= next_trickle:
                next_trickle += self.interval_s
                for slow in list(self._sockets):
                    if slow.connected and slow.kind != "silent":
                        try:
                            slow.sock.send(b"X" if slow.kind == "header" else b" ")
                        except BlockingIOError:
                            pass
                        except OSError:
                            self._close(slow, by_server=True)
        for slow in list(self._sockets):
            self._selector.unregister(slow.sock)
            slow.sock.close()
        self._sockets.clear()

    def held(self) -> int:
        return sum(1 for slow in self._sockets if slow.connected)

    def __enter__(self) -> Swarm:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 1)

    return {"p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


def probe(base_url: str, duration_s: float) -> dict[str, Any]:
    """Health requests one after another for ``duration_s``: statuses and latency percentiles."""
    latencies: list[float] = []
    failures: list[str] = []
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        answer = call(base_url, "GET", "/api/health", timeout_s=30)
        latencies.append(answer.latency_s)
        if answer.status != 200:
            failures.append(f"{answer.status} {answer.error or answer.body[:100]!r}")
        time.sleep(PROBE_INTERVAL_S)
    return {"probes": len(latencies), "failures": len(failures), "first_failures": failures[:5],
            "latency": percentiles(latencies), "slowest_s": round(max(latencies, default=0), 3)}


def attack(report: Report, name: str, *, base_url: str, port: int, count: int, settings: SlowlorisSettings,
           token: str, header_timeout_s: float) -> None:
    """One attack phase: the swarm against ``port``, probes against ``base_url``; checks recorded."""
    with Swarm(port=port, count=count, interval_s=settings.trickle_interval_s, token=token) as swarm:
        time.sleep(1.0)  # every socket connected and sending
        held_at_start = swarm.held()
        result = probe(base_url, settings.phase_s)
        held_at_end = swarm.held()
    cut = swarm.lifetimes["header"]
    result["slow_sockets"] = {
        "per_kind": count, "held_at_start": held_at_start, "held_at_end": held_at_end,
        "opened_in_all": swarm.opened, "connect_failures": swarm.connect_failures,
        "closed_by_server": {kind: len(times) for kind, times in swarm.lifetimes.items()},
        "header_lifetime_s": {key.removesuffix("_ms"): round(value / 1000, 2)
                              for key, value in percentiles(cut).items()},
    }
    report.data["phases"][name] = result
    print(f"[slowloris] {name}: {result['probes']} probes, {result['failures']} failed, "
          f"latency {result['latency']}, sockets {result['slow_sockets']}", flush=True)
    report.check(f"{name}: every health probe answered 200 within {PROBE_LIMIT_S:g} s",
                 result["failures"] == 0 and result["slowest_s"] <= PROBE_LIMIT_S,
                 f"{result['probes']} probes, {result['failures']} failures {result['first_failures']}, "
                 f"slowest {result['slowest_s']} s, {result['latency']}")
    early = [seconds for seconds in cut if seconds < header_timeout_s - 1]
    late = [seconds for seconds in cut if seconds > header_timeout_s + 3]
    report.check(f"{name}: {3 * count} slow sockets held, slow heads cut at the {header_timeout_s:g} s header timeout",
                 held_at_start >= 3 * count * 0.95 and bool(cut) and not early and not late,
                 f"held {held_at_start} at start, {held_at_end} at end; slow heads cut: {len(cut)}, "
                 f"lifetimes {result['slow_sockets']['header_lifetime_s']}; "
                 f"cut too early: {len(early)}, too late: {len(late)}")


def main() -> int:
    """Run the slowloris drill; the exit code says whether every criterion held.

    1. nginx installed if missing; private Redis, scratch database, migrate, the drill's account
       and an ingest client (the slow bodies are authenticated, so they would reach a view).
    2. gunicorn (production configuration, ``WEB_HEADER_TIMEOUT`` shortened to 5 s so that the
       direct phase sees it), nginx in front of it.
    3. The three phases of the module docstring; then gunicorn's log is checked.
    """
    settings = SlowlorisSettings.from_env()
    report = Report("slowloris", settings=asdict(settings))
    report.data["phases"] = {}
    nginx_install()
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drill-slowloris-")))
        redis = stack.enter_context(PrivateRedis())
        admin_url = os.environ.get("DRILL_ADMIN_URL") or ADMIN_URL
        database_url = stack.enter_context(scratch_database(admin_url=admin_url, prefix="drill_slowloris"))
        env = app_env(database_url=database_url, redis_url=redis.url(), var_dir=var_dir,
                      WEB_HEADER_TIMEOUT=str(DIRECT_HEADER_TIMEOUT_S))
        migrate(database_url, env=env)
        manage(env, "create_account", ACCOUNT_ID, "--org", ORG_ID, "--name", "Slowloris drill")
        token = client_create(env, name="slowloris", scopes=["ingest"], ttl_s=3600).token
        server = stack.enter_context(Gunicorn(env=env, workers=settings.workers))
        proxy = stack.enter_context(Nginx(upstream=f"127.0.0.1:{server.port}"))
        print(f"[slowloris] nginx {proxy.base_url} -> gunicorn {server.base_url} ({settings.workers} workers)",
              flush=True)

        baseline = probe(proxy.base_url, settings.phase_s)
        report.data["phases"]["baseline"] = baseline
        print(f"[slowloris] baseline: {baseline['probes']} probes, latency {baseline['latency']}", flush=True)
        report.check("baseline: every health probe answered 200", baseline["failures"] == 0,
                     f"{baseline['probes']} probes, {baseline['failures']} failures, {baseline['latency']}")
        attack(report, "nginx", base_url=proxy.base_url, port=proxy.port, count=settings.slow_sockets,
               settings=settings, token=token, header_timeout_s=NGINX_HEADER_TIMEOUT_S)
        attack(report, "gunicorn", base_url=server.base_url, port=server.port, count=settings.direct_sockets,
               settings=settings, token=token, header_timeout_s=DIRECT_HEADER_TIMEOUT_S)
        logs = log_markers(server.stderr_path)
        report.data["log_markers"] = logs
        report.check("no error or traceback logged by gunicorn", not sum(logs.values()), str(logs))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
