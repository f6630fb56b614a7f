"""Bytes per record of the large tables on PostgreSQL, heap (with TOAST) and indexes apart: the basis
of the sizing in docs/scale-out.md.

A scratch database on ``BENCH_ADMIN_URL`` (created and dropped) is migrated and filled by
``seed_demo`` (``--days`` × ``--per-day`` conversations, with their content, search index, Quality AI
contacts, change log and demo recordings), then ``VACUUM ANALYZE``d; for each table the row count,
``pg_table_size`` (heap, TOAST, free-space and visibility maps) and ``pg_indexes_size`` are divided by
the rows and by the conversations. Then the cost of a recording: a ``--call-seconds`` WAV of 8 kHz
mono telephone audio (a tone under noise: noise is what FLAC compresses least, so an upper bound on
size) transcoded to FLAC by the workers' own code (``recordings.audio.flac_from``), its CPU time and
FLAC bytes per second of call. Results: ``tools/bench/results/sizing.md``::

    .venv/bin/python -m tools.bench.sizing [--days 30] [--per-day 100] [--call-seconds 300]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import soundfile

from tools.harness.pg import ADMIN_URL, migrate, scratch_database
from tools.harness.server import manage

ACCOUNT_ID = "51e1ab0000000000000000aa"
RESULTS = Path(__file__).resolve().parent / "results" / "sizing.md"
# The tables that grow with conversations; the rest (accounts, clients, settings) do not.
TABLES = (
    "conversations_interaction",
    "conversations_interactionqueue",
    "content_conversation",
    "content_transcript",
    "content_eventlog",
    "content_voiceturns",
    "content_conversationagent",
    "search_searchmessage",
    "search_searchidentifier",
    "search_searchphrase",
    "qualityai_qacontact",
    "qualityai_qacontactcustomfield",
    "diagnostics_calldiagnostics",
    "changes_change",
    "recordings_recording",
    "recordings_recordingfile",
)


def sizes(url: str) -> tuple[int, list[tuple[str, int, int, int]]]:
    """(conversations, [(table, rows, table bytes, index bytes)]) after VACUUM ANALYZE."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
        conversations = db.execute("SELECT count(*) FROM conversations_interaction").fetchone()[0]  # type: ignore[index]
        found = []
        for table in TABLES:
            exists = db.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]  # type: ignore[index]
            if not exists:
                continue
            rows, heap, indexes = db.execute(
                f"SELECT count(*), pg_table_size('{table}'), pg_indexes_size('{table}') FROM {table}"
            ).fetchone()  # type: ignore[misc]
            found.append((table, rows, heap, indexes))
    return conversations, found


def transcode_cost(seconds: int, *, rate: int = 8000) -> tuple[float, int, int]:
    """(CPU seconds, WAV bytes, FLAC bytes) of one call of ``seconds`` transcoded as a fetch does."""
    from recordings.audio import flac_from

    rng = np.random.default_rng(7)
    frames = seconds * rate
    signal = 0.2 * np.sin(2 * np.pi * 440 * np.arange(frames) / rate) + 0.2 * rng.standard_normal(frames)
    with tempfile.TemporaryDirectory(prefix="bench-sizing-audio-") as folder:
        source, target = Path(folder) / "call.wav", Path(folder) / "call.flac"
        soundfile.write(source, signal.clip(-1, 1), rate, format="WAV", subtype="PCM_16")
        began = time.process_time()
        flac_from(source, target, deadline=time.monotonic() + 600, max_bytes=2**31)
        cpu = time.process_time() - began
        return cpu, source.stat().st_size, target.stat().st_size


def markdown(conversations: int, found: list[tuple[str, int, int, int]], *, days: int, per_day: int,
             seconds: float) -> str:
    lines = [
        f"# Bytes per record (`python -m tools.bench.sizing --days {days} --per-day {per_day}`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `seed_demo` of {conversations:,} conversations "
        f"in {seconds:.0f} s, then VACUUM ANALYZE; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| table | rows | rows per conversation | table B/row | index B/row | table B/conversation "
        "| index B/conversation |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    table_total = index_total = 0.0
    for table, rows, heap, indexes in found:
        if not rows:
            lines.append(f"| `{table}` | 0 | 0 | – | – | – | – |")
            continue
        per_table, per_index = heap / conversations, indexes / conversations
        table_total += per_table
        index_total += per_index
        lines.append(f"| `{table}` | {rows:,} | {rows / conversations:.2f} | {heap / rows:,.0f} "
                     f"| {indexes / rows:,.0f} | {per_table:,.0f} | {per_index:,.0f} |")
    lines.append(f"| **total** | | | | | **{table_total:,.0f}** | **{index_total:,.0f}** |")
    return "\n".join(lines) + "\n"


def recording_markdown(seconds: int, cpu: float, wav: int, flac: int) -> str:
    return (f"\nA {seconds} s call, 8 kHz mono 16-bit WAV ({wav:,} bytes) → FLAC by `recordings.audio.flac_from`: "
            f"{cpu * 1000:,.0f} ms of CPU, {flac:,} bytes ({flac / seconds / 1000:.1f} kB per second of call; "
            f"noise, so an upper bound: speech compresses further).\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.sizing", description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=100)
    parser.add_argument("--call-seconds", type=int, default=300)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-sizing-", ignore_cleanup_errors=True) as var_dir,
        scratch_database(admin_url=os.environ.get("BENCH_ADMIN_URL", ADMIN_URL), prefix="benchsizing") as url,
    ):
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir, "MEDIA_ROOT": str(Path(var_dir) / "media"),
               "DATABASE_URL": url}
        migrate(url, env=env)
        manage(env, "create_account", ACCOUNT_ID, "--org", "o-sizing", "--bot", "st-sizing")
        began = time.monotonic()
        manage(env, "seed_demo", ACCOUNT_ID, "--days", str(args.days), "--per-day", str(args.per_day),
               timeout_s=3600)
        seconds = time.monotonic() - began
        conversations, found = sizes(url)
    text = markdown(conversations, found, days=args.days, per_day=args.per_day, seconds=seconds)
    text += recording_markdown(args.call_seconds, *transcode_cost(args.call_seconds))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
