"""Results as JSON (``tools/bench/results/latest.json``) and markdown (``latest.md``, ``BENCHMARKS.md``).

Every figure is the median of the runs with min and max beside it, and its ratio to its floor: the
machine is shared and noisy, so ratios measured in the same run travel better than raw numbers.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

if TYPE_CHECKING:
    from tools.bench.suite import Scenario, Suite

_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
# The figure selector's names (``--figures``), in the order a full run measures them.
FIGURES = ("core", "content", "search", "feed", "overhead", "exports", "replica")
FIGURE_HELP = {
    "core": "interactionDetails, rawdata, the pre-rendered ceiling, ingestion of interactions and QA contacts, import",
    "content": "conversations/query, a conversation, its transcript (with floors); content ingestion (issue 13)",
    "search": "ranked search, two words and a phrase, with its SQL floor; index size (issue 14)",
    "feed": "the change feed at limit 10,000 (issue 16)",
    "overhead": "the no-op endpoint against a bare WSGI hello on the same gunicorn configuration (issue 17)",
    "exports": "a 7-day export in each format beside COPY; worker peak RSS (issue 16)",
    "replica": "reads at c8 with one streaming replica vs the primary alone, on private servers (issue 18)",
}
# The interactionDetails and calldetails figures: issue 17's tighter targets apply to them.
INTERACTION_FIGURES = ("1", "2")
TARGETS = {
    "p50_vs_floor": 2.0,  # a read's p50 ≤ 2× its PostgreSQL floor (rawdata, conversation reads, search)
    "p99_vs_p50": 3.0,
    "records_share_c8": 0.5,  # ≥ 50% of PostgreSQL's own records/s at concurrency 8
    # interactionDetails and calldetails (figures 1 and 2), closer to the floor (issue 17).
    "interactions_p50_vs_floor": 1.5,
    "interactions_records_share_c8": 0.6,
    "ingest_records_per_s": 10_000,  # interactions through the API, 4 posters (issue 17)
    "ingest_qa_contacts_per_s": 6_000,  # Quality AI contacts through the API, 4 posters (issue 17)
    "import_records_per_s": 10_000,  # import_interactions lines/s (issue 17)
    "import_peak_rss_mb": 200,
    "feed_records_per_s": 20_000,  # one consumer (c1), pages of 10,000
    "noop_vs_hello": 0.5,  # the no-op endpoint's req/s ÷ the bare WSGI hello's, same server configuration
    "content_per_s": 3000,  # conversations/s of content ingestion, 30-message transcripts (issue 13)
    "search_p50_ms": 100,  # ranked search over a 7-day window, page of 25 (issue 14)
    "export_ndjson_vs_copy": 0.5,  # NDJSON export rows/s ÷ COPY's rows/s of the same window (issue 16)
    "export_peak_rss_mb": 200,  # peak RSS of the export worker (issue 16)
}
# Records/s through the API (batches of 1,000, 4 posters) by kind of ingestion: the one place each is set.
INGEST_TARGETS = {
    "interactions": TARGETS["ingest_records_per_s"],
    "qa_contacts": TARGETS["ingest_qa_contacts_per_s"],
    "conversation_content": TARGETS["content_per_s"],  # 30-message transcripts
}


def figures_parse(text: str | None) -> tuple[str, ...]:
    """``--figures a,b``: the selected figures in run order; None or empty: all. Unknown names are refused."""
    if not text:
        return FIGURES
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; choose among {', '.join(FIGURES)}")
    return tuple(name for name in FIGURES if name in names)


def mark(value: float, target: float, *, low: bool, digits: int = 2) -> str:
    """``value`` with ✓ when it meets ``target`` (at most it when ``low``, at least it otherwise), else ✗."""
    ok = value <= target if low else value >= target
    return f"{value:,.{digits}f} {'✓' if ok else '✗'}"


def seconds_text(seconds: float) -> str:
    """A duration for the "time per part" line: seconds under two minutes, else minutes."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@dataclass(frozen=True)
class Stat:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        items = list(values)
        return cls(median=statistics.median(items), min=min(items), max=max(items))

    def text(self, digits: int = 1) -> str:
        return f"{self.median:,.{digits}f} ({self.min:,.{digits}f}–{self.max:,.{digits}f})"


def _scenario(scenario: Scenario) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": scenario.key,
        "figure": scenario.figure,
        "title": scenario.title,
        "records_per_response": scenario.records,
        "c1_p50_ms": Stat.of(r.p50_ms for r in scenario.c1),
        "c1_p99_ms": Stat.of(r.p99_ms for r in scenario.c1),
        "c8_requests_per_s": Stat.of(r.rps for r in scenario.c8),
        "c8_records_per_s": Stat.of(r.rps * scenario.records for r in scenario.c8),
        "c8_p99_ms": Stat.of(r.p99_ms for r in scenario.c8),
        "response_bytes": scenario.c1[0].bytes_read / max(1, scenario.c1[0].requests),
    }
    if scenario.floor:
        floor_p50 = Stat.of(f.p50_ms for f in scenario.floor)
        floor_c8 = Stat.of(f.pages_per_s_c8 for f in scenario.floor)
        row.update(
            floor_p50_ms=floor_p50,
            floor_p99_ms=Stat.of(f.p99_ms for f in scenario.floor),
            floor_note=scenario.floor_note,
            floor_c8_pages_per_s=floor_c8,
            floor_json_bytes=scenario.floor[0].bytes,
            p50_vs_floor=row["c1_p50_ms"].median / floor_p50.median,
            p99_vs_p50=row["c1_p99_ms"].median / row["c1_p50_ms"].median,
            records_share_c8=row["c8_requests_per_s"].median / floor_c8.median,
        )
    return row


def memory_bytes() -> int:
    """This machine's physical memory: reported with each run, and what the private server is sized from."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _machine(url: str) -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    memory = memory_bytes() / 2**30
    with psycopg.connect(url) as db:
        postgres = db.execute("SHOW server_version").fetchone()[0]
        shared_buffers = db.execute("SHOW shared_buffers").fetchone()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory, 1), "postgres": postgres,
        "shared_buffers": shared_buffers,
        "python": platform.python_version(), "commit": commit.stdout.strip() or None,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _buffers(machine: dict[str, Any]) -> str:
    """The server's shared buffers, when the run recorded them (runs before 2026-12-07 did not)."""
    buffers = machine.get("shared_buffers")
    return f" (shared_buffers {buffers})" if buffers else ""


@dataclass
class Report:
    data: dict[str, Any]

    @classmethod
    def build(cls, *, suite: Suite) -> Report:
        load = suite.load
        dataset = None if load is None else {
            "accounts": suite.scale.accounts,
            "interactions_per_account": load.interactions // suite.scale.accounts,
            "qa_contacts_per_account": load.qa_contacts // suite.scale.accounts,
            "conversations_per_account": load.conversations // suite.scale.accounts,
            "messages_per_conversation": load.messages_per_conversation,
            "queue_links": load.queue_links,
            "templates_seconds": load.templates_seconds,
            "load_seconds": load.seconds,
            "load_rows_per_s": load.rows_per_second,
            "vacuum_analyze_seconds": load.analyze_seconds,
        }
        return cls({
            "machine": _machine(suite.url),
            "settings": {"runs": suite.runs, "seconds_per_run": suite.seconds, "quick": suite.quick,
                         "figures": list(suite.figures)},
            "dataset": dataset,
            "scenarios": {s.key: _scenario(s) for s in suite.scenarios},
            "ceilings": {s.key: _scenario(s) for s in suite.ceilings},
            "ingestion": suite.ingestion,
            "import": suite.imports,
            "search_index": suite.search_index,
            "exports": suite.exports,
            "replica": suite.replica,
            "timings_s": suite.timings,
            "server_rss_mb_at_end": suite.server_rss,
            "targets": TARGETS,
        })

    def as_json(self) -> str:
        return orjson.dumps(self.data, default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()

    def as_markdown(self) -> str:
        d = self.data
        m = d["machine"]
        settings = d["settings"]
        figures = settings.get("figures", list(FIGURES))
        lines = [
            f"Run {m['date']} at commit {m['commit']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, "
            f"PostgreSQL {m['postgres']}{_buffers(m)}, Python {m['python']}; {settings['runs']} run(s) of "
            f"{settings['seconds_per_run']:.0f} s per figure, median (min–max); figures: {', '.join(figures)}.",
            "",
            dataset_text(d["dataset"]),
        ]
        if d.get("timings_s"):
            lines += ["", "Time per part: " + ", ".join(
                f"{part} {seconds_text(seconds)}" for part, seconds in d["timings_s"].items()
            ) + "."]
        rows = [*d["scenarios"].values(), *d["ceilings"].values()]
        if rows:
            lines += ["", *request_table(rows)]
        lines += overhead_lines(d["ceilings"])
        lines += reachable_lines(d["scenarios"], d["ceilings"])
        lines += search_lines(d["scenarios"], d.get("search_index") or {})
        lines += ingestion_table(d)
        lines += export_table(d.get("exports") or {})
        lines += replica_table(d.get("replica") or {})
        return "\n".join(lines) + "\n"

    def update_benchmarks_md(self, path: Path) -> None:
        """Replace the table between the markers of ``BENCHMARKS.md`` (the prose around it stays)."""
        text = path.read_text() if path.exists() else f"# Benchmarks\n\n{_MARKERS[0]}\n{_MARKERS[1]}\n"
        start, end = _MARKERS
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
        path.write_text(pattern.sub(lambda _: f"{start}\n{self.as_markdown()}{end}", text))


def dataset_text(dataset: dict[str, Any] | None) -> str:
    if dataset is None:
        return "Data set: none (the selected figures load their own or need none)."
    content = ""
    if dataset.get("conversations_per_account") and dataset.get("messages_per_conversation"):
        content = (f", each with its conversation content ({dataset['conversations_per_account']:,} conversations, "
                   f"{dataset['messages_per_conversation']:.0f} messages on average, events, voice turns, "
                   "search index)")
    return (
        f"Data set: {dataset['accounts']} accounts × {dataset['interactions_per_account']:,} "
        f"interactions over 30 days{content} + {dataset['qa_contacts_per_account']:,} Quality AI contacts each; "
        f"templates made through ingestion in {dataset.get('templates_seconds', 0):.0f} s, "
        f"cloned in {dataset['load_seconds']:.0f} s ({dataset['load_rows_per_s']:,.0f} records/s, "
        f"COPY from 2 processes) + {dataset['vacuum_analyze_seconds']:.0f} s VACUUM ANALYZE."
    )


def request_table(rows: list[dict[str, Any]]) -> list[str]:
    """The requests measured with wrk, each beside its PostgreSQL floor when it has one."""
    lines = [
        "| # | Request | Records | p50 ms (c1) | p99 ms (c1) | PG floor p50 ms | p50 ÷ floor | p99 ÷ p50 "
        "| req/s (c8) | records/s (c8) | PG floor pages/s (c8) | share of PG (c8) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        floor = "floor_p50_ms" in row
        interactions = row["figure"] in INTERACTION_FIGURES
        p50_target = TARGETS["interactions_p50_vs_floor" if interactions else "p50_vs_floor"]
        share_target = TARGETS["interactions_records_share_c8" if interactions else "records_share_c8"]
        lines.append(
            f"| {row['figure']} | {row['title']} | {row['records_per_response']} "
            f"| {row['c1_p50_ms'].text()} | {row['c1_p99_ms'].text()} "
            f"| {row['floor_p50_ms'].text() if floor else '—'} "
            f"| {_mark(row['p50_vs_floor'], p50_target, low=True) if floor else '—'} "
            f"| {_mark(row['p99_vs_p50'], TARGETS['p99_vs_p50'], low=True) if floor else '—'} "
            f"| {row['c8_requests_per_s'].text(0)} | {row['c8_records_per_s'].text(0)} "
            f"| {row['floor_c8_pages_per_s'].text(0) if floor else '—'} "
            f"| {_mark(row['records_share_c8'], share_target, low=False) if floor else '—'} |"
        )
    return lines


def overhead_lines(ceilings: dict[str, dict[str, Any]]) -> list[str]:
    if "ceiling-noop" not in ceilings or "ceiling-hello" not in ceilings:
        return []
    noop, hello = ceilings["ceiling-noop"]["c8_requests_per_s"], ceilings["ceiling-hello"]["c8_requests_per_s"]
    ratio = noop.median / hello.median
    return [
        "",
        f"Request overhead (issue 17): the no-op endpoint behind auth and the rate limit serves {noop.median:,.0f} "
        f"requests/s at c8 against {hello.median:,.0f} for the bare WSGI hello on the same gunicorn configuration: "
        f"{_mark(ratio, TARGETS['noop_vs_hello'], low=False)} (target ≥ {TARGETS['noop_vs_hello']}).",
    ]


def reachable_lines(scenarios: dict[str, dict[str, Any]], ceilings: dict[str, dict[str, Any]]) -> list[str]:
    """The lowest p50 ÷ floor each interactionDetails page can reach at this run's request cost.

    A page cannot answer sooner than its floor plus the pre-rendered ceiling (the same server,
    middleware, authentication and rate limit answering the page's bytes without reading them), so
    (ceiling + floor) ÷ floor bounds its ratio from below: where that bound is above the target,
    only a cheaper request, not a faster page, meets it.
    """
    ceiling = ceilings.get("ceiling-prerendered")
    rows = [row for row in scenarios.values() if row["figure"] in INTERACTION_FIGURES and "floor_p50_ms" in row]
    if ceiling is None or not rows:
        return []
    cost = ceiling["c1_p50_ms"].median
    target = TARGETS["interactions_p50_vs_floor"]
    bounds = [(row["title"], (cost + row["floor_p50_ms"].median) / row["floor_p50_ms"].median) for row in rows]
    reachable = sum(bound <= target for _, bound in bounds)
    listed = "; ".join(f"{title} {bound:.2f}" for title, bound in bounds)
    return [
        "",
        f"Reachable (issue 17): with the pre-rendered ceiling at {cost:.1f} ms (c1), no interactionDetails page can "
        "be answered faster than that plus its floor; the lowest p50 ÷ floor each page can reach, "
        f"(ceiling + floor) ÷ floor: {listed}. {reachable} of {len(bounds)} pages can meet ≤ {target} at this "
        "request cost.",
    ]


def search_lines(scenarios: dict[str, dict[str, Any]], index: dict[str, Any]) -> list[str]:
    """Issue 14's targets for each search figure (p50 ≤ 100 ms, ≤ 2× its floor) and the index size."""
    rows = [row for row in scenarios.values() if row["figure"] == "8"]
    if not rows:
        return []
    lines = [
        "",
        "| # | Search (issue 14) | p50 ms | p99 ms | floor p50 ms | floor p99 ms "
        f"| p50 ≤ {TARGETS['search_p50_ms']} ms | p50 ÷ floor ≤ {TARGETS['p50_vs_floor']:g} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| 8 | {row['title']} | {row['c1_p50_ms'].text()} | {row['c1_p99_ms'].text()} "
            f"| {row['floor_p50_ms'].text()} | {row['floor_p99_ms'].text()} "
            f"| {mark(row['c1_p50_ms'].median, TARGETS['search_p50_ms'], low=True, digits=1)} "
            f"| {mark(row['p50_vs_floor'], TARGETS['p50_vs_floor'], low=True)} |"
        )
    notes = sorted({row.get("floor_note") for row in rows if row.get("floor_note")})
    if notes:
        lines += ["", f"A search figure's floor is {'; '.join(notes)}: the page's conversations, tiers and scores, "
                      "without the snippets or the rendering of the rows."]
    if index:
        lines += ["", f"Search index: {index['bytes'] / 2**30:.2f} GiB for {index['conversations']:,} conversations "
                      f"(text vectors with their GIN index, and identifiers) = {index['gib_per_million']:.2f} GiB "
                      "per million conversations."]
    return lines


def ingestion_table(d: dict[str, Any]) -> list[str]:
    feed = [row for row in d["scenarios"].values() if row["figure"] == "6"]
    if not (d["ingestion"] or d["import"] or feed):
        return []
    lines = ["", "| # | Ingestion, import, feed | records/s | target |", "|---|---|---|---|"]
    for kind, row in d["ingestion"].items():
        target = INGEST_TARGETS[kind]
        lines.append(
            f"| 4 | API, batches of {row['batch']:,}, {kind} ({row['posters']} posters) "
            f"| {row['records_per_s'].text(0)} | ≥ {target:,} "
            f"{'✓' if row['records_per_s'].median >= target else '✗'} |"
        )
    for row in d["import"]:
        ok = row["peak_rss_mb"] <= TARGETS["import_peak_rss_mb"]
        fast = row["records_per_s"] >= TARGETS["import_records_per_s"]
        lines.append(
            f"| 5 | import_interactions, {row['lines']:,} lines ({row['file_mb']:.0f} MB) "
            f"| {row['records_per_s']:,.0f} (peak RSS {row['peak_rss_mb']:.0f} MB) "
            f"| ≥ {TARGETS['import_records_per_s']:,} {'✓' if fast else '✗'}, "
            f"RSS ≤ {TARGETS['import_peak_rss_mb']} MB {'✓' if ok else '✗'} |"
        )
    for row in feed:
        rate = feed_rate(row)
        target = TARGETS["feed_records_per_s"]
        lines.append(
            f"| 6 | {row['title']}, one consumer (records ÷ p50) | {rate:,.0f} "
            f"| ≥ {target:,} {'✓' if rate >= target else '✗'} |"
        )
    return lines


def feed_rate(row: dict[str, Any]) -> float:
    """Records/s of one consumer reading the feed page after page: a page's records over its p50."""
    return row["records_per_response"] / (row["c1_p50_ms"].median / 1000)


def export_table(exports: dict[str, Any]) -> list[str]:
    """Issue 16: each format's rows/s and MB/s beside COPY's of the same rows, ratio and worker peak RSS."""
    if not exports:
        return []
    copy = exports["copy"]
    lines = [
        "",
        f"| # | Export of a 7-day window ({exports['rows']:,} rows), worker process | rows/s | MB/s "
        f"| rows per worker CPU-s | ÷ COPY rows/s | with start-up: rows/s, ÷ COPY "
        f"| peak RSS MB (< {TARGETS['export_peak_rss_mb']}) |",
        "|---|---|---|---|---|---|---|---|",
        f"| 9 | COPY (SELECT served …) TO STDOUT, same rows | {copy['rows_per_s'].text(0)} "
        f"| {copy['mb_per_s'].text(1)} | — | 1.00 | — | — |",
    ]
    for fmt, row in exports["formats"].items():
        ratio = (mark(row["vs_copy_rows"], TARGETS["export_ndjson_vs_copy"], low=False) if fmt == "ndjson"
                 else f"{row['vs_copy_rows']:.2f}")
        lines.append(
            f"| 9 | export {fmt} | {row['rows_per_s'].text(0)} | {row['mb_per_s'].text(1)} "
            f"| {row['rows_per_cpu_s'].text(0)} | {ratio} "
            f"| {row['process_rows_per_s'].text(0)}, {row['process_vs_copy_rows']:.2f} "
            f"| {mark(row['peak_rss_mb'], TARGETS['export_peak_rss_mb'], low=True, digits=0)} |"
        )
    lines.append(
        f"\nTarget: NDJSON ≥ {TARGETS['export_ndjson_vs_copy']:.0%} of COPY's rows/s, measured in the same run. "
        "Rows/s are the export's own, from the job's first claim to its completion in a running worker "
        "(django-q2's workers are long-lived); \"with start-up\" counts the fresh worker process's start "
        "(Django and the apps imported) too."
    )
    return lines


def replica_table(replica: dict[str, Any]) -> list[str]:
    """Issue 18: the same reads at c8 against the primary alone and with one streaming replica."""
    if not replica:
        return []
    lines = [
        "",
        f"| # | Reads at c8, private primary + streaming replica ({replica['dataset']}) | primary alone req/s "
        "| with one replica req/s | with ÷ without | standby's share of the DB transactions |",
        "|---|---|---|---|---|---|",
    ]
    for row in replica["reads"]:
        alone, routed = Stat(**row["primary"]), Stat(**row["replica"])
        lines.append(
            f"| 10 | {row['title']} | {alone.text(0)} | {routed.text(0)} | {routed.median / alone.median:.2f} "
            f"| {row['replica_share']:.0%} |"
        )
    lines.append(
        "\nNo ratio is set as a target (issue 18 asks for the figure); both servers share this machine's cores, "
        "so the replica adds a second database server, not hardware."
    )
    return lines


def _mark(value: float, target: float, *, low: bool) -> str:
    return mark(value, target, low=low)


def _plain(value: Any) -> Any:
    if isinstance(value, Stat):
        return asdict(value)
    raise TypeError(type(value).__name__)
