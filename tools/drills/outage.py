"""``make drill-outage``: PostgreSQL and Redis taken away under load, and a worker killed mid-fetch.

Everything runs against a PRIVATE PostgreSQL cluster (``initdb`` into a temp dir, own port) and
a PRIVATE ``redis-server``, which the drill stops and starts; the machine's own servers are never
touched. The app runs with its production settings (gunicorn with the Dockerfile's flags, a
qcluster on Redis) except short recording leases, so that a killed fetch is taken over within a
minute or two rather than ten.

Scenarios, in order (exit 1 if any criterion fails; results in ``tools/drills/results/outage-latest.json``):

(a) PostgreSQL stopped (``pg_ctl -m immediate``, like a crash) for ``DRILL_OUTAGE_SECONDS``
    (default 30) under wrk load, a sequential probe and an ingestion stream, with recording jobs
    claimed and queued. Every answer is 200 or 503 — never a 500, a reset or a timeout; each 503 is
    the error envelope with ``Retry-After``; no answer takes longer than ``STOPPED_LATENCY_S``; the
    service answers 200 again within ``RECOVERY_BOUND_S`` of the database's return with nobody
    touching it; every ingestion batch is stored completely or not at all (counted per batch id,
    the one in flight when the database died included), and re-sending the failed ones stores
    each exactly once.
    ``postgres-hung``: the same, but the port then accepts connections and never answers (a hung
    server, a half-open network path): only the app's own timeouts end the wait, so answers may
    take up to ``HUNG_LATENCY_S``.
(b) The same two with Redis (rate-limit cache and django-q2 broker; queued tasks are lost, since
    the drill's Redis does not persist).
(c) The recording jobs queued before each stopped-server outage all end ``available`` afterwards;
    an attempt the outage cut (its worker could not record the outcome before its lease ran out)
    counts as failed (``initial_fetch_failed``), and a user's retry through the API then fetches it.
(e) In every outage, halfway through it: ``/api/health/ready`` answers 503 naming the stopped
    service (``database`` or ``redis``) and ``/metrics`` still answers, reporting it down
    (``analytics_dependency_up`` 0); after the recovery, readiness is 200 and the gauge 1 again,
    and ``analytics_dependency_errors_total`` counted the 503s the outage caused.
(d) ``kill -9`` of the django-q2 worker holding a connection to the (slow) recording server: once
    the lease runs out the killed attempt is recorded as failed (``initial_fetch_failed``, the
    lease message) rather than taken again, a user's retry fetches it, and every recording ends
    ``available`` exactly once — one stored object per file with the served bytes' sha256, no
    temporary leftovers, no deletion in the audit log.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import redis

from tools.drills.backends import PrivatePostgres, PrivateRedis, SilentPort
from tools.drills.client import Hit, Probe, call
from tools.drills.ingest import BatchOutcome, IngestStream, StreamPlan, batch_bodies
from tools.drills.metrics import OperatorView, operator_view
from tools.drills.recording_server import RecordingServer, sha256_for
from tools.drills.records import (
    INGEST_CONTACTS,
    INGEST_INTERACTIONS,
    contact_batch_prefix,
    interaction_batch_prefix,
    read_requests,
)
from tools.drills.report import Report, log_markers, wrk_summary
from tools.drills.stack import (
    ACCOUNT_ID,
    BOT_ID,
    ORG_ID,
    DrillClient,
    app_env,
    audit_actions,
    available_storage_keys,
    client_create,
    counts_by_prefix,
    recorded_calls_ingest,
    recording_files,
    recordings_settled_then_retried,
    tenant_create,
    wait_until,
)
from tools.harness.pg import migrate
from tools.harness.server import Gunicorn, Qcluster
from tools.harness.wrk import WrkRequest, run_wrk

# A stopped server refuses at once: any answer slower than this is a request stuck somewhere.
STOPPED_LATENCY_S = 10.0
# A hung one costs each request a full connect/read timeout (DB_CONNECT_TIMEOUT 5 s; Redis 2 s to
# connect, 2 s to read), and a request may queue behind one such request per gunicorn worker
# (10 clients over 5 workers): 2 × 5 s, plus room for a loaded machine.
HUNG_LATENCY_S = 15.0
RECOVERY_BOUND_S = 15.0
BEFORE_S = 10.0
SETTLE_S = 10.0
AFTER_S = 20.0
LEASE_S = 30
FETCH_MAX_S = 20
TRICKLE_S = 8.0
RECORDINGS_PER_OUTAGE = 6
RECORDINGS_TO_KILL = 4
# A sweep runs every minute; a reclaim needs the lease to end and then the next sweep.
RECORDINGS_WAIT_S = 300.0


@dataclass
class Stack:
    """What every scenario needs: the servers, the clients, where things are stored."""

    server: Gunicorn
    cluster: Qcluster
    pg: PrivatePostgres
    database_url: str
    media_root: Path
    recording_server: RecordingServer
    reader: DrillClient
    ingester: DrillClient
    reads: list[tuple[str, WrkRequest]]
    concurrency: int
    var_dir: Path
    redis_url: str
    registered: list[str] = field(default_factory=list)


def _register_recordings(stack: Stack, label: str, count: int) -> list[str]:
    ids = recorded_calls_ingest(base_url=stack.server.base_url, token=stack.ingester.token, label=label,
                                count=count,
                                recording_url=lambda index: stack.recording_server.url(f"/{label}/{index}.flac"))
    stack.registered += ids
    return ids


def _settled_then_retried(report: Report, name: str, stack: Stack, ids: list[str]) -> float:
    return recordings_settled_then_retried(report, name, base_url=stack.server.base_url, token=stack.reader.token,
                                           database_url=stack.database_url, ids=ids, timeout_s=RECORDINGS_WAIT_S)


def _recovery_s(hits: list[Hit], restarted_at: float) -> float:
    """From the dependency's return to the first probe after which every probe answered 200."""
    after = [hit for hit in hits if hit.at >= restarted_at]
    failures = [hit for hit in after if hit.status != 200]
    if not after:
        return -1.0
    if not failures:
        return after[0].at - restarted_at
    later = [hit for hit in after if hit.at > failures[-1].at]
    return later[0].at - restarted_at if later else -1.0


def _statuses(hits: list[Hit]) -> dict[str, int]:
    return {str(status): count for status, count in sorted(Counter(hit.status for hit in hits).items())}


def _batches_check(
    report: Report, name: str, stack: Stack, plan: StreamPlan, outcomes: list[BatchOutcome], stopped_at: float
) -> None:
    """All-or-nothing per batch, then re-send what failed: every batch stored exactly once."""
    firsts = [o for o in outcomes if not o.resend]
    stored = {}
    for kind, table, column, prefix in (
        ("interactions", "conversations_interaction", "session_id", interaction_batch_prefix),
        ("contacts", "qualityai_qacontact", "conversation_id", contact_batch_prefix),
    ):
        batches = sorted({o.batch for o in firsts if o.kind == kind})
        counts = counts_by_prefix(stack.database_url, table=table, column=column,
                                  prefixes=[prefix(plan.tag, batch) for batch in batches])
        stored.update({(kind, batch): counts[prefix(plan.tag, batch)] for batch in batches})
    partial = {f"{o.kind}#{o.batch}": stored[(o.kind, o.batch)] for o in firsts
               if stored[(o.kind, o.batch)] not in (0, o.size)}
    lost = {f"{o.kind}#{o.batch}": stored[(o.kind, o.batch)] for o in firsts
            if o.status == 200 and stored[(o.kind, o.batch)] != o.size}
    in_flight = [o for o in firsts if o.sent_at <= stopped_at <= o.sent_at + o.latency_s]
    failed = [o for o in firsts if o.status != 200]
    report.data[name]["ingestion"] = {
        "batches": len(firsts),
        "statuses": dict(Counter(str(o.status) for o in firsts)),
        "in_flight_at_stop": [
            {"kind": o.kind, "batch": o.batch, "status": o.status, "rows_stored": stored[(o.kind, o.batch)],
             "size": o.size} for o in in_flight
        ],
    }
    report.check(f"{name}: each ingestion batch stored completely or not at all", not partial and not lost,
                 f"{len(firsts)} batches ({len(failed)} failed, {len(in_flight)} in flight when it stopped: "
                 + ", ".join(f"{o.kind}#{o.batch} -> {o.status}, {stored[(o.kind, o.batch)]}/{o.size} rows"
                             for o in in_flight)
                 + f"); partial: {partial or 'none'}; answered 200 but missing: {lost or 'none'}")
    headers = {"auth": plan.token, "Content-Type": "application/json"}
    resent = []
    for outcome in failed:
        interactions, contacts = batch_bodies(plan, outcome.batch)
        path, body = ((INGEST_INTERACTIONS, interactions) if outcome.kind == "interactions"
                      else (INGEST_CONTACTS.format(stream=BOT_ID), contacts))
        answer = call(stack.server.base_url, "POST", path, headers=headers, body=body, timeout_s=120)
        result = answer.json() if answer.status == 200 else {}
        resent.append(answer.status == 200 and result["created"] + result["updated"] == outcome.size
                      and not result["rejected"])
    exact = True
    for kind, table, column, prefix in (
        ("interactions", "conversations_interaction", "session_id", interaction_batch_prefix),
        ("contacts", "qualityai_qacontact", "conversation_id", contact_batch_prefix),
    ):
        sizes = {o.batch: o.size for o in firsts if o.kind == kind}
        total = counts_by_prefix(stack.database_url, table=table, column=column, prefixes=[prefix(plan.tag, None)])
        exact = exact and total[prefix(plan.tag, None)] == sum(sizes.values())
    report.check(f"{name}: failed batches re-sent, every batch stored exactly once", all(resent) and exact,
                 f"{len(failed)} re-sent, {sum(resent)} accepted; row totals equal records sent: {exact}")


@dataclass(frozen=True)
class Scenario:
    name: str
    down: Callable[[], None]
    up: Callable[[], None]
    latency_bound_s: float


def _hung(name: str, server: PrivatePostgres | PrivateRedis, silent: SilentPort) -> Scenario:
    """The server stops and its port accepts connections that are never answered; afterwards those
    connections stay half-open (as a network partition leaves them) while the server returns."""

    def down() -> None:
        server.stop()
        silent.open(server.port)

    def up() -> None:
        silent.close(keep_held=True)
        server.start()

    return Scenario(name, down, up, HUNG_LATENCY_S)


def _outage(report: Report, stack: Stack, scenario: Scenario, *, outage_s: float) -> list[str]:
    """One dependency outage under load; returns the recordings queued before it.

    1. Register recordings due now and wait (bounded) until the sweep has claimed one, so jobs are
       queued or running when the dependency goes.
    2. Start the ingestion stream, the probe and one wrk run covering the whole scenario.
    3. After ``BEFORE_S``, wait for an ingestion batch to be in flight and stop the dependency.
    4. ``outage_s`` later start it again; let the load run ``SETTLE_S + AFTER_S`` more.
    5. Check statuses, envelopes, latency, recovery, and every batch against the database.
    """
    name = scenario.name
    report.data[name] = {}
    recordings = _register_recordings(stack, name, RECORDINGS_PER_OUTAGE)
    claimed_after = wait_until(
        lambda: any(f.state == "fetching_in_progress" for f in recording_files(stack.database_url, recordings)),
        timeout_s=90,
    )
    plan = StreamPlan(
        base_url=stack.server.base_url, token=stack.ingester.token, tag=hashlib.sha256(name.encode()).hexdigest()[:14],
        interval_s=0.5, interactions_per_batch=400, contacts_per_batch=100, resend_every=0,
        start=datetime.now(UTC).replace(microsecond=0) - timedelta(days=120), timeout_s=90,
    )
    total_s = BEFORE_S + 5 + outage_s + SETTLE_S + AFTER_S
    with ExitStack() as running, ThreadPoolExecutor(max_workers=2) as pool:
        stream = running.enter_context(IngestStream(plan, stack.var_dir / f"{name}.jsonl"))
        probe = running.enter_context(Probe(stack.server.base_url, stack.reads))
        began = time.time()
        load = pool.submit(run_wrk, base_url=stack.server.base_url, requests=[r for _, r in stack.reads],
                           connections=stack.concurrency, threads=2, duration_s=total_s, timeout_s=60)
        time.sleep(BEFORE_S)
        seen_before = operator_view(stack.server.base_url)
        in_flight_since = stream.wait_in_flight(for_at_least_s=0.3, timeout_s=5)
        stopped_at = time.time()
        scenario.down()
        print(f"[outage] {name}: dependency stopped (a batch in flight since {stopped_at - in_flight_since:.1f} s)"
              if in_flight_since else f"[outage] {name}: dependency stopped", flush=True)
        time.sleep(max(0.0, stopped_at + outage_s / 2 - time.time()))
        # In a thread: the dependency comes back on time however long the probes take.
        probing = pool.submit(operator_view, stack.server.base_url)
        time.sleep(max(0.0, stopped_at + outage_s - time.time()))
        scenario.up()
        restarted_at = time.time()
        print(f"[outage] {name}: dependency back after {restarted_at - stopped_at:.0f} s", flush=True)
        result = load.result()
        seen_down = probing.result()
        stream.stop()
        probe.stop()
    hits = probe.hits
    outcomes = stream.outcomes()
    during = probe.between(stopped_at, restarted_at)
    recovery = _recovery_s(hits, restarted_at)
    statuses = {
        "wrk": {str(k): v for k, v in sorted(result.status_counts.items())},
        "probe": _statuses(hits),
        "ingestion": dict(Counter(str(o.status) for o in outcomes)),
    }
    all_503 = [hit for hit in hits if hit.status == 503]
    bad_503 = [asdict(hit) for hit in all_503 if not hit.envelope or not hit.retry_after.isdigit()]
    bad_503 += [{"batch": o.batch, "kind": o.kind} for o in outcomes
                if o.status == 503 and (not o.envelope or not o.retry_after.isdigit())]
    slowest = max([hit.latency_s for hit in hits] + [o.latency_s for o in outcomes] + [result.max_ms / 1000])
    report.data[name].update({
        "stopped_for_s": round(restarted_at - stopped_at, 1),
        "recordings_claimed_before_outage_after_s": round(claimed_after, 1),
        "wrk": wrk_summary(result),
        "statuses": statuses,
        "probe_during_outage": {"statuses": _statuses(during),
                                "max_latency_ms": round(max((h.latency_s for h in during), default=0) * 1000, 1)},
        "probe_by_endpoint_during_outage": {
            endpoint: _statuses([hit for hit in during if hit.name == endpoint])
            for endpoint in dict.fromkeys(hit.name for hit in during)
        },
        "max_latency_ms": round(slowest * 1000, 1),
        "recovery_s": round(recovery, 2),
        "scenario_s": round(time.time() - began, 1),
    })
    unexpected = {source: {s for s in counts if s not in ("200", "503")} for source, counts in statuses.items()}
    report.check(f"{name}: only 200 or 503, no 500, reset or timeout",
                 not any(unexpected.values()) and result.socket_errors == 0,
                 f"statuses {statuses}; wrk socket errors {result.socket_error_kinds}")
    report.check(f"{name}: the outage answered 503 with the envelope and Retry-After",
                 any(hit.status == 503 for hit in during) and not bad_503,
                 f"{sum(hit.status == 503 for hit in during)} probe 503s during the outage, "
                 f"{len(all_503)} in all; without envelope or Retry-After: {bad_503[:3] or 'none'}")
    report.check(f"{name}: no request hung", slowest <= scenario.latency_bound_s,
                 f"slowest answer {slowest * 1000:.0f} ms (bound {scenario.latency_bound_s:.0f} s)")
    report.check(f"{name}: recovered by itself", 0 <= recovery <= RECOVERY_BOUND_S,
                 f"every probe 200 from {recovery:.1f} s after the dependency returned "
                 f"(bound {RECOVERY_BOUND_S:.0f} s)")
    alive_after = wait_until(lambda: _cluster_alive(stack.redis_url), timeout_s=30)
    report.check(f"{name}: the task cluster's sentinel is alive again", alive_after >= 0,
                 f"status key refreshed {alive_after:.0f} s after the check began" if alive_after >= 0
                 else "no status refresh within 30 s: the sentinel is stuck")
    _batches_check(report, name, stack, plan, outcomes, stopped_at)
    _check_operator_view(report, scenario, seen_before, seen_down, operator_view(stack.server.base_url))
    return recordings


def _check_operator_view(
    report: Report, scenario: Scenario, before: OperatorView, during: OperatorView, after: OperatorView
) -> None:
    """Readiness and /metrics named the stopped service during the outage, and cleared after it."""
    name = scenario.name
    dependency = "database" if name.startswith("postgres") else "redis"
    report.data[name]["operator_view"] = {"before": asdict(before), "during": asdict(during), "after": asdict(after)}
    report.check(
        f"{name}: readiness 503 naming {dependency} and /metrics reporting it down, during the outage",
        during.ready_status == 503 and dependency in during.ready_fields
        and during.up is not None and during.up.get(dependency) == 0,
        f"readiness {during.ready_status} {during.ready_fields}; analytics_dependency_up {during.up}",
    )
    caused = (after.dependency_errors or {}).get(dependency, 0) - (before.dependency_errors or {}).get(dependency, 0)
    report.check(
        f"{name}: readiness 200 and {dependency} up again after the recovery, its 503s counted",
        before.ready_status == 200 and after.ready_status == 200 and after.up is not None
        and after.up.get(dependency) == 1 and caused > 0,
        f"readiness {before.ready_status} before, {after.ready_status} after; analytics_dependency_up {after.up}; "
        f"{caused:.0f} errors of {dependency} counted by analytics_dependency_errors_total during the outage",
    )


def _cluster_alive(redis_url: str) -> bool:
    """The qcluster's sentinel rewrites its status key (3-second expiry) every half second."""
    try:
        return bool(redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
                    .keys("django_q:*:cluster:*"))
    except redis.RedisError:
        return False


def _check_recordings(report: Report, name: str, stack: Stack, ids: list[str], served: dict[str, str]) -> None:
    """Every recording ``available`` once: database, stored objects and their checksums."""
    files = recording_files(stack.database_url, ids)
    wrong = [f"{f.conversation_id}: {f.state} ({f.last_error[:120]})" for f in files if f.state != "available"]
    bad_sum = [f.conversation_id for f in files if f.state == "available" and f.sha256 != served[f.source_url]]
    missing = []
    for stored in files:
        path = stack.media_root / stored.storage_key
        if stored.state == "available" and (
            not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != stored.sha256
        ):
            missing.append(stored.conversation_id)
    report.check(f"{name}: every recording available, with the served bytes",
                 len(files) == len(ids) and not wrong and not bad_sum and not missing,
                 f"{len(files) - len(wrong)}/{len(ids)} available; wrong sha256: {bad_sum or 'none'}; "
                 f"object missing or altered: {missing or 'none'}"
                 + (f"; not available: {wrong}" if wrong else ""))


def _check_storage(report: Report, stack: Stack) -> None:
    """Exactly the objects the database points at: no duplicate, no temporary leftover."""
    on_disk = sorted(str(path.relative_to(stack.media_root)) for path in stack.media_root.rglob("*")
                     if path.is_file())
    # Every file the database points at, the demo recordings the seeding stored included.
    expected = available_storage_keys(stack.database_url)
    report.data["storage"] = {"objects": len(on_disk), "expected": len(expected)}
    extra = sorted(set(on_disk) - set(expected))
    report.check("storage holds each recording exactly once", on_disk == expected,
                 f"{len(on_disk)} objects for {len(expected)} available files; extra: {extra[:5] or 'none'}")
    actions = audit_actions(stack.database_url)
    report.data["audit_actions"] = actions
    report.check("audit log: no recording deleted", not actions.get("recording_deleted"), str(actions))


def _fetching_worker(stack: Stack) -> int:
    """A qcluster process with an open connection to the recording server (a fetch in flight)."""
    for pid in stack.cluster.pids():
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.raddr and c.raddr.port == stack.recording_server.port and c.status == psutil.CONN_ESTABLISHED
               for c in connections):
            return pid
    return 0


def _worker_kill(report: Report, stack: Stack) -> None:
    """(d) ``kill -9`` of the worker in the middle of a fetch; every recording still ends available once.

    1. Register recordings due now on the slow recording server.
    2. Wait for a qcluster process holding a connection to that server, and kill it (SIGKILL).
    3. Wait until the killed attempt is recorded as failed (the lease runs out, the next sweep
       records it), retry it through the API, and wait until every recording is available.
    4. Check the database, the stored objects and the audit log; the cluster has replaced the worker.
    """
    report.data["worker_kill"] = {}
    ids = _register_recordings(stack, "kill", RECORDINGS_TO_KILL)
    processes_before = len(stack.cluster.pids())
    began = time.monotonic()
    victim = 0
    while not victim and time.monotonic() - began < 150:
        victim = _fetching_worker(stack)
        time.sleep(0.2)
    if not report.check("worker kill: a worker was caught mid-fetch", victim > 0,
                        f"pid {victim} after {time.monotonic() - began:.1f} s" if victim
                        else "no fetch seen within 150 s"):
        return
    # Halfway through the trickle: bytes are already in the temporary object.
    time.sleep(TRICKLE_S / 2)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    print(f"[outage] worker kill: SIGKILL to pid {victim} while fetching", flush=True)
    done_after = _settled_then_retried(report, "worker kill", stack, ids)
    served = {stack.recording_server.url(f"/kill/{i}.flac"): sha256_for(f"/kill/{i}.flac")
              for i in range(RECORDINGS_TO_KILL)}
    paths = [f"/kill/{i}.flac" for i in range(RECORDINGS_TO_KILL)]
    files = recording_files(stack.database_url, ids)
    refetched = [path for path in paths if stack.recording_server.hits[path] > 1]
    report.data["worker_kill"] = {
        "victim_pid": victim,
        "available_after_s": round(done_after, 1),
        "server_hits": {path: stack.recording_server.hits[path] for path in paths},
        "attempts": {f.conversation_id: f.attempts for f in files},
        "killed_at": killed_at,
    }
    interrupted = report.data.get("interrupted_attempts", {}).get("worker kill", {})
    report.check("worker kill: the killed attempt counted as failed once its lease ran out, then a retry fetched it",
                 done_after >= 0 and any(f.attempts >= 2 for f in files)
                 and any("lease" in error for error in interrupted.values()),
                 f"all available {done_after:.0f} s after the kill (lease {LEASE_S} s, sweep every 60 s); "
                 f"attempts {[f.attempts for f in files]}; server hits {report.data['worker_kill']['server_hits']}; "
                 f"fetched more than once: {refetched}")
    _check_recordings(report, "worker kill", stack, ids, served)
    report.check("worker kill: the cluster replaced the worker", len(stack.cluster.pids()) >= processes_before,
                 f"{processes_before} qcluster processes before, {len(stack.cluster.pids())} after")


def main() -> int:
    """Run the outage drill; the exit code says whether every criterion held.

    1. Private PostgreSQL cluster and Redis; migrate, seed, create the reader and ingester clients.
    2. Start gunicorn (Dockerfile flags) and a qcluster with short recording leases, and a local
       recording server that trickles each recording over ``TRICKLE_S`` seconds.
    3. (a) PostgreSQL outage, (b) Redis outage — see :func:`_outage`.
    4. (c) The recordings queued before each outage all become available.
    5. (d) Worker kill — see :func:`_worker_kill`; then the storage and audit log checks.
    """
    outage_s = float(os.environ.get("DRILL_OUTAGE_SECONDS") or 30)
    concurrency = int(os.environ.get("DRILL_CONCURRENCY") or 8)
    workers = int(os.environ.get("DRILL_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
    settings = {"outage_s": outage_s, "concurrency": concurrency, "workers": workers, "lease_s": LEASE_S,
                "fetch_max_s": FETCH_MAX_S, "trickle_s": TRICKLE_S, "stopped_latency_s": STOPPED_LATENCY_S,
                "hung_latency_s": HUNG_LATENCY_S,
                "recovery_bound_s": RECOVERY_BOUND_S}
    report = Report("outage", settings=settings)
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drill-outage-")))
        pg = stack.enter_context(PrivatePostgres())
        redis_server = stack.enter_context(PrivateRedis())
        recording_server = stack.enter_context(RecordingServer(trickle_s=TRICKLE_S))
        database_url = pg.create_database("drill")
        env = app_env(
            database_url=database_url, redis_url=redis_server.url(), var_dir=var_dir,
            RATE_LIMIT_PER_MINUTE="10000000", RATE_LIMIT_PER_HOUR="100000000",
            RECORDING_LEASE_SECONDS=str(LEASE_S), RECORDING_FETCH_MAX_SECONDS=str(FETCH_MAX_S),
            RECORDING_READ_TIMEOUT_SECONDS="10", RECORDING_CONNECT_TIMEOUT_SECONDS="2",
            Q_WORKERS="2", Q_TIMEOUT_SECONDS="60", Q_RETRY_SECONDS="120",
        )
        print(f"[outage] private PostgreSQL on port {pg.port}, Redis on {redis_server.port}; migrating and seeding",
              flush=True)
        migrate(database_url, env=env)
        tenant_create(env, days=7, per_day=40)
        ttl_s = 3 * 3600
        reader = client_create(env, name="drill reader",
                               scopes=["smartassist.analytics", "qualityai.analytics", "recordings", "account.admin"],
                               ttl_s=ttl_s)
        ingester = client_create(env, name="drill ingester", scopes=["ingest"], ttl_s=ttl_s)
        server = stack.enter_context(Gunicorn(env=env, workers=workers))
        cluster = stack.enter_context(Qcluster(env=env))
        reads = read_requests(token=reader.token, account_id=ACCOUNT_ID, org_id=ORG_ID, bot_id=BOT_ID,
                              conversation_ids=[], today=datetime.now(UTC))
        state = Stack(
            server=server, cluster=cluster, pg=pg, database_url=database_url, media_root=var_dir / "media",
            recording_server=recording_server, reader=reader, ingester=ingester,
            reads=[*reads, ("health", WrkRequest("GET", "/api/health", {}))],
            concurrency=concurrency, var_dir=var_dir, redis_url=redis_server.url(),
        )
        silent = SilentPort()
        stack.callback(silent.release)
        scenarios = [
            Scenario("postgres", pg.stop, pg.start, STOPPED_LATENCY_S),
            _hung("postgres-hung", pg, silent),
            Scenario("redis", redis_server.stop, redis_server.start, STOPPED_LATENCY_S),
            _hung("redis-hung", redis_server, silent),
        ]
        queued = [recording for scenario in scenarios for recording in _outage(report, state, scenario,
                                                                                outage_s=outage_s)]

        print("[outage] waiting for the recordings queued before the outages", flush=True)
        waited = _settled_then_retried(report, "queued jobs", state, queued)
        report.data["queued_recordings_available_after_s"] = round(waited, 1)
        served = {recording_server.url(f"/{scenario.name}/{i}.flac"): sha256_for(f"/{scenario.name}/{i}.flac")
                  for scenario in scenarios for i in range(RECORDINGS_PER_OUTAGE)}
        _check_recordings(report, "queued jobs resume after the outages", state, queued, served)
        _worker_kill(report, state)
        _check_storage(report, state)
        logs = {"gunicorn": log_markers(server.stderr_path), "qcluster": log_markers(cluster.stderr_path)}
        report.data["log_markers"] = logs
        unhandled = {name: counts["Unhandled exception"] + counts["Internal Server Error"]
                     for name, counts in logs.items()}
        report.check("no unhandled exception (500) logged", not any(unhandled.values()),
                     f"{unhandled}; tracebacks logged (dependency errors included): "
                     f"{ {name: counts['Traceback'] for name, counts in logs.items()} }")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
