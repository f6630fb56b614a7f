"""Conversation content for the ingestion benchmark, and a standalone run of that figure.

:func:`content_lines` makes content records (JSON lines) of the shape ``seed_demo`` gives, each with a
transcript of ``messages`` messages (30 by default: the sizing figure of docs/conversation-storage.md),
its events, status, scores and sentiment. Texts are drawn from the demo's lines, so a record weighs
what a real one does (about 4.5 KB of JSON for 30 messages).

Standalone (a scratch database on ``BENCH_ADMIN_URL``, created and dropped; gunicorn as in production)::

    .venv/bin/python -m tools.bench.content [--batches 24] [--posters 4] [--workers 4] [--messages 30] [--no-updates]

prints records/s of ``POST /api/v1/ingest/conversations`` in batches of 1,000, new conversations,
then the same batches again (updates), and the in-process split of one batch (validation, storage).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from analytics_api.kernel.collector import collector_tuned
from analytics_api.kernel.dates import render_utc_ms

LINES = (
    "Hi! I'm the virtual assistant. How can I help you today?",
    "My refund was not received and it has been two weeks since I returned the order.",
    "Sorry to hear that. Let me check your refund. Can you give me the order number?",
    "Sure, it is 4512-7781-22.",
    "Thanks. I can see the return was received on the 3rd; the refund is being processed.",
    "Can I talk to a person please?",
    "Thanks for waiting, I have your account open now.",
    "I can see the issue. The refund was sent to an expired card; I will send it again to the new one.",
    "That is done. Is there anything else I can help you with?",
    "No, that's all. Thank you!",
)
ROLES = ("bot", "customer", "bot", "customer", "bot", "customer", "agent", "agent", "agent", "customer")
EVENTS = ("routing_initiated", "conversation_accepted", "agent_joined", "disposition_updated", "agent_left",
          "conversation_closed")
STATUSES = ("completed", "completed", "completed_user_hangup", "completed_drop_off", "in_progress", "error")


def content_record(index: int, *, account_tag: int, start: datetime, messages: int, rng: random.Random) -> dict:
    """One conversation's content: ``messages`` messages a few seconds apart, six events, the small sections."""
    at = start + timedelta(seconds=index)
    transcript = []
    for number in range(messages):
        at += timedelta(milliseconds=rng.randint(800, 9000))
        role = ROLES[number % len(ROLES)]
        message: dict[str, Any] = {"id": f"m{number + 1}", "time": render_utc_ms(at), "role": role,
                                   "text": LINES[number % len(LINES)]}
        if role == "agent":
            message.update(agentId="u-7f2a9c1e", agentName="Jane Doe")
        if number == 5:
            message.update(kind="transfer_to_agent", role="system", text="User transferred to Agent")
        transcript.append(message)
    events = [{"id": f"e{number + 1}", "type": kind, "time": transcript[min(5 + number, messages - 1)]["time"],
               "agentId": "u-7f2a9c1e", "queueId": "qu-billing"} for number, kind in enumerate(EVENTS)]
    status = STATUSES[index % len(STATUSES)]
    record = {
        "sessionId": f"b{account_tag:02x}{index:021x}",
        "status": status,
        "language": "en",
        "csat": {"score": rng.choice((None, 3, 4, 5))},
        "like": rng.choice((None, True, False)),
        "sentiment": {"overall": rng.choice(("positive", "neutral", "negative", "mixed")), "emotions": ["gratitude"]},
        "transcript": transcript,
        "events": events,
    }
    if status == "error":
        record["errorMessage"] = "Realtime API error: rate_limit_exceeded (429)."
    return record


def content_lines(*, count: int, account_tag: int, start: datetime, messages: int = 30) -> Iterator[bytes]:
    """``count`` content records as JSON lines, deterministic for a tag."""
    rng = random.Random(account_tag)
    for index in range(count):
        yield orjson.dumps(content_record(index, account_tag=account_tag, start=start, messages=messages, rng=rng))


def _backend_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) of a local PostgreSQL backend, from /proc; None when not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _in_process(account: Any, client: Any, bodies: list[bytes], runs: int = 3, profile: int = 0) -> dict[str, float]:
    """CPU seconds of one batch of new conversations through the whole request in this process (Django's
    test client: auth, JSON parsing, validation, storage, the answer), and of its PostgreSQL backend: on an
    idle machine, 1,000 records / (their sum / cores) is the ceiling of the figure."""
    from django.db import connection
    from rest_framework.test import APIClient

    from analytics_api.tenancy.services import jwt_mint

    http = APIClient()
    token = jwt_mint(client=client, ttl_seconds=3600)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    best: dict[str, float] = {}
    # As in a gunicorn worker serving a batch (analytics_api.kernel.collector): the application frozen, the collector's
    # thresholds raised; otherwise collections land in whatever function runs and skew the split.
    with collector_tuned():
        for run in range(runs):
            best = _in_process_run(http, token, pid, bodies, run, best, profile if run == runs - 1 else 0)
    return best


def _in_process_run(http: Any, token: str, pid: int, bodies: list[bytes], run: int, best: dict[str, float],
                    profile: int) -> dict[str, float]:
    """One batch in process; ``best`` is kept unless this run's CPU (Python + backend) is lower."""
    body = bodies[run % len(bodies)].replace(b'"sessionId":"b', f'"sessionId":"p{run}'.encode())
    profiler = cProfile.Profile() if profile else None
    backend, python = _backend_cpu_s(pid), time.process_time()
    if profiler is not None:
        profiler.enable()
    answer = http.generic("POST", "/api/v1/ingest/conversations", body, content_type="application/json",
                          headers={"auth": token}, HTTP_HOST="127.0.0.1")
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    python = time.process_time() - python
    after = _backend_cpu_s(pid)
    assert answer.status_code == 200 and answer.json()["created"] == 1000, answer.content[:300]
    database = after - backend if after is not None and backend is not None else float("nan")
    if not best or python + database < best["python_s"] + best["database_s"]:
        return {"python_s": python, "database_s": database}
    return best


def storage_sizes() -> list[str]:
    """Bytes per conversation on PostgreSQL: each content table's total size (heap, TOAST, indexes) over
    its rows, and a document's stored size (compressed) beside its JSON text."""
    from django.db import connection

    lines = []
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE content_conversation, content_transcript, content_eventlog")
        cursor.execute("SELECT count(*) FROM content_conversation")
        conversations = cursor.fetchone()[0] or 1
        for table in ("content_conversation", "content_conversationagent", "content_transcript", "content_eventlog",
                      "content_voiceturns"):
            # Summed over the table's partitions (a partitioned parent holds no storage of its own).
            cursor.execute(
                "SELECT coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0), "
                f"coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('{table}')"
            )
            heap, indexes, total = cursor.fetchone()
            lines.append(f"{table}: {total / conversations:,.0f} B per conversation "
                         f"(table with TOAST {heap / conversations:,.0f}, indexes {indexes / conversations:,.0f})")
        for table, column in (("content_transcript", "messages"), ("content_eventlog", "events"),
                              ("content_conversation", "sections")):
            cursor.execute(f"SELECT avg(pg_column_size({column})), avg(octet_length({column}::text)) FROM {table}")
            stored, text = cursor.fetchone()
            lines.append(f"{table}.{column}: {stored or 0:,.0f} B stored per row for {text or 0:,.0f} B of JSON")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.content", description=__doc__)
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="Print the N functions with the most own time in the in-process batch (cProfile)")
    parser.add_argument("--no-updates", action="store_true",
                        help="Skip the second pass (updates): the storage sizes are then of rows written once")
    args = parser.parse_args(argv)

    import django

    from tools.harness.pg import ADMIN_URL, migrate, scratch_database
    from tools.harness.server import Gunicorn

    with (
        tempfile.TemporaryDirectory(prefix="bench-var-", ignore_cleanup_errors=True) as var_dir,
        scratch_database(admin_url=os.environ.get("BENCH_ADMIN_URL", ADMIN_URL), prefix="benchcontent") as url,
    ):
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir}
        migrate(url, env=env)
        os.environ.update(env, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tools.bench.settings", DJANGO_DEBUG="false")
        django.setup()
        from analytics_api.models import ApiClient, Scope
        from analytics_api.tenancy.services import account_ensure, api_client_create, jwt_mint
        from content.models import Conversation
        from tools.bench.suite import UNLIMITED, _batches, _post_all

        account = account_ensure(account_id="benchcontent00000000000a", org_id="o-bench", bot_ids=["st-bench"])
        client = api_client_create(account_id=account.account_id, scopes=Scope.values, name="bench")
        ApiClient.objects.filter(pk=client.pk).update(rate_limit_per_minute=UNLIMITED, rate_limit_per_hour=UNLIMITED)
        headers = {"auth": jwt_mint(client=client, ttl_seconds=3600), "Content-Type": "application/json"}
        start = datetime.now(UTC) - timedelta(days=1)
        bodies = list(_batches(content_lines(count=args.batches * 1000, account_tag=1, start=start,
                                             messages=args.messages), 1000))
        print(f"{len(bodies)} batches of 1,000 records, {statistics.mean(map(len, bodies)) / 2**20:.1f} MB each",
              flush=True)
        server_env = {**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tools.bench.settings",
                      "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")}
        with Gunicorn(env=server_env, workers=args.workers) as server:
            _post_all(server.base_url, "/api/v1/ingest/conversations", bodies[:1], headers, posters=1)  # warm-up
            for label in ("created",) if args.no_updates else ("created", "updated"):
                began = time.perf_counter()
                done = _post_all(server.base_url, "/api/v1/ingest/conversations", bodies, headers,
                                 posters=args.posters)
                wall = time.perf_counter() - began
                print(f"{label}: {len(bodies) * 1000:,} records in {wall:.1f} s = "
                      f"{len(bodies) * 1000 / wall:,.0f} records/s ({done:,} created)", flush=True)
        split = _in_process(account, client, bodies, profile=args.profile)
        cpu = split["python_s"] + split["database_s"]
        print(f"one batch of 1,000, CPU: request in Python {split['python_s'] * 1000:.0f} ms, PostgreSQL backend "
              f"{split['database_s'] * 1000:.0f} ms; ceiling on {os.cpu_count()} idle cores "
              f"{1000 * (os.cpu_count() or 1) / cpu:,.0f} records/s", flush=True)
        print(f"stored conversations: {Conversation.objects.count():,}", flush=True)
        for line in storage_sizes():
            print(line, flush=True)
        from django.db import connection

        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
