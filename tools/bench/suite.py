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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from analytics_api.models import Account, ApiClient, Scope
from analytics_api.tenancy.services import api_client_create, jwt_mint
from changes.datasets import DATASETS
from changes.feed import feed_page
from content.criteria import conversations_matching, criteria_narrow
from content.queries import ConversationQuerySerializer
from content.selectors import (
    ConversationQuery,
    conversation_detail_get,
    conversation_page,
    conversation_transcript_get,
)
from conversations.models import InteractionQueue
from conversations.selectors import interaction_page, interaction_page_rows
from conversations.serializers import interaction_query_validate
from qualityai.selectors import RawdataQuery, rawdata_page
from qualityai.serializers import RawdataQuerySerializer
from search.engines import SORT_RELEVANCE, ranked_statement
from search.text import search_query_parse
from search.units import identifier_key
from tools.bench import exports as export_bench
from tools.bench import search as search_bench
from tools.bench.content import content_lines
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
from tools.bench.floors import FloorResult, Statement, floor_measure, json_page_sql, json_rows_sql
from tools.bench.report import FIGURES, Report, Stat
from tools.harness.server import BIN, REPO, Gunicorn, process_env
from tools.harness.threads import threads_run
from tools.harness.wrk import WrkRequest, WrkResult, run_wrk

FEED = "/api/v1/changes?dataset=interactions&limit={limit}"
FEED_LIMIT = 10_000
CONVERSATIONS = "/api/v1/conversations/query"
CONVERSATION = "/api/v1/conversations/{session}"
# The Conversations table's figure: a 7-day window, one filter, a page of 25 (issue 13).
CONVERSATION_FILTER = {"status": ["completed"]}
CONVERSATION_PAGE = 25
# Search (issue 14): a two-word query and a four-word phrase, relevance order, a page of 25. The data
# set's transcripts hold them in ~5% and ~2% of conversations (tools/bench/dataset.py SEARCH_LINES).
SEARCH_QUERIES = {"two words": "late delivery", "four-word phrase": "credit card payment declined"}
EXPORT_FORMATS = ("ndjson", "csv", "parquet")
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
    # Seconds per wrk run when the suite's are too short for a few responses (pages of MBs).
    seconds: float | None = None
    # What the floor is, when it is not the whole page's SQL (shown under the table).
    floor_note: str = ""
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


def endpoint_statements(read: Any) -> list[Statement]:
    """The SELECTs ``read()`` runs (the endpoint's own selectors, in this process), each as a floor statement.

    Captured as Django sends them (parameters bound), so the floor is the endpoint's SQL, not a copy;
    each is wrapped so that PostgreSQL also renders its rows as JSON text (:func:`json_rows_sql`).
    """
    with CaptureQueriesContext(connection) as captured:
        read()
    return [json_rows_sql(query["sql"]) for query in captured.captured_queries
            if query["sql"].lstrip().upper().startswith("SELECT")]


class Suite:
    """Prepare (data, clients, floors), measure against a server, report."""

    def __init__(
        self, *, url: str, quick: bool, runs: int, seconds: float, window_end: datetime,
        figures: tuple[str, ...] = FIGURES,
    ) -> None:
        self.url = url
        self.quick = quick
        self.figures = figures
        scale = QUICK if quick else FULL
        # Conversation content is only loaded for the figures that read it.
        self.scale = scale if {"content", "search"} & set(figures) else replace(scale, content=False)
        self.runs = runs
        self.seconds = seconds
        self.window_end = window_end
        self.scenarios: list[Scenario] = []
        self.ceilings: list[Scenario] = []
        self.ingestion: dict[str, Any] = {}
        self.imports: list[dict[str, Any]] = []
        self.load: LoadReport | None = None
        self.templates: Templates | None = None
        self.exports: dict[str, Any] = {}
        self.search_index: dict[str, Any] = {}
        self.replica: dict[str, Any] = {}
        self.server_rss: float | None = None
        # Wall seconds of each part of the run, for BENCHMARKS.md's "how long each part takes".
        self.timings: dict[str, float] = {}

    # ---- preparation -------------------------------------------------------------------------

    def needs_data(self) -> bool:
        return bool({"core", "content", "search", "exports", "feed"} & set(self.figures))

    def prepare(self) -> None:
        """1. Load the data set. 2. A client per account with every scope and no rate limit.
        3. Define the scenarios from real queries. 4. Measure every floor before the server starts."""
        began = time.perf_counter()
        if self.needs_data():
            print(f"Loading {self.scale} …", flush=True)
            self.load = dataset_load(url=self.url, scale=self.scale, window_end=self.window_end)
            print(f"Loaded in {self.load.seconds:.0f} s ({self.load.rows_per_second:,.0f} rows/s)", flush=True)
            self.timings["data set"] = time.perf_counter() - began
        self.accounts = accounts_ensure(self.scale)
        self.account: Account = self.accounts[0]
        self.stream = self.account.bots.get()
        self.client, self.token = bench_client(account=self.account)
        self._define_scenarios()
        began = time.perf_counter()
        for scenario in self.scenarios + self.ceilings:
            if not scenario.floor_statements:
                continue
            for _ in range(self.runs):
                scenario.floor.append(
                    floor_measure(url=self.url, statements=scenario.floor_statements, seconds=self.seconds / 2)
                )
            print(f"floor {scenario.key}: {scenario.floor[-1].p50_ms:.1f} ms", flush=True)
        if any(scenario.floor for scenario in self.scenarios):
            self.timings["floors"] = time.perf_counter() - began
        if "search" in self.figures:
            self.search_index = search_index_size()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"auth": self.token, "Content-Type": "application/json", **extra}

    def _define_scenarios(self) -> None:
        if "core" in self.figures:
            self._define_interactions()
            self._define_rawdata()
        if "feed" in self.figures:
            self._define_feed()
        if "content" in self.figures:
            self._define_conversations()
        if "search" in self.figures:
            self._define_search()
        if "core" in self.figures:
            week_page0 = self.scenarios[0]
            self.ceilings.append(Scenario(
                key="ceiling-prerendered", figure="ceiling",
                title="interactionDetails week page 0, pre-rendered (same server and auth)",
                request=WrkRequest(
                    "POST", f"/tools/bench/prerendered/{self.account.account_id}?limit=100&offset=0",
                    self._headers(), week_page0.request.body,
                ),
                records=week_page0.records, floor_statements=[],
            ))
        if "overhead" in self.figures:
            self.ceilings.append(Scenario(
                key="ceiling-noop", figure="ceiling", title="no-op DRF endpoint (same server and auth)",
                request=WrkRequest("POST", "/tools/bench/noop", self._headers(), b"{}"), records=0,
                floor_statements=[],
            ))

    def _define_interactions(self) -> None:
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
                        interaction_page_rows(account=self.account, query=query), 0, query.limit
                    ),
                ))

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
                self.scenarios.append(Scenario(
                    key=f"rawdata{custom.replace(' ', '-')}-offset{offset}", figure="3",
                    title=f"Quality AI rawdata{custom}, offset {offset:,}",
                    request=WrkRequest(
                        "POST", RAWDATA.format(stream=self.stream.bot_id),
                        self._headers(accountId=self.account.account_id, orgId=self.account.org_id),
                        orjson.dumps(body),
                    ),
                    records=page.count,
                    # The endpoint's own SQL: settings, the kept day counts, the uncounted days' COUNT, the page.
                    floor_statements=endpoint_statements(
                        lambda query=query: rawdata_page(account=self.account, stream=self.stream, query=query)
                    ),
                ))

    def _define_feed(self) -> None:
        """The change feed read from the beginning, a full page of ``FEED_LIMIT`` interactions."""
        page = feed_page(account=self.account, dataset=DATASETS["interactions"], after=None, limit=FEED_LIMIT)
        self.scenarios.append(Scenario(
            key="feed-interactions", figure="6", title=f"change feed, interactions, limit {FEED_LIMIT:,}",
            request=WrkRequest("GET", FEED.format(limit=FEED_LIMIT), {"auth": self.token}),
            records=page.count, floor_statements=[], seconds=max(self.seconds, 15.0),
        ))

    def _week(self) -> dict[str, str]:
        """The last 7 days up to the data set's end, as the conversation query takes them (UTC)."""
        start = self.window_end - timedelta(days=7)
        return {"startDate": start.strftime("%Y-%m-%d %H:%M:%S"),
                "endDate": self.window_end.strftime("%Y-%m-%d %H:%M:%S")}

    def _conversation_query(self, body: dict[str, Any]) -> ConversationQuery:
        validated = ConversationQuerySerializer(data=body)
        validated.is_valid(raise_exception=True)
        return ConversationQuery.from_validated(validated.validated_data)

    def _define_conversations(self) -> None:
        """Issue 13: the Conversations table (7 days, a filter, 25 rows), one conversation, its transcript.

        Each floor is the SQL the endpoint's own selectors run (captured), rendered to JSON by PostgreSQL.
        """
        body = {**self._week(), "filters": CONVERSATION_FILTER, "limit": CONVERSATION_PAGE}
        query = self._conversation_query(body)
        page = conversation_page(account=self.account, query=query)
        if not page.results:
            raise RuntimeError("the conversation query's window holds no conversation: was content loaded?")
        self.scenarios.append(Scenario(
            key="conversations-query", figure="7",
            title=f"conversations/query, 7 days, status filter, {CONVERSATION_PAGE} rows",
            request=WrkRequest("POST", CONVERSATIONS, self._headers(), orjson.dumps(body)),
            records=len(page.results),
            floor_statements=endpoint_statements(lambda: conversation_page(account=self.account, query=query)),
        ))
        # A conversation from the middle of that page: an ordinary one, with an interaction record.
        session = page.results[len(page.results) // 2]["sessionId"]

        def detail() -> None:
            conversation_detail_get(account=self.account, session_id=session)

        def transcript() -> int:
            return len(conversation_transcript_get(account=self.account, session_id=session)[1])

        messages = transcript()
        for key, title, path, read, records in (
            ("conversation-detail", "conversation detail", CONVERSATION.format(session=session), detail, 1),
            ("conversation-transcript", f"conversation transcript ({messages} messages)",
             CONVERSATION.format(session=session) + "/transcript", transcript, messages),
        ):
            self.scenarios.append(Scenario(
                key=key, figure="7", title=title, request=WrkRequest("GET", path, {"auth": self.token}),
                records=records, floor_statements=endpoint_statements(read),
            ))

    def _define_search(self) -> None:
        """Issue 14: ranked search over the 7-day window, page of 25; the floor is the ranked statement alone."""
        week = self._week()
        for name, q in SEARCH_QUERIES.items():
            body = {**week, "q": q, "limit": CONVERSATION_PAGE}
            query = self._conversation_query(body)
            page = conversation_page(account=self.account, query=query)
            candidates = conversations_matching(account=self.account, start=query.start, end=query.end, criteria={})
            sql, params = ranked_statement(
                account_id=self.account.pk, candidates=candidates, query=search_query_parse(q),
                identifier=identifier_key(q), exclude_agent_ai=False, sort=SORT_RELEVANCE, after=None,
                limit=CONVERSATION_PAGE + 1, window=(query.start, query.end), filtered=criteria_narrow(query.criteria),
            )
            with connection.cursor() as cursor:
                literal = cursor.mogrify(sql, params)
            self.scenarios.append(Scenario(
                key=f"search-{name.replace(' ', '-')}", figure="8",
                title=f"search {name} {q!r}, 7 days, relevance, {CONVERSATION_PAGE} rows ({page.total:,} match)",
                request=WrkRequest("POST", CONVERSATIONS, self._headers(), orjson.dumps(body)),
                records=len(page.results), floor_statements=[(literal, None)],
                floor_note="the ranked full-text statement alone",
                # A ranked page can take most of a second on a busy machine: runs long enough for several.
                seconds=max(self.seconds, 10.0),
            ))

    # ---- measurement -------------------------------------------------------------------------

    def measure(self, server: Gunicorn) -> None:
        parts = {"core": "core", "feed": "feed", "7": "content", "8": "search", "ceiling": "core"}
        for scenario in self.scenarios + self.ceilings:
            began = time.perf_counter()
            self._wrk(server, scenario)
            part = "overhead" if scenario.key == "ceiling-noop" else parts.get(scenario.figure, "core")
            self.timings[part] = self.timings.get(part, 0.0) + time.perf_counter() - began
        if {"core", "content"} & set(self.figures):
            began = time.perf_counter()
            self._measure_ingestion(server)
            if "core" in self.figures:
                self._measure_import()
            self.timings["ingestion and import"] = time.perf_counter() - began
        self.server_rss = server.rss_mb()

    def measure_exports(self) -> None:
        """Issue 16: a 7-day window exported in each format by a worker process, beside COPY of the same rows.

        Through ``tools/bench/exports.py``'s own steps: ``copy_rows_measure`` (COPY … TO STDOUT of the window's
        served texts in export order) and ``export_in_worker`` (a fresh worker process runs the job to completion
        and reports its peak RSS); each run measures COPY again, so every ratio is of the same moment.
        """
        from exports.models import ExportJob
        from exports.services import export_create

        began = time.perf_counter()
        start = self.window_end - timedelta(days=7)
        body = {"dataset": "interactions", "startDate": start.strftime("%Y-%m-%d %H:%M:%S"),
                "endDate": self.window_end.strftime("%Y-%m-%d %H:%M:%S")}
        worker_env = {**os.environ, "PYTHONPATH": str(REPO)}
        copies: list[tuple[int, int, float]] = []
        runs: dict[str, list[dict[str, float]]] = {fmt: [] for fmt in EXPORT_FORMATS}
        for _ in range(self.runs):
            copies.append(export_bench.copy_rows_measure(self.url, self.account.pk, start, self.window_end))
            rows = copies[-1][0]
            for fmt in EXPORT_FORMATS:
                job = export_create(account=self.account, client=self.client, body={**body, "format": fmt},
                                    idempotency_key=None)
                seconds, cpu, rss, exporting = export_bench.export_in_worker(worker_env, job.pk)
                job = ExportJob.objects.get(pk=job.pk)
                if job.state != "completed" or job.rows != rows:
                    raise RuntimeError(f"export {fmt}: {job.state}, {job.rows} rows where COPY read {rows}")
                # The export's own rate is that of a running worker (django-q2's are long-lived); the
                # fresh process's, start-up included, is kept beside it.
                runs[fmt].append({"rows_per_s": job.rows / exporting, "mb_per_s": job.bytes / exporting / 1e6,
                                  "process_rows_per_s": job.rows / seconds,
                                  "rows_per_cpu_s": job.rows / max(cpu, 1e-9), "peak_rss_mb": rss / 2**20,
                                  "bytes": job.bytes})
                print(f"export {fmt}: {job.rows / exporting:,.0f} rows/s ({job.rows / seconds:,.0f} with the "
                      f"worker's start-up), peak RSS {rss / 2**20:.0f} MB", flush=True)
        self.exports = export_figures(copies=copies, runs=runs)
        self.timings["exports"] = time.perf_counter() - began

    def measure_replica(self, *, workers: int) -> None:
        """Issue 18: reads at concurrency 8 with one streaming replica vs the primary alone
        (``tools/bench/replica.py``, in a process of its own: it runs its own private servers)."""
        began = time.perf_counter()
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            out = Path(handle.name)
        command = [
            str(BIN / "python"), "-m", "tools.bench.replica", "--json", str(out), "--runs", str(self.runs),
            "--seconds", str(self.seconds), "--workers", str(workers), *(["--quick"] if self.quick else []),
        ]
        env = process_env({key: os.environ[key] for key in ("SECRET_KEY", "BENCH_REDIS_URL", "PG_BIN")
                           if key in os.environ})
        try:
            subprocess.run(command, cwd=REPO, env=env, check=True)
            self.replica = orjson.loads(out.read_bytes())
        finally:
            out.unlink(missing_ok=True)
        self.timings["replica"] = time.perf_counter() - began

    def measure_hello(self, server: Gunicorn) -> None:
        """The bare WSGI "hello" (``tools/bench/hello.py``), a ceiling beside the no-op endpoint."""
        began = time.perf_counter()
        hello = Scenario(
            key="ceiling-hello", figure="ceiling", title='bare WSGI "hello" (same gunicorn configuration, no Django)',
            request=WrkRequest("POST", "/", self._headers(), b"{}"), records=0, floor_statements=[],
        )
        self.ceilings.append(hello)
        self._wrk(server, hello)
        self.timings["overhead"] = self.timings.get("overhead", 0.0) + time.perf_counter() - began

    def _wrk(self, server: Gunicorn, scenario: Scenario) -> None:
        """Warm every worker, then ``runs`` × (concurrency 1 latency, concurrency 8 throughput)."""
        seconds = scenario.seconds or self.seconds
        # Long runs are for slow answers (pages of MBs, ranked searches): at c8 on a busy machine one
        # can take longer than wrk's default 10 s, which wrk would count as a socket error.
        timeout_s = 10.0 if scenario.seconds is None else max(10.0, 2 * seconds)
        run_wrk(
            base_url=server.base_url, requests=[scenario.request], connections=8, threads=2,
            duration_s=1 if scenario.seconds is None else seconds, timeout_s=timeout_s,
        )
        for _ in range(self.runs):
            for bucket, connections, threads in ((scenario.c1, 1, 1), (scenario.c8, 8, 2)):
                result = run_wrk(
                    base_url=server.base_url, requests=[scenario.request], connections=connections,
                    threads=threads, duration_s=seconds, timeout_s=timeout_s,
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
        if not {"core", "content"} & set(self.figures):
            return
        assert self.load is not None
        self.templates = self.load.templates
        batches = 4 if self.quick else 24
        kinds: dict[str, tuple[str, Any]] = {}
        if "core" in self.figures:
            kinds.update({
            "interactions": ("/api/v1/ingest/interactions", lambda tag: interaction_lines(
                templates=self.templates, count=batches * 1000, account_tag=tag, bot_id=self.stream.bot_id,
                org_id=self.account.org_id, start=self.window_end - timedelta(days=30),
            )),
            "qa_contacts": (f"/api/v1/ingest/qualityai/{self.stream.bot_id}/contacts", lambda tag: contact_lines(
                templates=self.templates, count=batches * 1000, account_tag=tag,
                start=self.window_end - timedelta(days=30),
            )),
            })
        if "content" in self.figures:
            # Conversation content with 30-message transcripts (tools/bench/content.py).
            kinds["conversation_content"] = ("/api/v1/ingest/conversations", lambda tag: content_lines(
                count=batches * 1000, account_tag=tag, start=self.window_end - timedelta(days=30),
            ))
        numbers = {"interactions": 0, "qa_contacts": 1, "conversation_content": 2}
        for kind, (path, lines) in kinds.items():
            number = numbers[kind]
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
                peak = _HighWaterMark(child.pid)
                output = child.stdout.read()
                peak_kb = peak.stop()
                status = child.wait()
                wall = time.perf_counter() - began
                if status != 0:
                    raise RuntimeError(f"import_interactions failed: {output[-2000:]!r}")
            finally:
                path.unlink()
            self.imports.append({
                "lines": lines, "seconds": wall, "records_per_s": lines / wall,
                "peak_rss_mb": peak_kb / 1024, "file_mb": size_mb,
            })
            print(
                f"import {lines:,} lines: {lines / wall:,.0f} records/s, peak RSS {peak_kb / 1024:.0f} MB", flush=True
            )

    def report(self) -> Report:
        return Report.build(suite=self)


def export_figures(*, copies: list[tuple[int, int, float]], runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """The export figures of several runs: COPY's rows/s and MB/s, and per format the medians with the
    ratio of its rows/s to COPY's in the same run (median of the per-run ratios), for the export in a
    running worker and for the whole fresh process (start-up included)."""
    copy_rates = [rows / seconds for rows, _size, seconds in copies]
    figures: dict[str, Any] = {
        "rows": copies[0][0],
        "copy": {"rows_per_s": Stat.of(copy_rates),
                 "mb_per_s": Stat.of(size / seconds / 1e6 for _rows, size, seconds in copies)},
        "formats": {},
    }
    for fmt, items in runs.items():
        if not items:
            continue
        figures["formats"][fmt] = {
            "rows_per_s": Stat.of(item["rows_per_s"] for item in items),
            "process_rows_per_s": Stat.of(item["process_rows_per_s"] for item in items),
            "mb_per_s": Stat.of(item["mb_per_s"] for item in items),
            "rows_per_cpu_s": Stat.of(item["rows_per_cpu_s"] for item in items),
            "peak_rss_mb": max(item["peak_rss_mb"] for item in items),
            "vs_copy_rows": statistics.median(
                item["rows_per_s"] / rate for item, rate in zip(items, copy_rates, strict=False)
            ),
            "process_vs_copy_rows": statistics.median(
                item["process_rows_per_s"] / rate for item, rate in zip(items, copy_rates, strict=False)
            ),
        }
    return figures


def search_index_size() -> dict[str, Any]:
    """The search index's size on disk (text vectors with their GIN index, identifiers), per million conversations.

    The sizes are ``tools/bench/search.py``'s own measure (:func:`~tools.bench.search.index_size`).
    """
    size = search_bench.index_size()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM content_conversation")
        (conversations,) = cursor.fetchone()
    total = size["messages_table_bytes"] + size["identifiers_bytes"]
    return {"bytes": total, "conversations": conversations,
            "gib_per_million": total / max(conversations, 1) * 1e6 / 2**30}


class _HighWaterMark:
    """The peak resident memory (``VmHWM``) of a running process, read until it exits.

    Not ``wait4``'s ``ru_maxrss``: Linux counts in it the memory of the process that forked the
    child, before ``exec`` — this benchmark's own few hundred MB, which made every import look like
    it peaked at the runner's size. ``VmHWM`` belongs to the exec'd program alone; it only grows, so
    the last reading before exit is the peak (up to the last ``interval_s``).
    """

    def __init__(self, pid: int, *, interval_s: float = 0.05) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self._interval_s = interval_s
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                status = self._path.read_text()
            except OSError:  # exited
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            self._done.wait(self._interval_s)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak_kb


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
