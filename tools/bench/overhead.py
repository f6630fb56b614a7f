"""Request overhead alone, in a minute: the no-op endpoint behind the full stack against its ceiling.

Usage: ``python -m tools.bench.overhead [--runs N] [--seconds S] [--workers W]``. No data set: a
scratch PostgreSQL database (``BENCH_ADMIN_URL``) with one account and one client, Redis for the
shared cache (``BENCH_REDIS_URL``, db 14 by default), then, with the production gunicorn
configuration, alternately:

1. a bare WSGI "hello" (``tools/bench/hello.py``): the ceiling;
2. the no-op endpoint behind request ids, security headers, JWT authentication and the rate limit.

Each run is wrk at concurrency 8 for ``--seconds``; the runs alternate between two servers that
stay up, so that a noisy neighbour hits both. Prints the medians and the ratio (target ≥ 0.5), and
the CPU time the server's processes spent per request: on a shared machine, requests/s follow the
neighbours' load, while CPU per request barely does (Redis's own CPU is not counted: the server is
shared). ``make bench`` measures the same pair beside every other figure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile

import django
import psutil

from tools.harness.pg import ADMIN_URL, migrate, scratch_database
from tools.harness.server import Gunicorn
from tools.harness.wrk import WrkRequest, ensure_wrk, run_wrk

HELLO_APP = "tools.bench.hello:application"
NOOP_PATH = "/tools/bench/noop"
TARGET = 0.5


def _cpu_s(server: Gunicorn) -> float:
    total = 0.0
    for pid in server.pids():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _run(server: Gunicorn, request: WrkRequest, seconds: float) -> tuple[float, float]:
    """Requests/s at concurrency 8, and the server's CPU time per request (µs)."""
    cpu_before = _cpu_s(server)
    result = run_wrk(base_url=server.base_url, requests=[request], connections=8, threads=2, duration_s=seconds)
    cpu = _cpu_s(server) - cpu_before
    if set(result.status_counts) != {200} or result.socket_errors:
        raise RuntimeError(f"{request.path}: statuses {result.status_counts}, socket errors {result.socket_errors}")
    return result.rps, cpu / max(result.requests, 1) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.overhead", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the Dockerfile's 4)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: the configuration's)")
    args = parser.parse_args(argv)
    ensure_wrk()
    with (
        tempfile.TemporaryDirectory(prefix="bench-var-", ignore_cleanup_errors=True) as var_dir,
        scratch_database(admin_url=os.environ.get("BENCH_ADMIN_URL", ADMIN_URL), prefix="bench_overhead") as url,
    ):
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir}
        migrate(url, env=env)
        server_env = {
            **env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tools.bench.settings",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        }
        os.environ.update(server_env, DJANGO_DEBUG="false")
        django.setup()
        # Django must be set up before the modules that import models.
        from analytics_api.tenancy.services import account_ensure
        from tools.bench.suite import bench_client

        token = bench_client(account=account_ensure(account_id=secrets.token_hex(12), org_id="o-bench"))[1]
        headers = {"auth": token, "Content-Type": "application/json"}
        noop, hello = WrkRequest("POST", NOOP_PATH, headers, b"{}"), WrkRequest("POST", "/", headers, b"{}")
        rates: dict[str, list[float]] = {"hello": [], "noop": []}
        cpu_us: dict[str, list[float]] = {"hello": [], "noop": []}
        with (
            Gunicorn(env=server_env, workers=args.workers, threads=args.threads, app=HELLO_APP) as hello_server,
            Gunicorn(env=server_env, workers=args.workers, threads=args.threads) as service,
        ):
            for server, request in ((hello_server, hello), (service, noop)):
                _run(server, request, 1.0)  # warm every worker
            for _ in range(args.runs):
                for name, server, request in (("hello", hello_server, hello), ("noop", service, noop)):
                    rps, cpu = _run(server, request, args.seconds)
                    rates[name].append(rps)
                    cpu_us[name].append(cpu)
    for name, title in (("hello", "bare WSGI hello"), ("noop", "no-op behind auth + rate limit")):
        runs = ", ".join(f"{rate:,.0f}" for rate in rates[name])
        print(
            f"{title}: {statistics.median(rates[name]):,.0f} req/s (runs {runs}); "
            f"server CPU {statistics.median(cpu_us[name]):,.0f} µs per request"
        )
    ratio = statistics.median(rates["noop"]) / statistics.median(rates["hello"])
    cpu_ratio = statistics.median(cpu_us["hello"]) / statistics.median(cpu_us["noop"])
    print(f"ratio of req/s {ratio:.2f} (target ≥ {TARGET}) {'✓' if ratio >= TARGET else '✗'}; "
          f"inverse ratio of CPU per request {cpu_ratio:.2f} (what the req/s ratio is on an idle machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
