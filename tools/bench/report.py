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
TARGETS = {
    "p50_vs_floor": 2.0,  # interactionDetails / rawdata p50 ≤ 2× the PostgreSQL floor
    "p99_vs_p50": 3.0,
    "records_share_c8": 0.5,  # ≥ 50% of PostgreSQL's own records/s at concurrency 8
    "ingest_records_per_s": 5000,
    "import_peak_rss_mb": 200,
    "feed_records_per_s": 20_000,  # one consumer (c1), pages of 10,000
}


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
            floor_c8_pages_per_s=floor_c8,
            floor_json_bytes=scenario.floor[0].bytes,
            p50_vs_floor=row["c1_p50_ms"].median / floor_p50.median,
            p99_vs_p50=row["c1_p99_ms"].median / row["c1_p50_ms"].median,
            records_share_c8=row["c8_requests_per_s"].median / floor_c8.median,
        )
    return row


def _machine(url: str) -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(url) as db:
        postgres = db.execute("SHOW server_version").fetchone()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory, 1), "postgres": postgres,
        "python": platform.python_version(), "commit": commit.stdout.strip() or None,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclass
class Report:
    data: dict[str, Any]

    @classmethod
    def build(cls, *, suite: Suite) -> Report:
        assert suite.load is not None
        load = suite.load
        return cls({
            "machine": _machine(suite.url),
            "settings": {"runs": suite.runs, "seconds_per_run": suite.seconds, "quick": suite.quick},
            "dataset": {
                "accounts": suite.scale.accounts,
                "interactions_per_account": load.interactions // suite.scale.accounts,
                "qa_contacts_per_account": load.qa_contacts // suite.scale.accounts,
                "queue_links": load.queue_links,
                "load_seconds": load.seconds,
                "load_rows_per_s": load.rows_per_second,
                "vacuum_analyze_seconds": load.analyze_seconds,
            },
            "scenarios": {s.key: _scenario(s) for s in suite.scenarios},
            "ceilings": {s.key: _scenario(s) for s in suite.ceilings},
            "ingestion": suite.ingestion,
            "import": suite.imports,
            "server_rss_mb_at_end": suite.server_rss,
            "targets": TARGETS,
        })

    def as_json(self) -> str:
        return orjson.dumps(self.data, default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()

    def as_markdown(self) -> str:
        d = self.data
        m = d["machine"]
        lines = [
            f"Run {m['date']} at commit {m['commit']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, "
            f"PostgreSQL {m['postgres']}, Python {m['python']}; {d['settings']['runs']} run(s) of "
            f"{d['settings']['seconds_per_run']:.0f} s per figure, median (min–max).",
            "",
            f"Data set: {d['dataset']['accounts']} accounts × {d['dataset']['interactions_per_account']:,} "
            f"interactions over 30 days + {d['dataset']['qa_contacts_per_account']:,} Quality AI contacts each; "
            f"loaded in {d['dataset']['load_seconds']:.0f} s ({d['dataset']['load_rows_per_s']:,.0f} rows/s, "
            f"COPY from 2 processes) + {d['dataset']['vacuum_analyze_seconds']:.0f} s VACUUM ANALYZE.",
            "",
            "| # | Request | Records | p50 ms (c1) | p99 ms (c1) | PG floor p50 ms | p50 ÷ floor | p99 ÷ p50 "
            "| req/s (c8) | records/s (c8) | PG floor pages/s (c8) | share of PG (c8) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in [*d["scenarios"].values(), *d["ceilings"].values()]:
            floor = "floor_p50_ms" in row
            lines.append(
                f"| {row['figure']} | {row['title']} | {row['records_per_response']} "
                f"| {row['c1_p50_ms'].text()} | {row['c1_p99_ms'].text()} "
                f"| {row['floor_p50_ms'].text() if floor else '—'} "
                f"| {_mark(row['p50_vs_floor'], TARGETS['p50_vs_floor'], low=True) if floor else '—'} "
                f"| {_mark(row['p99_vs_p50'], TARGETS['p99_vs_p50'], low=True) if floor else '—'} "
                f"| {row['c8_requests_per_s'].text(0)} | {row['c8_records_per_s'].text(0)} "
                f"| {row['floor_c8_pages_per_s'].text(0) if floor else '—'} "
                f"| {_mark(row['records_share_c8'], TARGETS['records_share_c8'], low=False) if floor else '—'} |"
            )
        lines += ["", "| # | Ingestion | records/s | target |", "|---|---|---|---|"]
        for kind, row in d["ingestion"].items():
            # Conversation content (30-message transcripts) has a target of its own.
            target = row.get("target", TARGETS["ingest_records_per_s"])
            lines.append(
                f"| 4 | API, batches of {row['batch']:,}, {kind} ({row['posters']} posters) "
                f"| {row['records_per_s'].text(0)} | ≥ {target:,} "
                f"{'✓' if row['records_per_s'].median >= target else '✗'} |"
            )
        for row in d["scenarios"].values():
            if row["figure"] != "6":
                continue
            rate = row["records_per_response"] / (row["c1_p50_ms"].median / 1000)
            target = TARGETS["feed_records_per_s"]
            lines.append(
                f"| 6 | {row['title']}, one consumer (records ÷ p50) | {rate:,.0f} "
                f"| ≥ {target:,} {'✓' if rate >= target else '✗'} |"
            )
        for row in d["import"]:
            ok = row["peak_rss_mb"] <= TARGETS["import_peak_rss_mb"]
            lines.append(
                f"| 5 | import_interactions, {row['lines']:,} lines ({row['file_mb']:.0f} MB) "
                f"| {row['records_per_s']:,.0f} (peak RSS {row['peak_rss_mb']:.0f} MB) "
                f"| RSS ≤ {TARGETS['import_peak_rss_mb']} MB {'✓' if ok else '✗'} |"
            )
        return "\n".join(lines) + "\n"

    def update_benchmarks_md(self, path: Path) -> None:
        """Replace the table between the markers of ``BENCHMARKS.md`` (the prose around it stays)."""
        text = path.read_text() if path.exists() else f"# Benchmarks\n\n{_MARKERS[0]}\n{_MARKERS[1]}\n"
        start, end = _MARKERS
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
        path.write_text(pattern.sub(lambda _: f"{start}\n{self.as_markdown()}{end}", text))


def _mark(value: float, target: float, *, low: bool) -> str:
    ok = value <= target if low else value >= target
    return f"{value:.2f} {'✓' if ok else '✗'}"


def _plain(value: Any) -> Any:
    if isinstance(value, Stat):
        return asdict(value)
    raise TypeError(type(value).__name__)
