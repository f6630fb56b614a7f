"""The benchmark report's pure parts: the figure selector, target marks, ratios and the tables it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.bench.report import (
    FIGURES,
    TARGETS,
    Report,
    Stat,
    dataset_text,
    export_table,
    feed_rate,
    figures_parse,
    ingestion_table,
    mark,
    overhead_lines,
    reachable_lines,
    replica_table,
    request_table,
    search_lines,
    seconds_text,
)
from tools.bench.run import bench_server_settings, results_name
from tools.bench.suite import export_figures


def test_no_figures_selects_every_figure_in_run_order() -> None:
    assert figures_parse(None) == FIGURES
    assert figures_parse("") == FIGURES


def test_a_subset_is_kept_in_run_order_without_blanks_or_repeats() -> None:
    assert figures_parse(" replica, core ,search,core,") == ("core", "search", "replica")


def test_an_unknown_figure_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError) as raised:
        figures_parse("core,replicas")
    assert str(raised.value) == f"unknown figure(s) replicas; choose among {', '.join(FIGURES)}"


def test_results_name_says_quick_and_subset() -> None:
    assert results_name(quick=False, figures=FIGURES) == "latest"
    assert results_name(quick=True, figures=FIGURES) == "latest-quick"
    assert results_name(quick=True, figures=("content", "search")) == "latest-quick-content-search"


@pytest.mark.parametrize(("memory_gb", "shared_buffers", "cache"), [
    (0.25, "128MB", "192MB"),  # never below PostgreSQL's own default
    (24, "6144MB", "18432MB"),  # this machine kind: a quarter, three quarters
    (256, "16384MB", "196608MB"),  # at most docs/scale-out.md's primary's quarter
])
def test_the_private_cluster_is_sized_from_the_machines_memory(
    memory_gb: float, shared_buffers: str, cache: str,
) -> None:
    settings = bench_server_settings(memory_bytes=int(memory_gb * 2**30))
    assert settings == {
        "shared_buffers": shared_buffers, "effective_cache_size": cache, "max_wal_size": "4GB", "autovacuum": "off",
    }


@pytest.mark.parametrize(("value", "target", "low", "text"), [
    (1.5, 2.0, True, "1.50 ✓"),
    (2.0, 2.0, True, "2.00 ✓"),
    (2.01, 2.0, True, "2.01 ✗"),
    (0.5, 0.5, False, "0.50 ✓"),
    (0.49, 0.5, False, "0.49 ✗"),
])
def test_mark_meets_a_ceiling_or_a_floor_inclusively(value: float, target: float, low: bool, text: str) -> None:
    assert mark(value, target, low=low) == text


def test_mark_formats_large_values_with_separators() -> None:
    assert mark(12345.6, 100, low=True, digits=0) == "12,346 ✗"


def test_seconds_text_switches_to_minutes_past_two() -> None:
    assert seconds_text(59.4) == "59 s"
    assert seconds_text(119) == "119 s"
    assert seconds_text(750) == "12.5 min"


def test_export_figures_ratio_is_the_median_of_per_run_ratios_to_copy() -> None:
    copies = [(1000, 2_000_000, 0.1), (1000, 2_000_000, 0.2), (1000, 2_000_000, 0.1)]  # 10,000, 5,000, 10,000 rows/s
    runs = {
        "ndjson": [{"rows_per_s": 6000, "process_rows_per_s": 3000, "mb_per_s": 5, "rows_per_cpu_s": 9000,
                    "peak_rss_mb": 150, "bytes": 1},
                   {"rows_per_s": 4000, "process_rows_per_s": 2000, "mb_per_s": 4, "rows_per_cpu_s": 9000,
                    "peak_rss_mb": 190, "bytes": 1},
                   {"rows_per_s": 4000, "process_rows_per_s": 2000, "mb_per_s": 4, "rows_per_cpu_s": 9000,
                    "peak_rss_mb": 170, "bytes": 1}],
        "csv": [],
    }
    figures = export_figures(copies=copies, runs=runs)
    assert figures["rows"] == 1000
    assert figures["copy"]["rows_per_s"] == Stat(median=10_000, min=5_000, max=10_000)
    assert figures["copy"]["mb_per_s"] == Stat(median=20, min=10, max=20)
    ndjson = figures["formats"]["ndjson"]
    assert ndjson["vs_copy_rows"] == pytest.approx(0.6)  # per run 0.6, 0.8, 0.4
    assert ndjson["process_vs_copy_rows"] == pytest.approx(0.3)  # with the worker's start-up: 0.3, 0.4, 0.2
    assert ndjson["peak_rss_mb"] == 190  # the worst run
    assert "csv" not in figures["formats"]  # not measured: no row


def test_export_table_marks_ndjson_against_copy_and_every_format_against_the_rss_ceiling() -> None:
    figures = export_figures(
        copies=[(1000, 2_000_000, 0.1)],
        runs={"ndjson": [{"rows_per_s": 4000, "process_rows_per_s": 3000, "mb_per_s": 4, "rows_per_cpu_s": 8000,
                          "peak_rss_mb": 150, "bytes": 1}],
              "parquet": [{"rows_per_s": 6000, "process_rows_per_s": 5000, "mb_per_s": 1, "rows_per_cpu_s": 9000,
                           "peak_rss_mb": 230, "bytes": 1}]},
    )
    lines = export_table(figures)
    assert lines[1].startswith("| # | Export of a 7-day window (1,000 rows), worker process |")
    assert lines[3] == ("| 9 | COPY (SELECT served …) TO STDOUT, same rows | 10,000 (10,000–10,000) "
                        "| 20.0 (20.0–20.0) | — | 1.00 | — | — |")
    assert lines[4] == ("| 9 | export ndjson | 4,000 (4,000–4,000) | 4.0 (4.0–4.0) | 8,000 (8,000–8,000) "
                        "| 0.40 ✗ | 3,000 (3,000–3,000), 0.30 | 150 ✓ |")
    # Only NDJSON has a ratio target; Parquet's ratio is shown without a mark.
    assert lines[5] == ("| 9 | export parquet | 6,000 (6,000–6,000) | 1.0 (1.0–1.0) | 9,000 (9,000–9,000) "
                        "| 0.60 | 5,000 (5,000–5,000), 0.50 | 230 ✗ |")
    assert export_table({}) == []


def _row(figure: str, *, p50: float, p99: float = 0, records: int = 25, floor_p50: float | None = None,
         rps: float = 100) -> dict:
    row = {"figure": figure, "title": f"figure {figure}", "records_per_response": records,
           "c1_p50_ms": Stat(p50, p50, p50), "c1_p99_ms": Stat(p99, p99, p99), "c8_requests_per_s": Stat(rps, rps, rps)}
    if floor_p50 is not None:
        row.update(floor_p50_ms=Stat(floor_p50, floor_p50, floor_p50), floor_p99_ms=Stat(9, 9, 9),
                   p50_vs_floor=p50 / floor_p50)
    return row


def test_search_lines_mark_the_100_ms_target_and_the_floor_ratio_and_give_the_index_per_million() -> None:
    scenarios = {"a": _row("8", p50=80, p99=200, floor_p50=30), "b": _row("8", p50=150, p99=300, floor_p50=100),
                 "c": _row("1", p50=5)}
    scenarios["a"]["floor_note"] = scenarios["b"]["floor_note"] = "the ranked statement alone"
    index = {"bytes": 3 * 2**30, "conversations": 2_000_000, "gib_per_million": 1.5}
    lines = search_lines(scenarios, index)
    assert lines[3] == ("| 8 | figure 8 | 80.0 (80.0–80.0) | 200.0 (200.0–200.0) | 30.0 (30.0–30.0) | 9.0 (9.0–9.0) "
                        "| 80.0 ✓ | 2.67 ✗ |")
    assert lines[4].endswith("| 150.0 ✗ | 1.50 ✓ |")
    assert lines[-3] == ("A search figure's floor is the ranked statement alone: the page's conversations, tiers "
                         "and scores, without the snippets or the rendering of the rows.")
    assert lines[-1] == ("Search index: 3.00 GiB for 2,000,000 conversations (text vectors with their GIN index, "
                         "and identifiers) = 1.50 GiB per million conversations.")
    assert search_lines({"c": _row("1", p50=5)}, index) == []


def test_feed_rate_is_a_page_over_its_median_latency() -> None:
    assert feed_rate(_row("6", p50=250, records=10_000)) == pytest.approx(40_000)


def test_overhead_ratio_is_the_noop_over_the_hello_at_c8() -> None:
    ceilings = {"ceiling-noop": _row("ceiling", p50=2, rps=600), "ceiling-hello": _row("ceiling", p50=1, rps=2000)}
    (blank, line) = overhead_lines(ceilings)
    assert blank == ""
    assert "serves 600 requests/s at c8 against 2,000" in line
    assert line.endswith(f"0.30 ✗ (target ≥ {TARGETS['noop_vs_hello']}).")
    assert overhead_lines({"ceiling-noop": ceilings["ceiling-noop"]}) == []


def test_reachable_lines_bound_each_interaction_page_by_the_ceiling_plus_its_floor() -> None:
    scenarios = {
        "week": _row("1", p50=3.0, floor_p50=1.6),  # (1.0 + 1.6) / 1.6 = 1.625: out of reach
        "voice": _row("2", p50=3.3, floor_p50=2.5),  # (1.0 + 2.5) / 2.5 = 1.40
        "rawdata": _row("3", p50=7.0, floor_p50=4.0),  # not an interactionDetails page
        "no-floor": _row("2", p50=1.0),
    }
    ceilings = {"ceiling-prerendered": _row("ceiling", p50=1.0)}

    (blank, line) = reachable_lines(scenarios, ceilings)

    assert blank == ""
    assert line.startswith("Reachable (issue 17): with the pre-rendered ceiling at 1.0 ms (c1),")
    assert line.endswith(
        "(ceiling + floor) ÷ floor: figure 1 1.62; figure 2 1.40. 1 of 2 pages can meet ≤ 1.5 at this request cost."
    )
    assert reachable_lines(scenarios, {}) == []


def test_replica_table_gives_the_ratio_of_routed_to_primary_alone() -> None:
    replica = {"dataset": "1 account × 20,000 interactions with content, loaded in 30 s", "reads": [{
        "title": "interactionDetails", "primary": {"median": 200, "min": 190, "max": 210},
        "replica": {"median": 250, "min": 240, "max": 260}, "replica_share": 0.72,
    }]}
    lines = replica_table(replica)
    assert lines[3] == "| 10 | interactionDetails | 200 (190–210) | 250 (240–260) | 1.25 | 72% |"
    assert replica_table({}) == []


def test_dataset_text_names_the_content_only_when_loaded() -> None:
    dataset = {"accounts": 2, "interactions_per_account": 60_000, "qa_contacts_per_account": 20_000,
               "conversations_per_account": 0, "messages_per_conversation": 0.0, "templates_seconds": 20.4,
               "load_seconds": 100.2, "load_rows_per_s": 1400.0, "vacuum_analyze_seconds": 5.0}
    assert dataset_text(dataset) == (
        "Data set: 2 accounts × 60,000 interactions over 30 days + 20,000 Quality AI contacts each; templates made "
        "through ingestion in 20 s, cloned in 100 s (1,400 records/s, COPY from 2 processes) + 5 s VACUUM ANALYZE."
    )
    # Without the content the interactions still have their conversation rows, but no transcripts.
    assert dataset_text({**dataset, "conversations_per_account": 60_000}) == dataset_text(dataset)
    with_content = dataset_text({**dataset, "conversations_per_account": 60_000, "messages_per_conversation": 29.6})
    assert "each with its conversation content (60,000 conversations, 30 messages on average" in with_content
    assert dataset_text(None) == "Data set: none (the selected figures load their own or need none)."


def test_update_benchmarks_md_replaces_only_between_the_markers(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# B\n\nprose before\n<!-- bench:start -->\nold table\n<!-- bench:end -->\nprose after\n")

    class Fixed(Report):
        def as_markdown(self) -> str:
            return "new table\n"

    Fixed({}).update_benchmarks_md(path)
    assert path.read_text() == (
        "# B\n\nprose before\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\nprose after\n"
    )


def _floored(figure: str, *, p50: float, floor_p50: float, rps: float, floor_pages: float) -> dict:
    row = _row(figure, p50=p50, p99=2 * p50, floor_p50=floor_p50, rps=rps)
    row.update(p99_vs_p50=2.0, c8_records_per_s=Stat(rps, rps, rps),
               floor_c8_pages_per_s=Stat(floor_pages, floor_pages, floor_pages), records_share_c8=rps / floor_pages)
    return row


def test_interaction_pages_are_held_to_the_tighter_targets_and_other_reads_to_2x() -> None:
    page = _floored("1", p50=3.4, floor_p50=1.9, rps=550, floor_pages=1000)  # 1.79×, 0.55 of PostgreSQL's
    rawdata = _floored("3", p50=3.4, floor_p50=1.9, rps=550, floor_pages=1000)
    lines = request_table([page, rawdata])
    assert "| 1.79 ✗ | 2.00 ✓ |" in lines[2] and lines[2].endswith("| 0.55 ✗ |")
    assert "| 1.79 ✓ | 2.00 ✓ |" in lines[3] and lines[3].endswith("| 0.55 ✓ |")


def test_ingestion_and_import_rows_carry_their_own_targets() -> None:
    rate = Stat(7000, 7000, 7000)
    lines = ingestion_table({
        "scenarios": {},
        "ingestion": {
            kind: {"records_per_s": rate, "batch": 1000, "posters": 4}
            for kind in ("interactions", "qa_contacts", "conversation_content")
        },
        "import": [{"lines": 50_000, "file_mb": 90, "records_per_s": 2_000, "peak_rss_mb": 150}],
    })
    assert lines[3].endswith("| 7,000 (7,000–7,000) | ≥ 10,000 ✗ |")
    assert lines[4].endswith("| 7,000 (7,000–7,000) | ≥ 6,000 ✓ |")
    assert lines[5].endswith("| 7,000 (7,000–7,000) | ≥ 3,000 ✓ |")
    assert lines[6].endswith("| 2,000 (peak RSS 150 MB) | ≥ 10,000 ✗, RSS ≤ 200 MB ✓ |")
