"""Export throughput: a 7-day window exported in each format by a real worker process, beside
``COPY … TO STDOUT`` of the same rows in the same run, and the worker's peak RSS; and the change
feed's records/s read from the beginning at limit 10,000.

Usage: ``python -m tools.bench.exports [--interactions N] [--formats ndjson,csv,parquet]``. The data set
is the benchmark's (``tools.bench.dataset``: N interactions per account over 30 days, so a 7-day
window holds about 7/30 of them; the standard 1,000,000 gives ≈233,000) in a scratch PostgreSQL
database at ``BENCH_ADMIN_URL``. Each export runs in its own process (``exports.jobs.export_run``
until the job completes, files on the local filesystem); its peak RSS is the process's own
``VmHWM``. Results in ``tools/bench/results/exports.json`` and ``.md``.

From ``make bench`` (or any script): :func:`measure` runs the same and returns the figures as a dict,
without writing files — ``measure(interactions=1_000_000, formats=("ndjson", "csv", "parquet"))`` →
``{"interactions_per_account", "window_rows", "copy": {"rows_per_s", "mb_per_s", "seconds"},
"exports": {format: {"rows_per_s", "mb_per_s", "seconds", "rows_per_cpu_s", "bytes", "files",
"peak_rss_mb", "vs_copy_rows", "after_startup": {"seconds", "rows_per_s", "vs_copy_rows"}}},
"feed": {"limit", "records", "pages", "seconds", "records_per_s"}}``.
It must run in a process where Django is not yet set up (it points Django at the scratch database).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django
import psycopg

from tools.harness.pg import ADMIN_URL, migrate, scratch_database

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[2]
# The worker reports its own peak RSS (VmHWM): ru_maxrss of a child counts the parent's memory it
# was forked with, before it exec'd. It also reports the seconds of the export itself, after its
# start-up (Django and the apps imported): a django-q2 worker is long-lived and pays start-up once.
WORKER = (
    "import django, sys, time; django.setup()\n"
    "from exports.jobs import export_run\n"
    "began = time.perf_counter()\n"
    "while export_run(job_id=int(sys.argv[1])) == 'running':\n"
    "    pass\n"
    "seconds = time.perf_counter() - began\n"
    "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1], seconds)\n"
)


def copy_rows_measure(url: str, account_pk: int, start: datetime, end: datetime) -> tuple[int, int, float]:
    """``COPY`` of the window's pre-rendered texts, in export order: rows, bytes, seconds."""
    query = (
        "COPY (SELECT served FROM conversations_interaction WHERE account_id = %s AND session_start >= %s "
        "AND session_start <= %s ORDER BY session_start, session_id) TO STDOUT"
    )
    rows = size = 0
    began = time.perf_counter()
    with psycopg.connect(url) as db, db.cursor() as cursor, cursor.copy(query, (account_pk, start, end)) as copy:
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    return rows, size, time.perf_counter() - began


def export_in_worker(env: dict[str, str], job_id: int) -> tuple[float, float, int, float]:
    """Run the job in a worker process: wall seconds, CPU seconds, peak RSS in bytes, and the wall
    seconds of the export after the worker's start-up."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(job_id)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    output = process.stdout.read() if process.stdout else ""
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if status != 0:
        raise RuntimeError(f"the export worker exited with status {status}")
    rss_kb, exported = output.split()[-2:]
    return seconds, usage.ru_utime + usage.ru_stime, int(rss_kb) * 1024, float(exported)


FEED_LIMIT = 10_000


def _feed(account: object) -> dict[str, float]:
    """The interactions feed read from the beginning to the end of the stream in pages of
    ``FEED_LIMIT``, in this process: each page as the view answers it (rendered to JSON bytes)."""
    import orjson

    from changes.datasets import DATASETS
    from changes.feed import feed_page

    records = pages = 0
    after = None
    began = time.perf_counter()
    while True:
        page = feed_page(account=account, dataset=DATASETS["interactions"], after=after, limit=FEED_LIMIT)
        orjson.dumps(page.as_dict())
        records, pages, after = records + page.count, pages + 1, page.next_cursor
        if page.end_of_stream:
            break
    seconds = time.perf_counter() - began
    return {"limit": FEED_LIMIT, "records": records, "pages": pages, "seconds": seconds,
            "records_per_s": records / seconds}


def measure(*, interactions: int = 1_000_000, formats: tuple[str, ...] = ("ndjson", "csv", "parquet"),
            admin_url: str | None = None) -> dict[str, object]:
    """Load the data set in a scratch database, then COPY, each format's export and the feed: the figures."""
    admin_url = admin_url or os.environ.get("BENCH_ADMIN_URL", ADMIN_URL)
    window_end = datetime.now(UTC).replace(microsecond=0)
    with (
        # The exports' files (hundreds of MB) go with it.
        tempfile.TemporaryDirectory(prefix="bench-exports-", ignore_cleanup_errors=True) as var_dir,
        scratch_database(admin_url=admin_url, prefix="bench_exports") as url,
    ):
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir, "MEDIA_ROOT": f"{var_dir}/media"}
        migrate(url, env=env)
        os.environ.update(env, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="analytics_api.settings")
        django.setup()
        # Django must be set up before the modules that import models.
        from analytics_api.models import Scope
        from analytics_api.tenancy.services import api_client_create
        from exports.models import ExportJob
        from exports.services import export_create
        from tools.bench.dataset import Scale, accounts_ensure, dataset_load

        scale = Scale(interactions=interactions, qa_contacts=1_000, accounts=1)
        print(f"Loading {scale} …", flush=True)
        dataset_load(url=url, scale=scale, window_end=window_end)
        account = accounts_ensure(scale)[0]
        client = api_client_create(account_id=account.account_id, scopes=Scope.values, name="bench")
        start = window_end - timedelta(days=7)
        body = {"dataset": "interactions", "startDate": start.strftime("%Y-%m-%d %H:%M:%S"),
                "endDate": window_end.strftime("%Y-%m-%d %H:%M:%S")}
        copy_rows, copy_bytes, copy_seconds = copy_rows_measure(url, account.pk, start, window_end)
        results: dict[str, object] = {
            "interactions_per_account": interactions, "window_rows": copy_rows,
            "copy": {"rows_per_s": copy_rows / copy_seconds, "mb_per_s": copy_bytes / copy_seconds / 1e6,
                     "seconds": copy_seconds},
            "exports": {},
        }
        worker_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for fmt in formats:
            job = export_create(account=account, client=client, body={**body, "format": fmt}, idempotency_key=None)
            seconds, cpu, rss, after_startup = export_in_worker(worker_env, job.pk)
            job = ExportJob.objects.get(pk=job.pk)
            assert job.state == "completed" and job.rows == copy_rows, (job.state, job.rows, copy_rows)
            results["exports"][fmt] = {  # type: ignore[index]
                "rows_per_s": job.rows / seconds, "mb_per_s": job.bytes / seconds / 1e6, "seconds": seconds,
                "rows_per_cpu_s": job.rows / cpu,
                "bytes": job.bytes, "files": job.files.count(), "peak_rss_mb": rss / 1e6,
                "vs_copy_rows": job.rows / seconds / (copy_rows / copy_seconds),
                "after_startup": {"seconds": after_startup, "rows_per_s": job.rows / after_startup,
                                  "vs_copy_rows": job.rows / after_startup / (copy_rows / copy_seconds)},
            }
            print(fmt, results["exports"][fmt], flush=True)  # type: ignore[index]
        results["feed"] = _feed(account)
        print("feed", results["feed"], flush=True)
        from django.db import connection

        connection.close()  # the scratch database is dropped on exit
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.exports", description=__doc__)
    parser.add_argument("--interactions", type=int, default=1_000_000, help="Per account, over 30 days")
    parser.add_argument("--formats", default="ndjson,csv,parquet")
    args = parser.parse_args(argv)
    results = measure(interactions=args.interactions, formats=tuple(args.formats.split(",")))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "exports.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# Export benchmark ({results['window_rows']:,} interactions in a 7-day window)", "",
        "| what | rows/s | MB/s | seconds | rows per worker CPU-second | peak RSS | vs COPY rows/s "
        "| after start-up: seconds, vs COPY |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| COPY … TO STDOUT | {results['copy']['rows_per_s']:,.0f} | {results['copy']['mb_per_s']:.1f} | "  # type: ignore[index]
        f"{results['copy']['seconds']:.2f} | – | – | 100% | – |",  # type: ignore[index]
    ]
    for fmt, item in results["exports"].items():  # type: ignore[union-attr]
        lines.append(
            f"| export {fmt} | {item['rows_per_s']:,.0f} | {item['mb_per_s']:.1f} | {item['seconds']:.2f} | "
            f"{item['rows_per_cpu_s']:,.0f} | {item['peak_rss_mb']:.0f} MB | {item['vs_copy_rows']:.0%} | "
            f"{item['after_startup']['seconds']:.2f} s, {item['after_startup']['vs_copy_rows']:.0%} |"
        )
    feed = results["feed"]
    lines += [
        "", f"Change feed, interactions, from the beginning at limit {feed['limit']:,} (in process, "  # type: ignore[index]
        f"pages rendered to JSON): {feed['records']:,} records in {feed['pages']} pages, "  # type: ignore[index]
        f"{feed['records_per_s']:,.0f} records/s.",  # type: ignore[index]
    ]
    (RESULTS / "exports.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
