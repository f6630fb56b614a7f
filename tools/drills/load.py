"""``make drill-load``: the production server under sustained read load and a steady ingestion stream.

Backing services: a scratch database (dropped at the end) on the PostgreSQL server of
``DRILL_ADMIN_URL`` (default: the machine's, ``harness.pg.ADMIN_URL``) and a private
``redis-server`` on a free port — the system Redis serves other people's tests, and a
private one can be neither disturbed nor disturb (same django-q2 queue names, rate-limit keys).

Environment: ``DRILL_DURATION`` (seconds of soak after warm-up, default 600), ``DRILL_CONCURRENCY``
(wrk connections, default 32), ``DRILL_PHASES`` (default 5), ``DRILL_WORKERS`` (gunicorn workers,
default 2 × cores + 1), ``DRILL_INGEST_INTERVAL`` (seconds between ingestion rounds, default 2).

Pass criteria (exit 1 otherwise), results in ``tools/drills/results/load-latest.json``:

- reads: every response 200, no socket error or timeout, in every phase;
- the deliberately limited client: only 200 and 429, 429s carry ``Retry-After`` and the error
  envelope, and no more 200s than its limit allows;
- ingestion: every batch answered 200 with nothing rejected, first sends all created and resends
  all updated; the database holds exactly each batch's records (none lost, none duplicated);
- the recordings registered at start are fetched (``available``) by the qcluster under load;
- the service's own ``/metrics`` agrees with the load generator: per phase, the read requests it
  counted are wrk's plus the probe's (within the requests in flight at the edges), and wrk's p50
  and p99 fall in (or within one bucket above) the histogram buckets holding the service's own;
  over the run, its rate-limit refusals are exactly the limited client's 429s, its accepted
  ingestion records exactly the records sent, none rejected, and the recordings' fetch attempts
  are counted (the qcluster writes to the same multiprocess directory);
- memory: no gunicorn or qcluster process grows over the second half of the soak (from the end of
  phase ceil(N/2) to the end) by more than ``RSS_TOLERANCE_MB`` + ``RSS_TOLERANCE_RATIO`` of its
  size. The first half is left out because a Python process climbs to the high-water mark of its
  allocator while it meets ever larger combinations of requests and responses (the first
  10-minute run grew about 10 MiB a phase for three phases, then stayed flat); a leak keeps
  growing after that. The growth over the whole soak is reported as well.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.drills.backends import PrivateRedis
from tools.drills.client import Probe, call
from tools.drills.ingest import BatchOutcome, IngestStream, StreamPlan
from tools.drills.metrics import LATENCY, REQUESTS, Scrape, latency_agrees, quantile, quantile_bounds, scrape
from tools.drills.recording_server import RecordingServer, sha256_for
from tools.drills.records import (
    DETAILS,
    INGEST_INTERACTIONS,
    RETENTION,
    contact_batch_prefix,
    interaction_batch_prefix,
    interaction_record,
    json_body,
    read_requests,
)
from tools.drills.report import Report, log_markers, wrk_summary
from tools.drills.stack import (
    ACCOUNT_ID,
    BOT_ID,
    ORG_ID,
    DrillClient,
    app_env,
    client_create,
    client_limit,
    counts_by_prefix,
    is_available,
    recordings_wait,
    tenant_create,
)
from tools.harness.pg import ADMIN_URL, migrate, scratch_database
from tools.harness.server import Gunicorn, Qcluster
from tools.harness.wrk import run_wrk

READ_SCOPES = ["smartassist.analytics", "qualityai.analytics", "recordings", "account.admin"]
RSS_TOLERANCE_MB = 8.0
RSS_TOLERANCE_RATIO = 0.05
LIMITED_PER_MINUTE = 20
# Twelve times its limit when answers are fast; still over it when a loaded server takes a second.
LIMITED_RATE_PER_S = 4.0
RECORDINGS = 4
# The operationIds of the read requests (tools.drills.records.read_requests), as /metrics names them.
READ_OPERATIONS = ["interactionDetails", "callDetails", "rawdata", "getRetentionSettings", "listAuditLog",
                   "getRecording"]


@dataclass(frozen=True)
class LoadSettings:
    duration_s: float
    concurrency: int
    phases: int
    workers: int
    warmup_s: float
    ingest_interval_s: float
    interactions_per_batch: int = 100
    contacts_per_batch: int = 50
    resend_every: int = 10
    seed_days: int = 14
    seed_per_day: int = 200

    @classmethod
    def from_env(cls) -> LoadSettings:
        duration = float(os.environ.get("DRILL_DURATION") or 600)
        return cls(
            duration_s=duration,
            concurrency=int(os.environ.get("DRILL_CONCURRENCY") or 32),
            phases=max(1, int(os.environ.get("DRILL_PHASES") or 5)),
            workers=int(os.environ.get("DRILL_WORKERS") or 2 * (os.cpu_count() or 1) + 1),
            warmup_s=min(30.0, max(5.0, duration / 10)),
            ingest_interval_s=float(os.environ.get("DRILL_INGEST_INTERVAL") or 2),
        )


class LimitedClient:
    """A client over its rate limit on purpose: paced requests in a thread, every answer kept."""

    def __init__(self, *, base_url: str, client: DrillClient, rate_per_s: float) -> None:
        self.base_url = base_url
        self.client = client
        self.interval_s = 1 / rate_per_s
        self.statuses: Counter[int] = Counter()
        self.bad_429s: list[str] = []
        self.first_at = self.last_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="limited-client", daemon=True)

    def _run(self) -> None:
        path = DETAILS.format(account=ACCOUNT_ID, endpoint="interactionDetails") + "?limit=10"
        today = datetime.now(UTC).date()
        body = json_body({"startDate": (today - timedelta(days=1)).isoformat(), "endDate": today.isoformat(),
                          "timeZoneOffset": 0})
        headers = {"auth": self.client.token, "Content-Type": "application/json"}
        began = time.monotonic()
        sent = 0
        self.first_at = time.time()
        while not self._stop.is_set():
            answer = call(self.base_url, "POST", path, headers=headers, body=body, timeout_s=30)
            self.statuses[answer.status] += 1
            if answer.status == 429:
                code = answer.json()["errors"][0]["code"] if answer.is_error_envelope() else ""
                if not answer.headers.get("retry-after", "").isdigit() or code != "rate_limited":
                    retry_after = answer.headers.get("retry-after")
                    self.bad_429s.append(f"Retry-After={retry_after!r} body={answer.body[:200]!r}")
            sent += 1
            self.last_at = time.time()
            self._stop.wait(max(0.0, began + sent * self.interval_s - time.monotonic()))

    def allowed_at_most(self) -> int:
        """Its limit for every clock minute the run touched: fixed windows start on the minute."""
        windows = int(self.last_at // 60) - int(self.first_at // 60) + 1
        return LIMITED_PER_MINUTE * windows

    def __enter__(self) -> LimitedClient:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _setup_recordings(base_url: str, ingester: DrillClient, server: RecordingServer) -> list[str]:
    """Voice calls whose recordings are due now (ended 20 minutes ago); their conversation ids."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    records = [
        interaction_record(tag="10ad5e70000000", batch=0, index=index, bot_id=BOT_ID, org_id=ORG_ID,
                           start=start + timedelta(seconds=index), recording_url=server.url(f"/load/{index}.flac"))
        for index in range(RECORDINGS)
    ]
    answer = call(base_url, "POST", INGEST_INTERACTIONS, body=json_body({"records": records}),
                  headers={"auth": ingester.token, "Content-Type": "application/json"})
    if answer.status != 200 or answer.json()["created"] != RECORDINGS:
        raise RuntimeError(f"could not ingest the recordings' calls: {answer.status} {answer.body[:500]!r}")
    return [record["conversationId"] for record in records]


def _setup_retention(base_url: str, reader: DrillClient) -> None:
    """A retention change, so that the audit log endpoint has an entry to page through."""
    body = json_body({"retentionDays": 365, "notifyCustomers": False})
    answer = call(base_url, "PUT", RETENTION, body=body, headers={"auth": reader.token,
                                                                  "Content-Type": "application/json"})
    if answer.status != 200:
        raise RuntimeError(f"could not change the retention settings: {answer.status} {answer.body[:500]!r}")


def _rss(server: Gunicorn, cluster: Qcluster) -> dict[str, dict[str, float]]:
    sizes = {f"gunicorn:{pid}": size for pid, size in server.rss_mb().items()}
    sizes.update({f"qcluster:{pid}": size for pid, size in cluster.rss_mb().items()})
    return {name: round(size, 1) for name, size in sizes.items()}


def _check_ingestion(report: Report, outcomes: list[BatchOutcome], database_url: str, tag: str) -> None:
    """Every batch answered and stored exactly once: counted per batch id in the database."""
    failed = [o for o in outcomes if o.status != 200 or o.rejected]
    report.check("ingestion answers", not failed and bool(outcomes),
                 f"{len(outcomes)} batches, {len(failed)} not 200 or with rejections"
                 + (f"; first: {failed[0].status} {failed[0].error[:200]}" if failed else ""))
    miscounted = [o for o in outcomes if o.status == 200 and (
        (o.created, o.updated) != ((0, o.size) if o.resend else (o.size, 0)))]
    report.check("ingestion created/updated", not miscounted,
                 f"{sum(o.created for o in outcomes)} created, {sum(o.updated for o in outcomes)} updated "
                 f"({sum(o.resend for o in outcomes)} resent batches); {len(miscounted)} batches miscounted")
    for kind, table, column, prefix in (
        ("interactions", "conversations_interaction", "session_id", interaction_batch_prefix),
        ("contacts", "qualityai_qacontact", "conversation_id", contact_batch_prefix),
    ):
        sizes = {o.batch: o.size for o in outcomes if o.kind == kind and not o.resend}
        stored = counts_by_prefix(database_url, table=table, column=column,
                                  prefixes=[prefix(tag, batch) for batch in sorted(sizes)])
        wrong = {batch: stored[prefix(tag, batch)] for batch, size in sizes.items()
                 if stored[prefix(tag, batch)] != size}
        total = counts_by_prefix(database_url, table=table, column=column, prefixes=[prefix(tag, None)])
        rows = total[prefix(tag, None)]
        report.check(f"{kind} stored per batch", not wrong and rows == sum(sizes.values()),
                     f"{len(sizes)} batches, {sum(sizes.values())} records sent, {rows} rows in the database"
                     + (f"; wrong batches (batch: rows): {dict(list(wrong.items())[:5])}" if wrong else ""))
    latencies = sorted(o.latency_s * 1000 for o in outcomes if o.status == 200)
    if latencies:
        report.data["ingestion_latency_ms"] = {
            "p50": round(latencies[len(latencies) // 2], 1),
            "p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            "max": round(latencies[-1], 1),
        }


def _phase_metrics(
    before: Scrape, after: Scrape, result: Any, probe_hits: int, *, concurrency: int, limited_200s: int
) -> tuple[dict[str, Any], list[str]]:
    """What /metrics says of one wrk phase beside what wrk measured, and the disagreements."""
    change = after.minus(before)
    counted = sum(change.total(REQUESTS, operation=name, status_class="2xx") for name in READ_OPERATIONS)
    expected = result.requests + probe_hits
    buckets = change.buckets(READ_OPERATIONS)
    summary = {
        "requests_counted": int(counted), "requests_wrk_and_probe": expected,
        "p50_ms": round(quantile(0.5, buckets) * 1000, 1), "p99_ms": round(quantile(0.99, buckets) * 1000, 1),
        "wrk_p50_ms": round(result.p50_ms, 1), "wrk_p99_ms": round(result.p99_ms, 1),
    }
    problems = []
    # Requests in flight when wrk stops are answered (and counted) after it stopped counting.
    if not expected - 2 <= counted <= expected + concurrency + limited_200s + 2:
        problems.append(f"counted {counted:.0f} read requests, wrk and the probe made {expected}")
    for q, measured in ((0.5, result.p50_ms), (0.99, result.p99_ms)):
        bounds = quantile_bounds(q, buckets)
        if not latency_agrees(measured_ms=measured, bounds_s=bounds):
            problems.append(f"p{q * 100:g}: wrk {measured:.1f} ms, /metrics bucket {bounds[0] * 1000:g}-"
                            f"{bounds[1] * 1000:g} ms")
    return summary, problems


def _check_run_metrics(
    report: Report, change: Scrape, *, refused: int, outcomes: list[BatchOutcome], recordings: int
) -> None:
    """The run's counts in /metrics against what the drill itself sent and saw."""
    limited = change.total("analytics_rate_limited_total", reason="client_minute")
    report.check("/metrics: rate-limit refusals are the limited client's 429s", limited == refused,
                 f"/metrics {limited:.0f}, the limited client got {refused} 429s")
    sent = recordings + sum(o.size for o in outcomes if o.status == 200)
    accepted = change.total("analytics_ingested_records_total", outcome="accepted")
    rejected = change.total("analytics_ingested_records_total", outcome="rejected")
    report.check("/metrics: ingested records are the records sent", accepted == sent and rejected == 0,
                 f"/metrics {accepted:.0f} accepted and {rejected:.0f} rejected; {sent} records sent and accepted")
    attempts = {
        dict(labels)["outcome"]: value for (sample, labels), value in change.samples.items()
        if sample == "analytics_recording_fetch_attempts_total" and value
    }
    report.check("/metrics: the recordings' fetch attempts are counted by the qcluster",
                 sum(attempts.values()) >= recordings,
                 f"{sum(attempts.values()):.0f} fetch attempts for {recordings} recordings, by outcome {attempts}")
    report.data["metrics"] = {
        "requests_by_operation": {
            name: change.total(REQUESTS, operation=name) for name in sorted({
                dict(labels)["operation"] for sample, labels in change.samples if sample == REQUESTS
            })
        },
        "rate_limited": limited, "ingested_accepted": accepted, "ingested_rejected": rejected,
        "fetch_attempts": attempts,
        "tasks": {outcome: change.total("analytics_tasks_total", outcome=outcome)
                  for outcome in ("success", "failure")},
        "latency_observations": change.total(f"{LATENCY}_count"),
    }


def _check_rss(report: Report, baseline: dict[str, float], end: dict[str, float], *, since: str) -> None:
    grown = {}
    for name, before in baseline.items():
        after = end.get(name)
        if after is None:
            grown[name] = "exited"
        elif after - before > RSS_TOLERANCE_MB + RSS_TOLERANCE_RATIO * before:
            grown[name] = f"{before:.1f} -> {after:.1f} MiB"
    spread = ", ".join(f"{name} {baseline[name]:.0f}->{end.get(name, 0):.0f}" for name in sorted(baseline))
    report.check("memory flat", not grown,
                 f"MiB {since} -> end, tolerance {RSS_TOLERANCE_MB:.0f} MiB + {RSS_TOLERANCE_RATIO:.0%}: {spread}"
                 + (f"; grew: {grown}" if grown else ""))


def main() -> int:
    """Run the load drill; the exit code says whether every criterion held.

    1. Private Redis, scratch database on the system PostgreSQL, migrate, seed the drill's account
       (``seed_demo``), create the reader, ingester and limited API clients with their JWTs.
    2. Start gunicorn (Dockerfile flags, ``DRILL_WORKERS`` workers, no access log) and a qcluster;
       register a few recordings due now on a local recording server, change retention once.
    3. Check every read request answers 200 (five rounds, one request at a time: the unloaded
       latency per endpoint), then start the ingestion stream (a separate process), the limited
       client (a paced thread) and a sequential probe; they run until the end.
    4. Warm-up wrk run.
    5. ``DRILL_PHASES`` wrk runs of ``DRILL_DURATION / DRILL_PHASES`` seconds each across all read
       endpoints at ``DRILL_CONCURRENCY`` connections; RSS after each, the one after phase
       ceil(N/2) being the memory baseline.
    6. Stop the stream and the limited client; verify statuses, 429s, ingestion against the
       database, recordings and memory; write and print the results.
    """
    settings = LoadSettings.from_env()
    report = Report("load", settings=asdict(settings))
    tag = secrets.token_hex(7)
    ttl_s = int(settings.duration_s + settings.warmup_s + 3600)
    with ExitStack() as stack:
        var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drill-load-")))
        redis = stack.enter_context(PrivateRedis())
        admin_url = os.environ.get("DRILL_ADMIN_URL") or ADMIN_URL
        database_url = stack.enter_context(scratch_database(admin_url=admin_url, prefix="drill_load"))
        recording_server = stack.enter_context(RecordingServer())
        env = app_env(database_url=database_url, redis_url=redis.url(), var_dir=var_dir,
                      RATE_LIMIT_PER_MINUTE="10000000", RATE_LIMIT_PER_HOUR="100000000")
        print(f"[load] migrating and seeding {database_url}", flush=True)
        migrate(database_url, env=env)
        tenant_create(env, days=settings.seed_days, per_day=settings.seed_per_day)
        reader = client_create(env, name="drill reader", scopes=READ_SCOPES, ttl_s=ttl_s)
        ingester = client_create(env, name="drill ingester", scopes=["ingest"], ttl_s=ttl_s)
        limited = client_create(env, name="drill limited", scopes=["smartassist.analytics"], ttl_s=ttl_s)
        client_limit(database_url, limited, per_minute=LIMITED_PER_MINUTE)
        # One multiprocess metrics directory for gunicorn and the qcluster, as make run gives them.
        env["PROMETHEUS_MULTIPROC_DIR"] = str(var_dir / "metrics")

        server = stack.enter_context(Gunicorn(env=env, workers=settings.workers))
        cluster = stack.enter_context(Qcluster(env=env))
        print(f"[load] gunicorn {server.base_url} ({settings.workers} workers), qcluster up", flush=True)
        at_start = scrape(server.base_url)
        conversation_ids = _setup_recordings(server.base_url, ingester, recording_server)
        _setup_retention(server.base_url, reader)
        reads = read_requests(token=reader.token, account_id=ACCOUNT_ID, org_id=ORG_ID, bot_id=BOT_ID,
                              conversation_ids=conversation_ids, today=datetime.now(UTC))
        broken = {}
        unloaded: dict[str, list[float]] = {}
        for _round in range(5):
            for name, request in reads:
                answer = call(server.base_url, request.method, request.path, headers=request.headers,
                              body=request.body)
                unloaded.setdefault(name, []).append(answer.latency_s * 1000)
                if answer.status != 200:
                    broken[name] = f"{answer.status} {answer.body[:300]!r}"
        # One request at a time, nothing else running: what each endpoint costs by itself.
        report.data["unloaded_latency_ms"] = {name: round(sorted(times)[len(times) // 2], 1)
                                              for name, times in unloaded.items()}
        if not report.check("every read request answers 200 before the load", not broken, str(broken or "yes")):
            return report.finish()

        plan = StreamPlan(
            base_url=server.base_url, token=ingester.token, tag=tag, interval_s=settings.ingest_interval_s,
            interactions_per_batch=settings.interactions_per_batch, contacts_per_batch=settings.contacts_per_batch,
            resend_every=settings.resend_every,
            # Months back: the stream must not change what the read phases measure.
            start=datetime.now(UTC).replace(microsecond=0) - timedelta(days=90),
        )
        stream = stack.enter_context(IngestStream(plan, var_dir / "ingest.jsonl"))
        limiter = stack.enter_context(LimitedClient(base_url=server.base_url, client=limited,
                                                    rate_per_s=LIMITED_RATE_PER_S))
        # One request at a time beside wrk: latency per endpoint, which wrk's mix cannot tell apart.
        probe = stack.enter_context(Probe(server.base_url, reads))
        phases: dict[str, Any] = {}
        rss_timeline: dict[str, dict[str, float]] = {"start": _rss(server, cluster)}
        wrk_args = {"base_url": server.base_url, "requests": [request for _, request in reads],
                    "connections": settings.concurrency, "threads": 2}
        print(f"[load] warm-up {settings.warmup_s:.0f} s", flush=True)
        phases["warm-up"] = wrk_summary(run_wrk(**wrk_args, duration_s=settings.warmup_s))
        rss_timeline["after warm-up"] = baseline = _rss(server, cluster)
        phase_s = settings.duration_s / settings.phases
        baseline_phase = math.ceil(settings.phases / 2) if settings.phases > 1 else 0
        bad_phases = []
        disagreements = []
        for number in range(1, settings.phases + 1):
            before, began = scrape(server.base_url), time.time()
            result = run_wrk(**wrk_args, duration_s=phase_s)
            after, ended = scrape(server.base_url), time.time()
            name = f"phase {number}"
            limited_200s = LIMITED_PER_MINUTE * (int(ended // 60) - int(began // 60) + 1)
            probe_200s = sum(hit.status == 200 for hit in probe.between(began, ended))
            seen, problems = _phase_metrics(before, after, result, probe_200s,
                                            concurrency=settings.concurrency, limited_200s=limited_200s)
            disagreements += [f"{name}: {problem}" for problem in problems]
            phases[name] = {**wrk_summary(result), "load_average": os.getloadavg()[0], "metrics": seen}
            rss_timeline[f"after {name}"] = _rss(server, cluster)
            if number == baseline_phase:
                baseline = rss_timeline[f"after {name}"]
            print(f"[load] {name}: {result.requests} requests, {result.rps:.0f} rps, p50 {result.p50_ms:.0f} ms, "
                  f"p99 {result.p99_ms:.0f} ms, statuses {result.status_counts}, "
                  f"socket errors {result.socket_errors}", flush=True)
            if set(result.status_counts) != {200} or result.socket_errors:
                bad_phases.append(f"{name}: {result.status_counts}, socket errors {result.socket_error_kinds}")
        stream.stop()
        limiter.stop()
        probe.stop()
        end = _rss(server, cluster)
        report.data["latency_by_endpoint_ms"] = probe.latency_ms()
        report.check("/metrics agrees with wrk: read requests counted, p50 and p99", not disagreements,
                     "; ".join(disagreements) or f"{settings.phases} phases agree")
        probe_errors = {hit.name: hit.status for hit in probe.hits if hit.status != 200}

        report.data["phases"] = phases
        report.data["rss_mb"] = rss_timeline
        report.check("reads: only 200, no socket errors or timeouts", not bad_phases and not probe_errors,
                     "; ".join(bad_phases) or f"{sum(p['requests'] for p in phases.values())} wrk requests in "
                     f"{len(phases)} runs and {len(probe.hits)} probe requests, all 200"
                     + (f"; probe failures: {probe_errors}" if probe_errors else ""))
        statuses = dict(limiter.statuses)
        report.data["limited_client"] = {"statuses": statuses, "allowed_at_most": limiter.allowed_at_most()}
        report.check(
            "limited client: only 200 and 429, within its limit",
            set(statuses) <= {200, 429} and statuses.get(429, 0) > 0 and not limiter.bad_429s
            and statuses.get(200, 0) <= limiter.allowed_at_most(),
            f"statuses {statuses}, at most {limiter.allowed_at_most()} allowed "
            f"({LIMITED_PER_MINUTE}/min); 429s without Retry-After/envelope: {len(limiter.bad_429s)}",
        )
        outcomes = stream.outcomes()
        _check_ingestion(report, outcomes, database_url, tag)
        states, waited = recordings_wait(server.base_url, reader.token, conversation_ids, timeout_s=150,
                                         done=is_available)
        unverified = {
            cid: states[cid] for index, cid in enumerate(conversation_ids)
            if not is_available(states[cid])
            or [item["sha256"] for item in states[cid]["files"]] != [sha256_for(f"/load/{index}.flac")]
        }
        report.check("recordings fetched under load (available, sha256 of the served bytes)", not unverified,
                     f"{len(conversation_ids) - len(unverified)}/{len(conversation_ids)} verified "
                     f"({waited:.0f} s after the load)" + (f"; not: {unverified}" if unverified else ""))
        _check_run_metrics(report, scrape(server.base_url).minus(at_start), refused=statuses.get(429, 0),
                           outcomes=outcomes, recordings=RECORDINGS)
        _check_rss(report, baseline, end,
                   since=f"after phase {baseline_phase}" if baseline_phase else "after warm-up")
        report.data["rss_growth_over_the_soak_mb"] = {
            name: round(end.get(name, 0) - size, 1) for name, size in rss_timeline["after warm-up"].items()
        }
        report.data["rss_mb"]["end"] = end
        logs = {"gunicorn": log_markers(server.stderr_path), "qcluster": log_markers(cluster.stderr_path)}
        report.data["log_markers"] = logs
        report.check("no error or traceback logged", not any(sum(counts.values()) for counts in logs.values()),
                     str(logs))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
