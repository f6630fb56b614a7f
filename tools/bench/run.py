"""``make bench`` / ``make bench-quick``: the whole benchmark, from an empty database to the report.

Usage: ``python -m tools.bench.run [--quick] [--runs N] [--seconds S] [--figures core,content,...]``.
Everything happens in a scratch PostgreSQL database (created and dropped here), never in a developer's
database: on the server at ``BENCH_ADMIN_URL`` when it is set, otherwise on a private cluster started
for the run (``initdb`` on a free loopback port, removed at the end) and configured as
docs/scale-out.md configures production, a quarter of the machine's memory for shared buffers
(``bench_server_settings``). The replica figure starts private servers of its own
(tools/bench/replica.py).

Figures (``--figures``, default all): core, content, search, feed, overhead, exports, replica
(``tools/bench/report.py`` FIGURE_HELP says what each measures). Only a full run of every figure
rewrites BENCHMARKS.md; a subset writes ``results/latest-<figures>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import django

from tools.bench.overhead import HELLO_APP
from tools.bench.report import FIGURE_HELP, FIGURES, figures_parse, memory_bytes
from tools.drills.backends import PrivatePostgres
from tools.harness.pg import migrate, scratch_database
from tools.harness.server import Gunicorn
from tools.harness.wrk import ensure_wrk

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small data set, one short run per figure")
    parser.add_argument("--runs", type=int, help="Runs per figure (median, min, max); default 3, quick 1")
    parser.add_argument("--seconds", type=float, help="Seconds per wrk run; default 8, quick 3")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the Dockerfile's 4)")
    parser.add_argument(
        "--figures", help="Comma-separated subset, default all: "
        + "; ".join(f"{name}: {text}" for name, text in FIGURE_HELP.items()),
    )
    args = parser.parse_args(argv)
    try:
        figures = figures_parse(args.figures)
    except ValueError as error:
        parser.error(str(error))
    runs = args.runs or (1 if args.quick else 3)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    ensure_wrk()
    with ExitStack() as stack:
        # Removed at the end with everything else the run made (the cluster, the scratch database).
        var_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-var-", ignore_cleanup_errors=True))
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir}
        admin_url = os.environ.get("BENCH_ADMIN_URL")
        if not admin_url:
            cluster = stack.enter_context(PrivatePostgres(settings=bench_server_settings(memory_bytes=memory_bytes())))
            admin_url = cluster.url()
            print(f"Private PostgreSQL on port {cluster.port}: {cluster.settings}", flush=True)
        url = stack.enter_context(scratch_database(admin_url=admin_url, prefix="bench"))
        print(f"Scratch database: {url}", flush=True)
        migrate(url, env=env)
        os.environ.update(env, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tools.bench.settings", DJANGO_DEBUG="false")
        django.setup()
        # Django must be set up before the modules that import models.
        from tools.bench.suite import Suite

        suite = Suite(
            url=url, quick=args.quick, runs=runs, seconds=seconds, window_end=datetime.now(UTC), figures=figures
        )
        suite.prepare()
        # Before the server starts: the export workers and COPY have the database to themselves.
        if "exports" in figures:
            suite.measure_exports()
        server_env = {
            **env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tools.bench.settings",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        }
        if {"core", "content", "search", "feed", "overhead"} & set(figures):
            with Gunicorn(env=server_env, workers=args.workers) as server:
                suite.measure(server)
        if "overhead" in figures:
            # The request-overhead ceiling: a bare WSGI "hello" with the same gunicorn configuration.
            with Gunicorn(env=server_env, workers=args.workers, app=HELLO_APP) as hello:
                suite.measure_hello(hello)
        if "replica" in figures:
            suite.measure_replica(workers=args.workers)
        report = suite.report()
    RESULTS.mkdir(exist_ok=True)
    name = results_name(quick=args.quick, figures=figures)
    (RESULTS / f"{name}.json").write_text(report.as_json())
    markdown = report.as_markdown()
    (RESULTS / f"{name}.md").write_text(markdown)
    if not args.quick and figures == FIGURES:
        report.update_benchmarks_md(Path(__file__).resolve().parents[2] / "BENCHMARKS.md")
    print(markdown)
    return 0


def bench_server_settings(*, memory_bytes: int) -> dict[str, str]:
    """The private cluster's settings: PostgreSQL's usual sizing for a dedicated server, as in production.

    A quarter of the memory for shared buffers (at most 16 GB, docs/scale-out.md's primary) and three
    quarters as the planner's cache estimate; the stock 128 MB would have every figure over a month of
    data read its pages from the kernel's cache, a cost no production server sized for its data pays.
    Autovacuum is off as on the machine's shared server: the loader runs VACUUM ANALYZE itself, and a
    vacuum starting in the middle of a figure would be noise the figures could not tell apart.
    """
    megabytes = memory_bytes // 2**20
    return {
        "shared_buffers": f"{min(max(megabytes // 4, 128), 16384)}MB",
        "effective_cache_size": f"{max(megabytes * 3 // 4, 128)}MB",
        "max_wal_size": "4GB",
        "autovacuum": "off",
    }


def results_name(*, quick: bool, figures: tuple[str, ...]) -> str:
    """``latest`` for a full run of every figure; a quick run or a subset says so in its name."""
    name = "latest-quick" if quick else "latest"
    return name if figures == FIGURES else f"{name}-{'-'.join(figures)}"


if __name__ == "__main__":
    sys.exit(main())
