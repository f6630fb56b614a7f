"""Search benchmark (docs/search.md#performance): ranked search over a 7-day window, beside its SQL alone.

Usage: ``python -m tools.bench.search [--conversations N] [--days D] [--runs R]``. In a scratch
PostgreSQL database (created and dropped here, on ``BENCH_ADMIN_URL``):

1. N conversations of one account, their starts spread evenly over the last D days, each with a
   transcript of 8–32 messages drawn from a Zipf-distributed vocabulary (a few hundred contact-centre
   words and thousands of rarer made-up ones); 5 % hold "late delivery", 2 % "credit card payment
   declined", and the words also occur apart.
2. The index, built with ``search_index_refresh`` in batches (the rate is reported).
3. For a two-word query and a four-word phrase over the last 7 days, relevance order, page of 25:
   p50 and p99 of the selector (ranked SQL + snippets) and of its ranked statement run alone through
   psycopg (the floor).
4. The index's size on disk, and that size per million conversations (linear extrapolation).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import string
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import django

from analytics_api.kernel.planner import past_settings
from tools.harness.pg import ADMIN_URL, migrate, scratch_database

QUERIES = {"two words": "late delivery", "four-word phrase": "credit card payment declined"}
COMMON = (
    "refund order delivery late card payment account bill invoice charge agent help issue problem "
    "cancel subscription plan upgrade password reset login email phone number address change update "
    "check status ticket call back wait minute day week month price discount coupon code product item "
    "return exchange damaged broken missing package parcel tracking shipment courier store credit debit "
    "bank transfer declined approved pending balance fee interest loan insurance claim policy coverage "
    "premium renewal contract service outage internet speed router modem signal network mobile data roaming"
).split()
STOP = ("the a my your is was not to of and for it this that with on in at be have i you we").split()


def _vocabulary(rng: random.Random, rare: int) -> list[str]:
    made_up = {"".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(rare)}
    return [*COMMON, *sorted(made_up)]


def _message(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    words = rng.choices(vocabulary, weights=weights, k=rng.randint(4, 14))
    for _ in range(rng.randint(2, 6)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(STOP))
    return " ".join(words).capitalize() + "."


def corpus_load(*, conversations: int, days: int, now: datetime, batch: int = 1000) -> dict[str, float]:
    """Conversations with transcripts, then their index; the seconds each step took."""
    from analytics_api.models import Account
    from content.models import Conversation, Status, Transcript
    from search.services import search_index_refresh

    rng = random.Random(7)
    vocabulary = _vocabulary(rng, 5000)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    account = Account.objects.create(account_id=secrets.token_hex(12), name="search bench")
    span = timedelta(days=days) / conversations
    stored = indexed = 0.0
    for first in range(0, conversations, batch):
        began = time.perf_counter()
        rows = [
            Conversation(account=account, session_id=f"{index:024x}", started_at=now - span * (index + 1),
                         channel="rtm", status=Status.COMPLETED, message_count=0)
            for index in range(first, min(first + batch, conversations))
        ]
        Conversation.objects.bulk_create(rows)
        transcripts = []
        for row in rows:
            texts = [_message(rng, vocabulary, weights) for _ in range(rng.randint(8, 32))]
            draw = rng.random()
            if draw < 0.05:
                texts[rng.randrange(len(texts))] = "My delivery is late again, the late delivery is a problem."
            elif draw < 0.07:
                texts[rng.randrange(len(texts))] = "The credit card payment was declined twice."
            messages = [
                {"id": f"m{n}", "time": (row.started_at + timedelta(seconds=n)).isoformat(),
                 "role": "customer" if n % 2 == 0 else "agent", "kind": "message", "text": text}
                for n, text in enumerate(texts)
            ]
            transcripts.append(Transcript(conversation=row, account=account, started_at=row.started_at,
                                          messages=messages))
        Transcript.objects.bulk_create(transcripts)
        stored += time.perf_counter() - began
        began = time.perf_counter()
        search_index_refresh(account_id=account.pk, conversation_ids=[row.pk for row in rows])
        indexed += time.perf_counter() - began
    return {"account": account.pk, "store_s": stored, "index_s": indexed}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def measure(*, url: str, account_id: int, now: datetime, runs: int) -> list[dict[str, Any]]:
    import psycopg
    from django.db import connection

    from content.models import Conversation
    from search.engines import SORT_RELEVANCE, ranked_statement
    from search.selectors import conversation_search
    from search.text import search_query_parse
    from search.units import identifier_key

    window = (now - timedelta(days=7), now)
    candidates = Conversation.objects.filter(account_id=account_id, started_at__gte=window[0],
                                             started_at__lte=window[1])
    figures = []
    with psycopg.connect(url, autocommit=True) as floor_db:
        for name, q in QUERIES.items():
            page = conversation_search(account_id=account_id, conversations=candidates, q=q, limit=25, window=window,
                                       filtered=False)
            selector = []
            for _ in range(runs):
                began = time.perf_counter()
                conversation_search(account_id=account_id, conversations=candidates, q=q, limit=25, window=window,
                                       filtered=False)
                selector.append((time.perf_counter() - began) * 1000)
            sql, params = ranked_statement(
                account_id=account_id, candidates=candidates, query=search_query_parse(q),
                identifier=identifier_key(q), exclude_agent_ai=False, sort=SORT_RELEVANCE, after=None, limit=26,
                window=window, filtered=False,
            )
            with connection.cursor() as cursor:
                literal = cursor.mogrify(sql, params)
            floor = []
            for _ in range(runs):
                began = time.perf_counter()
                past_settings(floor_db.execute(literal)).fetchall()  # past POSTGRESQL_SETTINGS' SETs
                floor.append((time.perf_counter() - began) * 1000)
            (p50, p99), (f50, f99) = _percentiles(selector), _percentiles(floor)
            figures.append({"query": name, "q": q, "total": page.total, "tiers": sorted({h.tier for h in page.hits}),
                            "p50_ms": p50, "p99_ms": p99, "floor_p50_ms": f50, "floor_p99_ms": f99})
    return figures


def index_size() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('search_searchmessage'), pg_total_relation_size('search_searchidentifier'),"
            " pg_relation_size('search_message_window_key'), (SELECT count(*) FROM search_searchmessage)"
        )
        table, identifiers, gin, rows = cursor.fetchone()
    return {"messages_table_bytes": table, "identifiers_bytes": identifiers, "gin_bytes": gin, "unit_rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.search", description=__doc__)
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    admin_url = os.environ.get("BENCH_ADMIN_URL", ADMIN_URL)
    with (
        tempfile.TemporaryDirectory(prefix="bench-var-", ignore_cleanup_errors=True) as var_dir,
        scratch_database(admin_url=admin_url, prefix="benchsearch") as url,
    ):
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "VAR_DIR": var_dir}
        migrate(url, env=env)
        os.environ.update(env, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="analytics_api.settings", DJANGO_DEBUG="false")
        django.setup()
        now = datetime.now(UTC).replace(microsecond=0)
        load = corpus_load(conversations=args.conversations, days=args.days, now=now)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        figures = measure(url=url, account_id=load["account"], now=now, runs=args.runs)
        size = index_size()
        connection.close()
    total = size["messages_table_bytes"] + size["identifiers_bytes"]
    print(f"{args.conversations:,} conversations over {args.days} days, {size['unit_rows']:,} indexed units; "
          f"stored in {load['store_s']:.1f} s, indexed in {load['index_s']:.1f} s "
          f"({args.conversations / load['index_s']:,.0f} conversations/s)")
    print(f"index: {total / 2**20:.1f} MiB (GIN {size['gin_bytes'] / 2**20:.1f} MiB) → "
          f"{total / args.conversations * 1e6 / 2**30:.1f} GiB per million conversations (extrapolated)")
    for figure in figures:
        print(f"{figure['query']} {figure['q']!r}: total {figure['total']:,}, tiers on page {figure['tiers']}; "
              f"p50 {figure['p50_ms']:.1f} ms p99 {figure['p99_ms']:.1f} ms; "
              f"SQL alone p50 {figure['floor_p50_ms']:.1f} ms p99 {figure['floor_p99_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
