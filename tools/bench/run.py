"""``make bench`` / ``make bench-quick``: the whole benchmark, from an empty database to the report.

Usage: ``python -m tools.bench.run [--quick] [--runs N] [--seconds S] [--figures core,content,...]``.
Everything happens in a scratch PostgreSQL database (created and dropped here) on the server at
``BENCH_ADMIN_URL`` (default: this machine's, ``postgres://postgres@127.0.0.1:5432/postgres``), never in
a developer's database; the replica figure starts private servers of its own (tools/bench/replica.py).

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
from datetime import UTC, datetime
from pathlib import Path

import django

from tools.bench.overhead import HELLO_APP
from tools.bench.report import FIGURE_HELP, FIGURES, figures_parse
from tools.harness.pg import ADMIN_URL, migrate, scratch_database
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
    admin_url = os.environ.get("BENCH_ADMIN_URL", ADMIN_URL)
    var_dir = tempfile.mkdtemp(prefix="bench-var-")
    env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir}
    with scratch_database(admin_url=admin_url, prefix="bench") as url:
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


def results_name(*, quick: bool, figures: tuple[str, ...]) -> str:
    """``latest`` for a full run of every figure; a quick run or a subset says so in its name."""
    name = "latest-quick" if quick else "latest"
    return name if figures == FIGURES else f"{name}-{'-'.join(figures)}"


if __name__ == "__main__":
    sys.exit(main())
