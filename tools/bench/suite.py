"""The figures of the benchmark, each measured beside its floor (needs Django set up)."""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.db.models import QuerySet

from analytics_api.models import Account, ApiClient, Scope
from analytics_api.tenancy.services import api_client_create, jwt_mint
from changes.datasets import DATASETS
from changes.feed import feed_page
from conversations.models import InteractionQueue
from conversations.selectors import interaction_page, interaction_rows
from conversations.serializers import interaction_query_validate
from qualityai.selectors import PAGE_ORDER, RawdataQuery, contact_queryset, rawdata_page, stream_min_duration_ms
from qualityai.serializers import RawdataQuerySerializer
from tools.bench.content import CONTENT_TARGET, content_lines
from tools.bench.dataset import (
    FULL,
    QUICK,
    LoadReport,
    Templates,
    accounts_ensure,
    contact_lines,
    dataset_load,
    interaction_lines,
)
from tools.bench.floors import FloorResult, Statement, count_sql, floor_measure, json_page_sql
from tools.bench.report import Report, Stat
from tools.harness.server import BIN, REPO, Gunicorn, process_env
from tools.harness.threads import threads_run
from tools.harness.wrk import WrkRequest, WrkResult, run_wrk

FEED = "/api/v1/changes?dataset=interactions&limit={limit}"
FEED_LIMIT = 10_000
INTERACTIONS = "/agentassist/api/public/analytics/account/{account}/v2/interactionDetails?limit=100&offset={page}"
RAWDATA = "/qualityai/api/v1/public/qualitymanagement/app/{stream}/rawdata"
SECTIONS = {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []}
# Rate limits out of the way: the benchmark measures work, not refusals.
UNLIMITED = 2_000_000_000


@dataclass
class Scenario:
    key: str
    figure: str
    title: str
    request: WrkRequest
    records: int
    floor_statements: list[Statement]
    floor: list[FloorResult] = field(default_factory=list)
    c1: list[WrkResult] = field(default_factory=list)
    c8: list[WrkResult] = field(default_factory=list)


def bench_client(*, account: Account) -> tuple[ApiClient, str]:
    """A client of ``account`` with every scope and no practical rate limit, and a 12-hour token."""
    client = api_client_create(account_id=account.account_id, scopes=Scope.values, name="bench")
    ApiClient.objects.filter(pk=client.pk).update(rate_limit_per_minute=UNLIMITED, rate_limit_per_hour=UNLIMITED)
    client.refresh_from_db()
    return client, jwt_mint(client=client, ttl_seconds=12 * 3600)


def _first_rows(queryset: QuerySet | None, skip: int, limit: int) -> list[Statement]:
    return [] if queryset is None else [json_page_sql(queryset, skip=skip, limit=limit)]


class Suite:
    """Prepare (data, clients, floors), measure against a server, report."""

    def __init__(self, *, url: str, quick: bool, runs: int, seconds: float, window_end: datetime) -> None:
        self.url = url
        self.quick = quick
        self.scale = QUICK if quick else FULL
        self.runs = runs
        self.seconds = seconds
        self.window_end = window_end
        self.scenarios: list[Scenario] = []
        self.ceilings: list[Scenario] = []
        self.ingestion: dict[str, Any] = {}
        self.imports: list[dict[str, Any]] = []
        self.load: LoadReport | None = None
        self.templates: Templates | None = None

    # ---- preparation -------------------------------------------------------------------------

    def prepare(self) -> None:
        """1. Load the data set. 2. A client per account with every scope and no rate limit.
        3. Define the scenarios from real queries. 4. Measure every floor before the server starts."""
        print(f"Loading {self.scale} …", flush=True)
        self.load = dataset_load(url=self.url, scale=self.scale, window_end=self.window_end)
        print(f"Loaded in {self.load.seconds:.0f} s ({self.load.rows_per_second:,.0f} rows/s)", flush=True)
        self.accounts = accounts_ensure(self.scale)
        self.account: Account = self.accounts[0]
        self.stream = self.account.bots.get()
        self.client, self.token = bench_client(account=self.account)
        self._define_scenarios()
        for scenario in self.scenarios + self.ceilings:
            if not scenario.floor_statements:
                continue
            for _ in range(self.runs):
                scenario.floor.append(
                    floor_measure(url=self.url, statements=scenario.floor_statements, seconds=self.seconds / 2)
                )
            print(f"floor {scenario.key}: {scenario.floor[-1].p50_ms:.1f} ms", flush=True)

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"auth": self.token, "Content-Type": "application/json", **extra}

    def _define_scenarios(self) -> None:
        last_day = (self.window_end - timedelta(days=1)).date()
        week = {"startDate": str(last_day - timedelta(days=6)), "endDate": str(last_day), "timeZoneOffset": -330}
        queue = (
            InteractionQueue.objects.filter(account=self.account).values_list("queue_id", flat=True).first()
        )
        variants: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
            ("1", "week", {}, (0, 5, 10)),
            ("2", "voice", {"channels": ["voice"]}, (0, 10)),
            ("2", "queue", {"queues": [queue]}, (0, 10)),
            ("2", "sections", {"selectedFields": SECTIONS}, (0, 10)),
        ]
        for figure, name, extra, pages in variants:
            body = {**week, **extra}
            for page in pages:
                query = interaction_query_validate(
                    query_params={"limit": "100", "offset": str(page)}, body=body, header_offset=None
                )
                served = interaction_page(account=self.account, query=query)
                self.scenarios.append(Scenario(
                    key=f"interactions-{name}-page{page}", figure=figure,
                    title=f"interactionDetails {name}, page {page}",
                    request=WrkRequest(
                        "POST", INTERACTIONS.format(account=self.account.account_id, page=page),
                        self._headers(), orjson.dumps(body),
                    ),
                    records=served.count,
                    floor_statements=_first_rows(
                        interaction_rows(account=self.account, query=query), query.skip, query.limit
                    ),
                ))
        self._define_rawdata()
        self._define_feed()
        week_page0 = self.scenarios[0]
        self.ceilings = [
            Scenario(
                key="ceiling-noop", figure="ceiling", title="no-op DRF endpoint (same server and auth)",
                request=WrkRequest("POST", "/tools/bench/noop", self._headers(), b"{}"), records=0,
                floor_statements=[],
            ),
            Scenario(
                key="ceiling-prerendered", figure="ceiling",
                title="interactionDetails week page 0, pre-rendered (same server and auth)",
                request=WrkRequest(
                    "POST", f"/tools/bench/prerendered/{self.account.account_id}?limit=100&offset=0",
                    self._headers(), week_page0.request.body,
                ),
                records=week_page0.records, floor_statements=[],
            ),
        ]

    def _define_rawdata(self) -> None:
        start = (self.window_end - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
        end = self.window_end.strftime("%Y-%m-%d %H:%M:%S")
        deep = 50_000 if not self.quick else 5_000
        for custom, filters in (("", {}), (" custom_fields", {"custom_fields": {"Region": ["US", "UK"]}})):
            for offset in (0, deep):
                body = {"startDate": start, "endDate": end, "offset": offset, "limit": 100, "page": 1, **filters}
                validated = RawdataQuerySerializer(data=body)
                validated.is_valid(raise_exception=True)
                query = RawdataQuery.from_validated(validated.validated_data)
                page = rawdata_page(account=self.account, stream=self.stream, query=query)
                contacts = contact_queryset(
                    stream=self.stream, query=query, min_duration_ms=stream_min_duration_ms(stream=self.stream)
                )
                self.scenarios.append(Scenario(
                    key=f"rawdata{custom.replace(' ', '-')}-offset{offset}", figure="3",
                    title=f"Quality AI rawdata{custom}, offset {offset:,}",
                    request=WrkRequest(
                        "POST", RAWDATA.format(stream=self.stream.bot_id),
                        self._headers(accountId=self.account.account_id, orgId=self.account.org_id),
                        orjson.dumps(body),
                    ),
                    records=page.count,
                    floor_statements=[
                        count_sql(contacts),
                        json_page_sql(contacts.order_by(*PAGE_ORDER), skip=query.skip, limit=query.limit),
                    ],
                ))

    def _define_feed(self) -> None:
        """The change feed read from the beginning, a full page of ``FEED_LIMIT`` interactions."""
        page = feed_page(account=self.account, dataset=DATASETS["interactions"], after=None, limit=FEED_LIMIT)
        self.scenarios.append(Scenario(
            key="feed-interactions", figure="6", title=f"change feed, interactions, limit {FEED_LIMIT:,}",
            request=WrkRequest("GET", FEED.format(limit=FEED_LIMIT), {"auth": self.token}),
            records=page.count, floor_statements=[],
        ))

    # ---- measurement -------------------------------------------------------------------------

    def measure(self, server: Gunicorn) -> None:
        for scenario in self.scenarios + self.ceilings:
            self._wrk(server, scenario)
        self._measure_ingestion(server)
        self._measure_import()
        self.server_rss = server.rss_mb()

    def _wrk(self, server: Gunicorn, scenario: Scenario) -> None:
        """Warm every worker, then ``runs`` × (concurrency 1 latency, concurrency 8 throughput)."""
        run_wrk(base_url=server.base_url, requests=[scenario.request], connections=8, threads=2, duration_s=1)
        for _ in range(self.runs):
            for bucket, connections, threads in ((scenario.c1, 1, 1), (scenario.c8, 8, 2)):
                result = run_wrk(
                    base_url=server.base_url, requests=[scenario.request], connections=connections,
                    threads=threads, duration_s=self.seconds,
                )
                if set(result.status_counts) != {200} or result.socket_errors:
                    raise RuntimeError(
                        f"{scenario.key}: statuses {result.status_counts}, socket errors {result.socket_errors}"
                    )
                bucket.append(result)
        print(
            f"{scenario.key}: p50 {statistics.median(r.p50_ms for r in scenario.c1):.1f} ms, "
            f"{statistics.median(r.rps for r in scenario.c8):.0f} req/s at c8",
            flush=True,
        )

    def _measure_ingestion(self, server: Gunicorn) -> None:
        """Records/s of batches of 1,000 through the API, four posters in parallel, new records each run."""
        assert self.load is not None
        self.templates = self.load.templates
        batches = 4 if self.quick else 24
        kinds = {
            "interactions": ("/api/v1/ingest/interactions", lambda tag: interaction_lines(
                templates=self.templates, count=batches * 1000, account_tag=tag, bot_id=self.stream.bot_id,
                org_id=self.account.org_id, start=self.window_end - timedelta(days=30),
            )),
            "qa_contacts": (f"/api/v1/ingest/qualityai/{self.stream.bot_id}/contacts", lambda tag: contact_lines(
                templates=self.templates, count=batches * 1000, account_tag=tag,
                start=self.window_end - timedelta(days=30),
            )),
            # Conversation content with 30-message transcripts (tools/bench/content.py).
            "conversation_content": ("/api/v1/ingest/conversations", lambda tag: content_lines(
                count=batches * 1000, account_tag=tag, start=self.window_end - timedelta(days=30),
            )),
        }
        for number, (kind, (path, lines)) in enumerate(kinds.items()):
            rates = []
            for run in range(self.runs):
                bodies = list(_batches(lines(0x40 + number * 16 + run), 1000))
                began = time.perf_counter()
                created = _post_all(server.base_url, path, bodies, self._headers(), posters=4)
                wall = time.perf_counter() - began
                if created != len(bodies) * 1000:
                    raise RuntimeError(f"ingestion of {kind}: {created} created of {len(bodies) * 1000}")
                rates.append(created / wall)
            self.ingestion[kind] = {"records_per_s": Stat.of(rates), "batch": 1000, "posters": 4}
            if kind == "conversation_content":
                self.ingestion[kind]["target"] = CONTENT_TARGET
            print(f"ingest {kind}: {statistics.median(rates):,.0f} records/s", flush=True)

    def _measure_import(self) -> None:
        """``import_interactions`` of files of two sizes: records/s and peak RSS (constant memory)."""
        assert self.templates is not None
        full = 20_000 if self.quick else 200_000
        target = self.accounts[1]
        for tag, lines in ((0x80, full // 4), (0x81, full)):
            with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
                for line in interaction_lines(
                    templates=self.templates, count=lines, account_tag=tag, bot_id=target.bots.get().bot_id,
                    org_id=target.org_id, start=self.window_end - timedelta(days=30),
                ):
                    handle.write(line + b"\n")
            path = Path(handle.name)
            size_mb = path.stat().st_size / 2**20
            try:
                command = [str(BIN / "python"), "manage.py", "import_interactions", target.account_id, str(path)]
                env = process_env({key: os.environ[key] for key in ("DATABASE_URL", "SECRET_KEY", "VAR_DIR")})
                began = time.perf_counter()
                child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                assert child.stdout is not None
                output = child.stdout.read()
                _, status, usage = os.wait4(child.pid, 0)
                wall = time.perf_counter() - began
                if status != 0:
                    raise RuntimeError(f"import_interactions failed: {output[-2000:]!r}")
            finally:
                path.unlink()
            self.imports.append({
                "lines": lines, "seconds": wall, "records_per_s": lines / wall,
                "peak_rss_mb": usage.ru_maxrss / 1024, "file_mb": size_mb,
            })
            print(f"import {lines:,} lines: {lines / wall:,.0f} records/s, peak RSS {usage.ru_maxrss / 1024:.0f} MB",
                  flush=True)

    def report(self) -> Report:
        return Report.build(suite=self)


def _batches(lines: Iterator[bytes], size: int) -> Iterator[bytes]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield b'{"records":[' + b",".join(batch) + b"]}"
            batch = []
    if batch:
        yield b'{"records":[' + b",".join(batch) + b"]}"


def _post_all(base_url: str, path: str, bodies: list[bytes], headers: dict[str, str], *, posters: int) -> int:
    """POST every body from ``posters`` threads (one keep-alive connection each); records created."""
    parts = urlsplit(base_url)
    queue = list(reversed(bodies))
    lock = threading.Lock()
    created = [0]
    failures: list[str] = []

    def post() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        while True:
            with lock:
                if not queue or failures:
                    break
                body = queue.pop()
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            payload = answer.read()
            with lock:
                if answer.status != 200:
                    failures.append(f"{answer.status}: {payload[:500]!r}")
                else:
                    created[0] += orjson.loads(payload)["created"]
        connection.close()

    threads_run([post] * posters)
    if failures:
        raise RuntimeError(f"ingestion failed: {failures[0]}")
    return created[0]
