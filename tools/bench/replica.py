"""Issue 18's figure: reads at concurrency 8 served with one streaming replica vs the primary alone.

Usage: ``python -m tools.bench.replica [--quick] [--interactions N] [--runs R] [--seconds S] [--workers W]
[--json PATH]``; ``make bench`` runs it as the ``replica`` figure (in a process of its own, because it
points Django at servers of its own).

1. A private primary (``initdb`` on a free loopback port, tools/drills/backends.py; the shared server's
   configuration is never touched) with the benchmark data set of one account (tools/bench/dataset.py,
   conversation content included), smaller than the main figures' (200,000 interactions; quick 20,000):
   the figure compares routing, not data sizes, and loading it twice would double the run.
2. A streaming standby of it (``pg_basebackup -R``), waited for until it has replayed everything.
3. Two gunicorn servers with the same configuration and workers, one of them with
   ``DATABASE_REPLICA_URLS`` naming the standby (analytics_api/replicas.py routes the read endpoints
   there). The runs alternate between the two servers, so that a noisy neighbour hits both.
4. For each read (interactionDetails, the conversation query): wrk at c8 on each server, requests/s;
   and, in the routed runs, the standby's share of the database's transactions (``pg_stat_database``
   on both servers: reads of the account and client stay on the primary by design).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tools.harness.server import Gunicorn
from tools.harness.wrk import WrkRequest, ensure_wrk, run_wrk

DATABASE = "bench"


def _transactions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [DATABASE]
        ).fetchone()
    return int(row[0]) if row else 0


def _requests(*, account: Any, token: str, window_end: datetime) -> list[tuple[str, WrkRequest]]:
    """interactionDetails (a week, page 0) and the conversation query (7 days, a status filter, 25 rows)."""
    last_day = (window_end - timedelta(days=1)).date()
    week = {"startDate": str(last_day - timedelta(days=6)), "endDate": str(last_day), "timeZoneOffset": 0}
    headers = {"auth": token, "Content-Type": "application/json"}
    start = window_end - timedelta(days=7)
    query = {"startDate": start.strftime("%Y-%m-%d %H:%M:%S"), "endDate": window_end.strftime("%Y-%m-%d %H:%M:%S"),
             "filters": {"status": ["completed"]}, "limit": 25}
    return [
        ("interactionDetails week, page 0 (100 records)", WrkRequest(
            "POST", f"/agentassist/api/public/analytics/account/{account.account_id}/v2/interactionDetails"
            "?limit=100&offset=0", headers, orjson.dumps(week),
        )),
        ("conversations/query, 7 days, status filter, 25 rows",
         WrkRequest("POST", "/api/v1/conversations/query", headers, orjson.dumps(query))),
    ]


def _rate(server: Gunicorn, request: WrkRequest, seconds: float) -> float:
    result = run_wrk(base_url=server.base_url, requests=[request], connections=8, threads=2, duration_s=seconds)
    if set(result.status_counts) != {200} or result.socket_errors:
        raise RuntimeError(f"{request.path}: statuses {result.status_counts}, socket errors {result.socket_errors}")
    return result.rps


def replica_figure(*, interactions: int, runs: int, seconds: float, workers: int) -> dict[str, Any]:
    """Steps 1–4 of the module's docstring; the figure as plain data (Stats as dicts)."""
    import django

    from tools.drills.backends import PrivatePostgres, PrivateStandby
    from tools.harness.pg import migrate

    window_end = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="bench-replica-", ignore_cleanup_errors=True) as var_dir,
        PrivatePostgres() as primary,
    ):
        env = {"SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50), "VAR_DIR": var_dir}
        url = primary.create_database(DATABASE)
        migrate(url, env=env)
        os.environ.update(env, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tools.bench.settings", DJANGO_DEBUG="false")
        django.setup()
        # Django must be set up before the modules that import models.
        from django.db import connection

        from tools.bench.dataset import Scale, accounts_ensure, dataset_load
        from tools.bench.report import Stat
        from tools.bench.suite import bench_client

        scale = Scale(interactions=interactions, qa_contacts=1_000, accounts=1, templates=600, content=True)
        began = time.perf_counter()
        dataset_load(url=url, scale=scale, window_end=window_end)
        loaded = time.perf_counter() - began
        account = accounts_ensure(scale)[0]
        token = bench_client(account=account)[1]
        connection.close()
        with PrivateStandby(primary) as standby:
            standby.wait_caught_up(timeout_s=300)
            standby_url = standby.url(DATABASE)
            server_env = {
                **env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tools.bench.settings",
                "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            }
            reads = []
            with (
                Gunicorn(env=server_env, workers=workers) as alone,
                Gunicorn(env={**server_env, "DATABASE_REPLICA_URLS": standby_url}, workers=workers) as routed,
            ):
                for title, request in _requests(account=account, token=token, window_end=window_end):
                    for server in (alone, routed):
                        _rate(server, request, 1.0)  # warm every worker
                    rates: dict[str, list[float]] = {"primary": [], "replica": []}
                    shares = []
                    for _ in range(runs):
                        rates["primary"].append(_rate(alone, request, seconds))
                        before = _transactions(url), _transactions(standby_url)
                        rates["replica"].append(_rate(routed, request, seconds))
                        on_primary = _transactions(url) - before[0]
                        on_standby = _transactions(standby_url) - before[1]
                        shares.append(on_standby / max(1, on_primary + on_standby))
                    reads.append({
                        "title": title,
                        "primary": asdict(Stat.of(rates["primary"])),
                        "replica": asdict(Stat.of(rates["replica"])),
                        "replica_share": statistics.median(shares),
                    })
                    print(f"replica figure, {title}: {statistics.median(rates['primary']):,.0f} req/s alone, "
                          f"{statistics.median(rates['replica']):,.0f} with the replica", flush=True)
    return {
        "dataset": f"1 account × {interactions:,} interactions with content, loaded in {loaded:.0f} s",
        "workers": workers,
        "reads": reads,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.replica", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 interactions instead of 200,000")
    parser.add_argument("--interactions", type=int, help="Interactions of the account (over 30 days)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the Dockerfile's 4)")
    parser.add_argument("--json", type=Path, help="Write the figure there as JSON (make bench reads it)")
    args = parser.parse_args(argv)
    ensure_wrk()
    interactions = args.interactions or (20_000 if args.quick else 200_000)
    figure = replica_figure(interactions=interactions, runs=args.runs, seconds=args.seconds, workers=args.workers)
    if args.json:
        args.json.write_bytes(orjson.dumps(figure))
    else:
        print(orjson.dumps(figure, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
