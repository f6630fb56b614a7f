"""The physical floor of each figure: PostgreSQL alone producing the same page as JSON text.

The SQL is not written by hand: it is the SQL of the endpoint's own queryset (the selector the
view calls), wrapped in ``json_agg`` so that PostgreSQL also does the serialisation. What is left
between this floor and the endpoint is the service's own work: auth, rendering and HTTP.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import psycopg
from django.db.models import QuerySet

from analytics_api.kernel.planner import past_settings

# SQL and its parameters; None: the SQL has its values bound already (captured as Django sent it).
Statement = tuple[str, tuple[object, ...] | None]


def json_page_sql(queryset: QuerySet, *, skip: int, limit: int) -> Statement:
    """``json_agg`` of the documents of one page (``limit + 1`` rows, as the endpoints fetch)."""
    sql, params = queryset.values_list("document", flat=True)[skip : skip + limit + 1].query.sql_with_params()
    return f"SELECT json_agg(page.document)::text FROM ({sql}) page", tuple(params)


def json_rows_sql(sql: str) -> Statement:
    """A captured SELECT (values bound) with its rows rendered by PostgreSQL as one JSON text."""
    return f"SELECT json_agg(captured)::text FROM ({sql}) captured", None


@dataclass
class FloorResult:
    p50_ms: float
    p99_ms: float
    pages_per_s_c1: float
    pages_per_s_c8: float
    bytes: int


def _run(db: psycopg.Connection, statements: list[Statement]) -> int:
    size = 0
    for sql, params in statements:
        # A statement may be preceded by SETs (the ranked search's POSTGRESQL_SETTINGS).
        row = past_settings(db.execute(sql, params)).fetchone()
        size += len(row[0] or "") if isinstance(row[0], str) else 0
    return size


def floor_measure(*, url: str, statements: list[Statement], seconds: float, concurrency: int = 8) -> FloorResult:
    """Latency at concurrency 1 and pages/s at ``concurrency`` of ``statements`` (one page each time).

    1. Warm up: run the page a few times so both the plan cache and the buffer cache are hot, as
       they are for the endpoint after its own warm-up.
    2. Concurrency 1: run it back to back for ``seconds``, recording every latency.
    3. Concurrency ``concurrency``: that many connections in threads (psycopg waits on the socket
       without the GIL) run it for ``seconds``; pages/s is the total over the wall time.
    """
    with psycopg.connect(url, autocommit=True) as db:
        for _ in range(5):
            size = _run(db, statements)
        latencies = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            _run(db, statements)
            latencies.append(time.perf_counter() - began)
    counts = [0] * concurrency
    barrier = threading.Barrier(concurrency + 1)

    def work(slot: int) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            _run(db, statements)
            barrier.wait()
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop:
                _run(db, statements)
                counts[slot] += 1

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return FloorResult(
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        pages_per_s_c1=len(latencies) / sum(latencies),
        pages_per_s_c8=sum(counts) / wall,
        bytes=size,
    )
