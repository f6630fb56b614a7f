"""``make drill-scale``: many web and worker processes on a primary and a streaming replica, two of
them killed with ``kill -9`` mid-work; nothing lost, nothing done twice, the feed equals the database.

The topology of docs/scale-out.md on one machine, every piece a real process:

- nginx (``deploy/api.conf.template``) in front of **3 gunicorn** servers (``DRILL_WEB_WORKERS``
  workers each, default 2), and **2 qclusters** (django-q2, ``Q_WORKERS=2`` each) sharing one queue;
- a **private PostgreSQL primary** and its **streaming replica** (``pg_basebackup``, private ports
  and data directories; the machine's server is never touched), ``DATABASE_REPLICA_URLS`` naming the
  replica, so the read endpoints read from it;
- the machine's **Redis** on a database number of its own (``DRILL_REDIS_DB``, default the highest
  empty one of 8–15, emptied at the end);
- **S3**: moto's S3-compatible server (as the tests use it) holding recordings and export files;
- a local **recording source** serving real FLAC, each body trickled over ``TRICKLE_S`` seconds.

For ``DRILL_DURATION`` seconds (default 120), all at once: wrk through nginx over interactionDetails,
calldetails, rawdata and the conversation query (``DRILL_CONCURRENCY`` connections, default 6); an
ingestion stream (interactions and Quality AI contacts, every fifth batch sent twice); voice calls
with recordings to fetch, every ``RECORDING_EVERY_S``; export jobs (interactions, calldetails,
qa_contacts in NDJSON, CSV, Parquet, small files so each job has several) every ``EXPORT_EVERY_S``.
A quarter of the way in, one gunicorn (its whole process group) is killed with SIGKILL and started
again on its port; from 40% on, the drill waits for a qcluster worker with a recording fetch in
flight and SIGKILLs that cluster's whole process group, then starts a new one.

Afterwards (exit 1 if any check fails; results in ``tools/drills/results/scale-latest.{json,md}``):
ingestion batches that got no 200 (a killed web process) are re-sent; interrupted recording
attempts, once their lease ran out, are retried through the API as a user would; then

- every ingested record is stored exactly once (counted per batch id on the primary);
- every recording is ``available``, fetched into exactly one S3 object with the served bytes'
  sha256; every export job is ``completed``, its manifest's files are exactly the export objects in
  S3 (no duplicate, no temporary leftover) with the manifest's sizes and sha256;
- the change feed read from the beginning (through nginx) holds each key once, its keys are exactly
  the database's records, and its versions give the checksums and counts ``/api/v1/counts`` computes
  (on the replica, after it caught up);
- the replica answered reads (its committed transactions grew), and no 500 was logged anywhere.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psutil
import psycopg
import redis
from moto.server import ThreadedMotoServer

from tools.drills.backends import PrivatePostgres, PrivateStandby
from tools.drills.client import call
from tools.drills.ingest import BatchOutcome, IngestStream, StreamPlan, batch_bodies
from tools.drills.recording_server import RecordingServer, sha256_for
from tools.drills.records import (
    INGEST_CONTACTS,
    INGEST_INTERACTIONS,
    contact_batch_prefix,
    interaction_batch_prefix,
    json_body,
    read_requests,
)
from tools.drills.report import Report, log_markers, wrk_summary
from tools.drills.stack import (
    ACCOUNT_ID,
    BOT_ID,
    ORG_ID,
    app_env,
    client_create,
    counts_by_prefix,
    recorded_calls_ingest,
    recording_files,
    recordings_settled_then_retried,
    tenant_create,
    wait_until,
)
from tools.harness.nginx import Nginx, nginx_install
from tools.harness.pg import migrate
from tools.harness.server import Gunicorn, Qcluster, free_port
from tools.harness.wrk import WrkRequest, run_wrk

GUNICORNS = 3
QCLUSTERS = 2
# A claim's lease covers its wait in the queue too: a sweep's 12 claims queue behind 4 workers.
LEASE_S = 60
FETCH_MAX_S = 20
EXPORT_LEASE_S = 30
TRICKLE_S = 6.0
RECORDING_EVERY_S = 10.0
RECORDINGS_PER_ROUND = 2
# The minute sweep claims at most this many files of an account, and a fetch that ends does not
# claim the next: an account's recordings are fetched at most this many a minute. The drill
# registers 12 a minute (RECORDINGS_PER_ROUND every RECORDING_EVERY_S).
FETCHES_PER_ACCOUNT = 12
EXPORT_EVERY_S = 15.0
EXPORT_ROWS_PER_FILE = 100
# A killed attempt needs its lease to run out and then a minute sweep; a retry, one more fetch.
SETTLE_S = 300.0
READ_NAMES = ("interactionDetails", "interactionDetails page 4", "calldetails", "rawdata")
CONVERSATION_QUERY = "/api/v1/conversations/query"
EXPORTS = "/api/v1/exports"
# Export files live under <S3_PREFIX>exports/ (exports.storage), recordings under <S3_PREFIX>.
EXPORTS_PREFIX = "exports/"
FEED = "/api/v1/changes"
COUNTS = "/api/v1/counts"
DATASETS = ("interactions", "qa_contacts", "conversations")
# What nginx logs when an upstream refuses a connection or dies while answering.
NGINX_MARKERS = ("Connection refused", "prematurely closed", "Connection reset by peer")
# The drill's records as each dataset keys them, from the primary.
DATABASE_KEYS = {
    "interactions": "SELECT session_id FROM conversations_interaction WHERE account_id = %s",
    "qa_contacts": "SELECT b.bot_id || '/' || c.conversation_id FROM qualityai_qacontact c "
                   "JOIN analytics_api_bot b ON b.id = c.stream_id WHERE c.account_id = %s",
    "conversations": "SELECT session_id FROM content_conversation WHERE account_id = %s",
}
EXPORT_KINDS = [("interactions", "ndjson", "gzip"), ("calldetails", "csv", "none"), ("qa_contacts", "parquet", "none"),
                ("interactions", "csv", "gzip"), ("qa_contacts", "ndjson", "none"), ("calldetails", "parquet", "gzip")]


def _redis_db() -> int:
    """``DRILL_REDIS_DB``, else the highest database number of 8–15 holding no key."""
    if os.environ.get("DRILL_REDIS_DB"):
        return int(os.environ["DRILL_REDIS_DB"])
    for number in range(15, 7, -1):
        if redis.Redis(host="127.0.0.1", port=6379, db=number).dbsize() == 0:
            return number
    raise RuntimeError("no empty Redis database among 8-15 on 127.0.0.1:6379: set DRILL_REDIS_DB")


def _account_pk(database_url: str) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute("SELECT id FROM analytics_api_account WHERE account_id = %s", [ACCOUNT_ID]).fetchone()[0]


def _group_kill(pid: int) -> list[int]:
    """SIGKILL to a server's whole process group (a crashed container): its pids as they were."""
    try:
        victims = [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        victims = [pid]
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    return victims


class Fleet:
    """The web and worker processes; killed ones are replaced, their logs kept for the 500 check."""

    def __init__(self, stack: ExitStack, env: dict[str, str], *, web_workers: int) -> None:
        self.stack = stack
        self.env = env
        self.web_workers = web_workers
        self.servers = [stack.enter_context(Gunicorn(env=env, workers=web_workers)) for _ in range(GUNICORNS)]
        self.clusters = [stack.enter_context(Qcluster(env=env)) for _ in range(QCLUSTERS)]
        self.dead_logs: dict[str, dict[str, int]] = {}
        self.events: list[dict[str, Any]] = []

    def _event(self, began: float, **fields: Any) -> None:
        self.events.append({"at_s": round(time.time() - began, 1), **fields})
        print(f"[scale] {fields}", flush=True)

    def kill_server(self, index: int, began: float) -> None:
        """SIGKILL gunicorn ``index`` (master and workers) and start a new one on its port."""
        old = self.servers[index]
        victims = _group_kill(old.pid)
        old.process.wait()  # type: ignore[union-attr]
        killed_at = time.time()
        self.dead_logs[f"gunicorn {index} (killed)"] = log_markers(old.stderr_path)
        self._event(began, kill="gunicorn", index=index, pids=victims)
        self.servers[index] = self.stack.enter_context(Gunicorn(env=self.env, workers=self.web_workers,
                                                                port=old.port))
        self._event(began, restarted="gunicorn", index=index, after_s=round(time.time() - killed_at, 1))

    def fetching_cluster(self, recording_port: int) -> tuple[int, int]:
        """(cluster index, worker pid) of a worker connected to the recording server; (-1, 0) if none."""
        for index, cluster in enumerate(self.clusters):
            for pid in cluster.pids():
                try:
                    connections = psutil.Process(pid).net_connections(kind="tcp")
                except psutil.NoSuchProcess:
                    continue
                if any(c.raddr and c.raddr.port == recording_port and c.status == psutil.CONN_ESTABLISHED
                       for c in connections):
                    return index, pid
        return -1, 0

    def kill_cluster(self, index: int, began: float, *, fetching_pid: int) -> None:
        """SIGKILL qcluster ``index`` (sentinel, workers, monitor, pusher) and start a new one."""
        old = self.clusters[index]
        victims = _group_kill(old.pid)
        old.process.wait()  # type: ignore[union-attr]
        killed_at = time.time()
        self.dead_logs[f"qcluster {index} (killed)"] = log_markers(old.stderr_path)
        self._event(began, kill="qcluster", index=index, pids=victims, fetching_pid=fetching_pid)
        self.clusters[index] = self.stack.enter_context(Qcluster(env=self.env))
        self._event(began, restarted="qcluster", index=index, after_s=round(time.time() - killed_at, 1))

    def logs(self) -> dict[str, dict[str, int]]:
        found = dict(self.dead_logs)
        found.update({f"gunicorn {i}": log_markers(s.stderr_path) for i, s in enumerate(self.servers)})
        found.update({f"qcluster {i}": log_markers(c.stderr_path) for i, c in enumerate(self.clusters)})
        return found


class Producer:
    """Recordings and export jobs created through nginx on a schedule, in a thread; ids kept."""

    def __init__(self, *, base_url: str, ingester: str, reader: str, recording_server: RecordingServer,
                 today: datetime) -> None:
        self.base_url = base_url
        self.ingester = ingester
        self.reader = reader
        self.recording_server = recording_server
        self.today = today
        self.recordings: list[str] = []
        self.paths: dict[str, str] = {}  # source url -> path served
        self.exports: list[str] = []
        self.export_statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="producer", daemon=True)

    def recordings_round(self, number: int) -> None:
        label = f"scale-rec-{number}"

        def url(index: int) -> str:
            source = self.recording_server.url(f"/{label}/{index}.flac")
            self.paths[source] = f"/{label}/{index}.flac"
            return source

        # Sent again after a lost answer (a killed web process): an update, never a duplicate.
        self.recordings += recorded_calls_ingest(base_url=self.base_url, token=self.ingester, label=label,
                                                 count=RECORDINGS_PER_ROUND, recording_url=url, attempts=10)

    def export(self, number: int) -> None:
        dataset, form, compression = EXPORT_KINDS[number % len(EXPORT_KINDS)]
        body = json_body({"dataset": dataset, "startDate": (self.today - timedelta(days=7)).date().isoformat(),
                          "endDate": self.today.date().isoformat(), "format": form, "compression": compression})
        headers = {"auth": self.reader, "Content-Type": "application/json", "Idempotency-Key": f"scale-{number}"}
        # The same key and body answer the job the first request created: a retry never makes two.
        for _ in range(10):
            answer = call(self.base_url, "POST", EXPORTS, headers=headers, body=body, timeout_s=60)
            self.export_statuses[answer.status] += 1
            if answer.status in (200, 202):
                job = answer.json()["id"]
                if job not in self.exports:
                    self.exports.append(job)
                return
            time.sleep(1)
        self.errors.append(f"export {number}: {answer.status} {answer.body[:300]!r}")

    def _run(self) -> None:
        began = time.monotonic()
        recording_round = export_round = 0
        while not self._stop.is_set():
            elapsed = time.monotonic() - began
            try:
                if elapsed >= recording_round * RECORDING_EVERY_S:
                    self.recordings_round(recording_round)
                    recording_round += 1
                if elapsed >= export_round * EXPORT_EVERY_S:
                    self.export(export_round)
                    export_round += 1
            except RuntimeError as error:
                self.errors.append(str(error)[:300])
            self._stop.wait(0.5)

    def __enter__(self) -> Producer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def _reads(token: str, today: datetime) -> list[tuple[str, WrkRequest]]:
    mix = [item for item in read_requests(token=token, account_id=ACCOUNT_ID, org_id=ORG_ID, bot_id=BOT_ID,
                                          conversation_ids=[], today=today) if item[0] in READ_NAMES]
    body = json_body({"startDate": (today - timedelta(days=6)).date().isoformat(),
                      "endDate": today.date().isoformat(), "limit": 25})
    mix.append(("conversation query", WrkRequest("POST", CONVERSATION_QUERY,
                                                  {"auth": token, "Content-Type": "application/json"}, body)))
    return mix


def _resend_failed(base_url: str, plan: StreamPlan, outcomes: list[BatchOutcome]) -> tuple[int, int]:
    """Re-send every batch whose first send got no 200 until it does (at most 5 tries): (failed, accepted)."""
    failed = [o for o in outcomes if not o.resend and o.status != 200]
    headers = {"auth": plan.token, "Content-Type": "application/json"}
    accepted = 0
    for outcome in failed:
        interactions, contacts = batch_bodies(plan, outcome.batch)
        path, body = ((INGEST_INTERACTIONS, interactions) if outcome.kind == "interactions"
                      else (INGEST_CONTACTS.format(stream=BOT_ID), contacts))
        for _ in range(5):
            answer = call(base_url, "POST", path, headers=headers, body=body, timeout_s=120)
            if answer.status == 200:
                result = answer.json()
                accepted += result["created"] + result["updated"] == outcome.size and not result["rejected"]
                break
            time.sleep(2)
    return len(failed), accepted


def _check_ingestion(report: Report, database_url: str, plan: StreamPlan, outcomes: list[BatchOutcome],
                     resent: tuple[int, int]) -> None:
    firsts = [o for o in outcomes if not o.resend]
    report.data["ingestion"] = {
        "batches": len(firsts), "resends_planned": sum(o.resend for o in outcomes),
        "statuses": dict(Counter(str(o.status) for o in outcomes)),
        "records_sent": sum(o.size for o in firsts),
    }
    report.check("ingestion: batches without a 200 re-sent and accepted", resent[0] == resent[1],
                 f"{resent[0]} batches got no 200 at first (statuses {report.data['ingestion']['statuses']}), "
                 f"{resent[1]} accepted whole when re-sent")
    for kind, table, column, prefix in (
        ("interactions", "conversations_interaction", "session_id", interaction_batch_prefix),
        ("contacts", "qualityai_qacontact", "conversation_id", contact_batch_prefix),
    ):
        sizes = {o.batch: o.size for o in firsts if o.kind == kind}
        stored = counts_by_prefix(database_url, table=table, column=column,
                                  prefixes=[prefix(plan.tag, batch) for batch in sorted(sizes)])
        wrong = {batch: stored[prefix(plan.tag, batch)] for batch, size in sizes.items()
                 if stored[prefix(plan.tag, batch)] != size}
        total = counts_by_prefix(database_url, table=table, column=column, prefixes=[prefix(plan.tag, None)])
        rows = total[prefix(plan.tag, None)]
        report.check(f"ingestion: every {kind[:-1]} stored exactly once", bool(sizes) and not wrong
                     and rows == sum(sizes.values()),
                     f"{len(sizes)} batches, {sum(sizes.values())} records sent, {rows} rows"
                     + (f"; wrong batches (batch: rows): {dict(list(wrong.items())[:5])}" if wrong else ""))


def _objects(s3: Any, bucket: str) -> dict[str, int]:
    """Every object of the bucket: key -> size."""
    found: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return found


def _sha256(s3: Any, bucket: str, key: str) -> str:
    return hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def _check_recordings(report: Report, database_url: str, producer: Producer, s3: Any, bucket: str,
                      prefix: str, recording_server: RecordingServer, settled_s: float) -> set[str]:
    """Every recording available once, with the served bytes; the recordings' S3 keys."""
    files = recording_files(database_url, producer.recordings)
    available = [f for f in files if f.state == "available"]
    wrong = [f"{f.conversation_id}: {f.state} ({f.last_error[:100]})" for f in files if f.state != "available"]
    bad_sum = [f.conversation_id for f in available
               if f.sha256 != sha256_for(producer.paths[f.source_url])
               or _sha256(s3, bucket, prefix + f.storage_key) != f.sha256]
    hits = {path: recording_server.hits[path] for path in producer.paths.values()}
    report.data["recordings"] = {
        "registered": len(producer.recordings), "available": len(available), "settled_s": round(settled_s, 1),
        "attempts": dict(Counter(f.attempts for f in files)),
        "source_hits": dict(Counter(hits.values())),
    }
    report.check("recordings: every one available, its S3 object holding the served bytes",
                 settled_s >= 0 and len(files) == len(producer.recordings) and not wrong and not bad_sum,
                 f"{len(available)}/{len(producer.recordings)} available {settled_s:.0f} s after the load; "
                 f"attempts per file {report.data['recordings']['attempts']}; wrong sha256: {bad_sum or 'none'}"
                 + (f"; not available: {wrong[:5]}" if wrong else ""))
    # Every stored recording of the database, the seeded demo calls' included.
    with psycopg.connect(database_url) as db:
        keys = db.execute("SELECT storage_key FROM recordings_recordingfile WHERE state = 'available'").fetchall()
    return {prefix + key for (key,) in keys}


def _export_rows(database_url: str, job_ids: list[str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as db:
        jobs = db.execute("SELECT public_id::text, state, rows, attempts, error FROM exports_exportjob "
                          "WHERE public_id::text = ANY(%s)", [job_ids]).fetchall()
        files = db.execute("SELECT j.public_id::text, f.n, f.rows, f.bytes, f.sha256, f.storage_key "
                           "FROM exports_exportfile f JOIN exports_exportjob j ON j.id = f.job_id "
                           "WHERE j.public_id::text = ANY(%s) ORDER BY 1, 2", [job_ids]).fetchall()
    return jobs, files


def _check_exports(report: Report, database_url: str, producer: Producer, s3: Any, bucket: str,
                   prefix: str, settled_s: float) -> set[str]:
    """Every job completed once: its files whole, in S3 once, as the manifest says; their S3 keys."""
    jobs, files = _export_rows(database_url, producer.exports)
    states = Counter(state for _, state, *_ in jobs)
    per_job = Counter(job for job, *_ in files)
    rows_by_job = {job: rows for job, _state, rows, *_ in jobs}
    file_rows: Counter[str] = Counter()
    bad = []
    for job, n, rows, size, sha256, key in files:
        file_rows[job] += rows
        stored = s3.head_object(Bucket=bucket, Key=prefix + EXPORTS_PREFIX + key)["ContentLength"]
        if stored != size or _sha256(s3, bucket, prefix + EXPORTS_PREFIX + key) != sha256:
            bad.append(f"{job}/{n}")
    uneven = [job for job in rows_by_job if rows_by_job[job] != file_rows[job]]
    report.data["exports"] = {
        "jobs": len(jobs), "states": dict(states), "files": len(files), "files_per_job": sorted(per_job.values()),
        "rows": sum(rows_by_job.values()), "attempts": dict(Counter(attempts for *_, attempts, _e in jobs)),
        "create_statuses": {str(k): v for k, v in producer.export_statuses.items()},
        "settled_s": round(settled_s, 1),
    }
    report.check("exports: every job completed, each file whole in S3 with the manifest's size and sha256",
                 bool(jobs) and len(jobs) == len(producer.exports) and states == {"completed": len(jobs)}
                 and not bad and not uneven,
                 f"{len(jobs)} jobs {dict(states)}, {len(files)} files; attempts per job "
                 f"{report.data['exports']['attempts']}; size or sha256 differing: {bad or 'none'}; "
                 f"job rows not the sum of its files': {uneven or 'none'}"
                 + "".join(f"; {job}: {error[:200]}" for job, state, _r, _a, error in jobs if state != "completed"))
    return {prefix + EXPORTS_PREFIX + key for *_, key in files}


def _feed(base_url: str, token: str, dataset: str) -> tuple[dict[str, int], int, int]:
    """The feed from the beginning to its end: (current key -> version, items read, keys served twice)."""
    current: dict[str, int] = {}
    seen: set[str] = set()
    items = repeated = 0
    cursor = ""
    while True:
        query = {"dataset": dataset, "limit": "10000", **({"cursor": cursor} if cursor else {})}
        answer = call(base_url, "GET", f"{FEED}?{urllib.parse.urlencode(query)}", headers={"auth": token},
                      timeout_s=120)
        if answer.status != 200:
            raise RuntimeError(f"the {dataset} feed answered {answer.status}: {answer.body[:300]!r}")
        page = answer.json()
        for item in page["items"]:
            items += 1
            repeated += item["key"] in seen
            seen.add(item["key"])
            if item["op"] == "delete":
                current.pop(item["key"], None)
            else:
                current[item["key"]] = item["version"]
        cursor = page["nextCursor"]
        if page["endOfStream"]:
            return current, items, repeated


def _checksum(key: str, version: int) -> int:
    return int(hashlib.sha256(f"{key}:{version}".encode()).hexdigest()[:16], 16)


def _check_feed(report: Report, base_url: str, token: str, database_url: str, today: datetime) -> None:
    """Each dataset's feed from the start: its keys are the database's, its versions what counts sums.

    Counts XOR the bucket's records' hashes, so the XOR of every bucket's checksum over a window
    holding every record is the XOR over all records: compared with the feed's, with the counts' sum.
    """
    account = _account_pk(database_url)
    report.data["feed"] = {}
    for dataset in DATASETS:
        current, items, repeated = _feed(base_url, token, dataset)
        with psycopg.connect(database_url) as db:
            stored = {row[0] for row in db.execute(DATABASE_KEYS[dataset], [account]).fetchall()}
        body = json_body({"dataset": dataset, "startDate": (today - timedelta(days=400)).date().isoformat(),
                          "endDate": (today + timedelta(days=1)).date().isoformat(), "granularity": "day"})
        answer = call(base_url, "POST", COUNTS, headers={"auth": token, "Content-Type": "application/json"},
                      body=body, timeout_s=120)
        buckets = answer.json() if answer.status == 200 else []
        counted = sum(bucket["count"] for bucket in buckets)
        counts_xor = 0
        for bucket in buckets:
            counts_xor ^= int(bucket["checksum"], 16)
        feed_xor = 0
        for key, version in current.items():
            feed_xor ^= _checksum(key, version)
        report.data["feed"][dataset] = {
            "items": items, "current": len(current), "database": len(stored), "served_twice": repeated,
            "counts_status": answer.status, "counted": counted,
            "feed_checksum": f"{feed_xor:016x}", "counts_checksum": f"{counts_xor:016x}",
        }
        report.check(
            f"feed {dataset}: replayed from the start, it equals the database",
            repeated == 0 and set(current) == stored and answer.status == 200 and counted == len(stored)
            and feed_xor == counts_xor,
            f"{items} items, {len(current)} current records, each once ({repeated} served twice); database "
            f"{len(stored)} records, missing from the feed {len(stored - set(current))}, not in the database "
            f"{len(set(current) - stored)}; counts {answer.status}: {counted} records, checksum "
            f"{counts_xor:016x} vs the feed's {feed_xor:016x}",
        )


def _redis_usage(redis_url: str) -> dict[str, Any]:
    """Keys and bytes (``MEMORY USAGE``) of the drill's Redis database, by key family."""
    client = redis.Redis.from_url(redis_url)
    families: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for key in client.scan_iter(count=1000):
        name = key.decode(errors="replace").removeprefix(":1:")  # Django's cache key prefix (version 1)
        family = ":".join(name.split(":")[:3 if name.startswith("django_q") else 1])
        families[family] += 1
        sizes[family] += client.memory_usage(key) or 0
    return {"keys": sum(families.values()), "bytes": sum(sizes.values()),
            "by_family": {name: {"keys": families[name], "bytes": sizes[name]} for name in families}}


def _replica_commits(replica_url: str) -> int:
    with psycopg.connect(replica_url, autocommit=True) as db:
        return db.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                          ).fetchone()[0]


def main() -> int:
    """Run the drill; the exit code says whether every check held.

    1. Private primary, its streaming replica, Redis database, moto S3 and recording source; migrate,
       seed, the reader and ingester clients; nginx, 3 gunicorns, 2 qclusters.
    2. Load for ``DRILL_DURATION`` s (wrk, ingestion stream, recordings, exports); one gunicorn
       killed at 25% and restarted; one qcluster killed mid-fetch from 40% on and restarted.
    3. Re-send failed batches, retry interrupted recordings, wait for the exports and the replica.
    4. Check ingestion, recordings, exports and S3, the feed against the database and counts, the
       replica's share of reads, wrk's statuses and the logs.
    """
    duration = float(os.environ.get("DRILL_DURATION") or 120)
    concurrency = int(os.environ.get("DRILL_CONCURRENCY") or 6)
    web_workers = int(os.environ.get("DRILL_WEB_WORKERS") or 2)
    redis_db = _redis_db()
    settings = {"duration_s": duration, "concurrency": concurrency, "gunicorns": GUNICORNS,
                "workers_per_gunicorn": web_workers, "qclusters": QCLUSTERS, "q_workers": 2,
                "redis_db": redis_db, "lease_s": LEASE_S, "export_lease_s": EXPORT_LEASE_S,
                "trickle_s": TRICKLE_S, "fetches_per_account": FETCHES_PER_ACCOUNT,
                "export_rows_per_file": EXPORT_ROWS_PER_FILE}
    report = Report("scale", settings=settings)
    today = datetime.now(UTC)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drill-scale-")))
        primary = stack.enter_context(PrivatePostgres())
        database_url = primary.create_database("drill")
        standby = stack.enter_context(PrivateStandby(primary))
        replica_url = standby.url("drill")
        redis_url = f"redis://127.0.0.1:6379/{redis_db}"
        stack.callback(lambda: redis.Redis.from_url(redis_url).flushdb())
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        moto.start()
        stack.callback(moto.stop)
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket, prefix = "drill-scale", "media/"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        recording_server = stack.enter_context(RecordingServer(trickle_s=TRICKLE_S))
        env = app_env(
            database_url=database_url, redis_url=redis_url, var_dir=var_dir,
            DATABASE_REPLICA_URLS=replica_url,
            S3_BUCKET=bucket, S3_PREFIX=prefix, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID=os.environ["AWS_ACCESS_KEY_ID"],
            AWS_SECRET_ACCESS_KEY=os.environ["AWS_SECRET_ACCESS_KEY"],
            RATE_LIMIT_PER_MINUTE="10000000", RATE_LIMIT_PER_HOUR="100000000",
            RECORDING_LEASE_SECONDS=str(LEASE_S), RECORDING_FETCH_MAX_SECONDS=str(FETCH_MAX_S),
            RECORDING_READ_TIMEOUT_SECONDS="10", RECORDING_CONNECT_TIMEOUT_SECONDS="2",
            RECORDING_FETCHES_PER_ACCOUNT=str(FETCHES_PER_ACCOUNT),
            EXPORT_LEASE_SECONDS=str(EXPORT_LEASE_S), EXPORT_MAX_ROWS_PER_FILE=str(EXPORT_ROWS_PER_FILE),
            Q_WORKERS="2", Q_TIMEOUT_SECONDS="60", Q_RETRY_SECONDS="120",
        )
        print(f"[scale] primary on port {primary.port}, replica on {standby.port}, Redis db {redis_db}, "
              f"S3 at {endpoint}; migrating and seeding", flush=True)
        migrate(database_url, env=env)
        tenant_create(env, days=7, per_day=60)
        ttl_s = 3 * 3600
        reader = client_create(env, name="drill reader", ttl_s=ttl_s, scopes=[
            "smartassist.analytics", "qualityai.analytics", "recordings", "conversations.read", "exports"])
        ingester = client_create(env, name="drill ingester", scopes=["ingest"], ttl_s=ttl_s)
        nginx_install()
        fleet = Fleet(stack, env, web_workers=web_workers)
        proxy = stack.enter_context(Nginx(upstream=[f"127.0.0.1:{server.port}" for server in fleet.servers]))
        base_url = proxy.base_url
        reads = _reads(reader.token, today)
        plan = StreamPlan(base_url=base_url, token=ingester.token, tag=hashlib.sha256(b"scale").hexdigest()[:14],
                          interval_s=1.0, interactions_per_batch=50, contacts_per_batch=20, resend_every=5,
                          start=today.replace(microsecond=0) - timedelta(days=120), timeout_s=60)
        standby.wait_caught_up(timeout_s=60)
        commits_before = _replica_commits(replica_url)
        print(f"[scale] load for {duration:.0f} s through nginx on {base_url}", flush=True)

        began = time.time()
        with ThreadPoolExecutor(max_workers=1) as pool, \
                IngestStream(plan, var_dir / "ingest.jsonl") as stream, \
                Producer(base_url=base_url, ingester=ingester.token, reader=reader.token,
                         recording_server=recording_server, today=today) as producer:
            load = pool.submit(run_wrk, base_url=base_url, requests=[r for _, r in reads],
                               connections=concurrency, threads=2, duration_s=duration, timeout_s=30)
            time.sleep(duration * 0.25)
            fleet.kill_server(1, began)
            time.sleep(max(0.0, began + duration * 0.4 - time.time()))
            index, pid = -1, 0
            while index < 0 and time.time() < began + duration - 5:
                index, pid = fleet.fetching_cluster(recording_server.port)
                time.sleep(0.2)
            report.check("qcluster killed mid-work: a worker had a recording fetch in flight", index >= 0,
                         f"worker {pid} of qcluster {index} connected to the recording source"
                         if index >= 0 else "no fetch in flight seen before the load ended")
            fleet.kill_cluster(max(index, 0), began, fetching_pid=pid)
            wrk = load.result()
            stream.stop()
            outcomes = stream.outcomes()
        load_s = time.time() - began
        report.data["events"] = fleet.events
        report.data["wrk"] = wrk_summary(wrk)
        report.check("every recording round and export request accepted through nginx", not producer.errors,
                     f"{len(producer.recordings)} calls with recordings, {len(producer.exports)} export jobs "
                     f"(request statuses {dict(producer.export_statuses)}); errors: {producer.errors or 'none'}")
        report.data["redis"] = _redis_usage(redis_url)
        print(f"[scale] load over after {load_s:.0f} s; re-sending, settling", flush=True)

        resent = _resend_failed(base_url, plan, outcomes)
        settled_s = recordings_settled_then_retried(
            report, "recordings", base_url=base_url, token=reader.token, database_url=database_url,
            ids=producer.recordings, timeout_s=SETTLE_S)
        exports_s = wait_until(lambda: all(state in ("completed", "failed", "cancelled") for _, state, *_ in
                                           _export_rows(database_url, producer.exports)[0]),
                               timeout_s=SETTLE_S, every_s=2)
        standby.wait_caught_up(timeout_s=60)
        commits = _replica_commits(replica_url) - commits_before

        _check_ingestion(report, database_url, plan, outcomes, resent)
        recording_keys = _check_recordings(report, database_url, producer, s3, bucket, prefix, recording_server,
                                           settled_s)
        export_keys = _check_exports(report, database_url, producer, s3, bucket, prefix, exports_s)
        objects = _objects(s3, bucket)
        expected = recording_keys | export_keys
        report.data["s3"] = {"objects": len(objects), "bytes": sum(objects.values()),
                             "recording_objects": len(recording_keys), "export_objects": len(export_keys),
                             "recording_bytes": sum(objects.get(key, 0) for key in recording_keys),
                             "export_bytes": sum(objects.get(key, 0) for key in export_keys)}
        report.check("S3 holds exactly the recordings and export files the database names",
                     set(objects) == expected,
                     f"{len(objects)} objects ({sum(objects.values()):,} bytes) for {len(recording_keys)} recordings "
                     f"and {len(export_keys)} export files; extra: {sorted(set(objects) - expected)[:5] or 'none'}, "
                     f"missing: {sorted(expected - set(objects))[:5] or 'none'}")
        _check_feed(report, base_url, reader.token, database_url, today)

        reads_ok = wrk.status_counts.get(200, 0)
        report.data["replica_commits_during_the_run"] = commits
        report.check("the replica served the reads", commits >= reads_ok,
                     f"{commits:,} transactions committed on the replica's database during the run, "
                     f"{reads_ok:,} reads answered 200 by wrk")
        # Only the requests the killed gunicorn held may fail: refused connections go to another
        # server, so a request fails when it was already sent — 502 if no header had come back, a
        # cut answer (wrk's read error; nginx logs the upstream closing early) if it had.
        others = {status: count for status, count in wrk.status_counts.items() if status not in (200, 502)}
        kinds = wrk.socket_error_kinds
        cut = wrk.status_counts.get(502, 0) + kinds.get("read", 0)
        proxy_log = proxy.error_log()
        report.data["nginx_error_log"] = {marker: proxy_log.count(marker) for marker in NGINX_MARKERS}
        report.check("reads through nginx: 200, except requests the killed gunicorn held (502 or a cut answer)",
                     not others and cut <= concurrency and not any(kinds.get(k, 0) for k in ("connect", "write",
                                                                                            "timeout")),
                     f"wrk {wrk.requests:,} requests, {wrk.requests / max(wrk.duration_s, 1):.0f}/s, statuses "
                     f"{dict(wrk.status_counts)}, socket errors {kinds} ({cut} cut, at most {concurrency}: one a "
                     f"connection); nginx's error log {report.data['nginx_error_log']}")
        logs = fleet.logs()
        report.data["log_markers"] = logs
        unhandled = {name: counts["Unhandled exception"] + counts["Internal Server Error"]
                     for name, counts in logs.items()}
        report.check("no unhandled exception (500) logged by any process", not any(unhandled.values()),
                     f"{unhandled}")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
