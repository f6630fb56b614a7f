"""Time ingestion of one batch of 1,000 demo-shaped records: validation and upsert apart.

Usage (a scratch database; the script creates its own account and deletes its rows when done)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ing_perf .venv/bin/python -m tools.bench.profile_ingest [--runs 7]

For each kind (interaction records, Quality AI contacts) it reports the median and best of
``--runs`` runs of: validation alone, the upsert of new records, the upsert of the same records
again (updates), the whole ingestion service as the endpoints call it, and the whole request
through Django in-process (auth, JSON parsing, the batch, the response; no network or server).
``--profile`` writes a pyinstrument profile of one whole batch per kind instead.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import django
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_api.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from analytics_api.kernel.collector import collector_freeze, collector_relaxed  # noqa: E402
from analytics_api.kernel.ingestion import batch_validate  # noqa: E402
from analytics_api.models import Account, ApiClient, Bot, Scope  # noqa: E402
from analytics_api.tenancy.services import jwt_mint  # noqa: E402
from conversations.demo import KIND_WEIGHTS, KINDS, DemoSessionFactory, _conversation, _demo  # noqa: E402
from conversations.models import Interaction  # noqa: E402
from conversations.records import interaction_record_validator  # noqa: E402
from conversations.services import interactions_ingest, interactions_upsert  # noqa: E402
from qualityai.demo import DemoContactFactory  # noqa: E402
from qualityai.models import QaContact  # noqa: E402
from qualityai.serializers import contact_record_check  # noqa: E402
from qualityai.services import contacts_ingest, contacts_upsert  # noqa: E402

BATCH = 1000
ACCOUNT_ID = "profile-ingest"


def interaction_records(bot_ids: list[str], *, seed: int = 7) -> list[dict[str, Any]]:
    """``BATCH`` records drawn like ``interactions_seed`` draws them (same mix of kinds)."""
    rng = random.Random(seed)
    start = datetime(2025, 9, 30, 7, tzinfo=UTC)
    records = []
    for index in range(BATCH):
        session = DemoSessionFactory(
            rng=rng, start=start + timedelta(seconds=37 * index), org_id="o-perf", bot_id=rng.choice(bot_ids),
            automation_bot="st-automation",
        )
        kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
        records.append(session if kind == "bot_chat" else _conversation(rng, session, kind, "st-automation"))
    return records


def contact_records(interactions: list[dict[str, Any]], *, seed: int = 11) -> list[dict[str, Any]]:
    """``BATCH`` Quality AI contacts of the agent-handled conversations (reused to reach the count)."""
    rng = random.Random(seed)
    conversations = [_demo(record) for record in interactions if "conversationId" in record]
    contacts = []
    for index in range(BATCH):
        contact = DemoContactFactory(rng=rng, conversation=conversations[index % len(conversations)])
        contact["Conversation ID"] = f"{contact['Conversation ID']}-{index}"
        contacts.append(contact)
    return contacts


def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    """Milliseconds of wall time and of this process's CPU (the rest is PostgreSQL's, or waiting)."""
    began, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000


def measure(name: str, validate: Callable[[], Any], store: Callable[[list[Any]], Any], ingest: Callable[[], Any],
            records: list[Any], *, runs: int, clear: Callable[[], Any], post: Callable[[], Any]) -> None:
    """Print median/best milliseconds and records/s of each step over ``runs`` runs."""
    timings: dict[str, list[tuple[float, float]]] = {"validate": [], "upsert (create)": [], "upsert (update)": [],
                                       "service (create)": [], "service (update)": [],
                                       "API request (create)": [], "API request (update)": []}
    batch = validate()
    assert not batch.rejected, batch.rejected[:2]
    valid = [record for _index, record in batch.valid]
    for _ in range(runs):
        clear()
        timings["validate"].append(_timed(validate))

        def upsert() -> None:
            with transaction.atomic():
                store(valid)

        timings["upsert (create)"].append(_timed(upsert))
        timings["upsert (update)"].append(_timed(upsert))
        clear()
        timings["service (create)"].append(_timed(ingest))
        timings["service (update)"].append(_timed(ingest))
        clear()
        timings["API request (create)"].append(_timed(post))
        timings["API request (update)"].append(_timed(post))
    clear()
    print(f"\n{name}: {len(records)} records, {runs} runs on {connection.vendor}")
    for step, values in timings.items():
        walls = [wall for wall, _cpu in values]
        median = statistics.median(walls)
        print(f"  {step:22} median {median:7.1f} ms  best {min(walls):7.1f} ms  "
              f"(CPU here {statistics.median(cpu for _wall, cpu in values):6.1f} ms)  "
              f"→ {len(records) / median * 1000:6.0f} records/s")


def poster(client: ApiClient, path: str, records: list[Any]) -> Callable[[], Any]:
    """A POST of ``records`` to ``path`` through Django in-process, the body encoded beforehand."""
    http = APIClient(SERVER_NAME="localhost")
    body = orjson.dumps({"records": records})

    def post() -> None:
        response = http.generic("POST", path, body, content_type="application/json",
                                headers={"auth": jwt_mint(client=client)})
        assert response.status_code == 200 and not response.json()["rejected"], response.content[:500]

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of one batch per kind")
    args = parser.parse_args()

    account, _ = Account.objects.get_or_create(account_id=ACCOUNT_ID, defaults={"org_id": "o-perf"})
    bots = [Bot.objects.get_or_create(account=account, bot_id=f"st-perf-{n}")[0] for n in range(3)]
    client = ApiClient.objects.create(account=account, scopes=[Scope.INGEST.value], rate_limit_per_minute=10**6,
                                      rate_limit_per_hour=10**6)
    # As in a gunicorn worker serving a batch: the application frozen before the records exist, and the
    # collector's thresholds raised while it runs (without it, full collections walking the loaded
    # application land in whichever line allocates next, and a profile shows them there).
    collector_freeze()
    interactions = interaction_records([bot.bot_id for bot in bots])
    contacts = contact_records(interactions)
    check = interaction_record_validator(bot_ids=frozenset(bot.bot_id for bot in bots))
    kinds = [
        ("interactions", interactions,
         lambda: batch_validate(interactions, check=check, key=lambda record: record["sessionId"]),
         partial(interactions_upsert, account=account),
         lambda: interactions_ingest(account=account, records=interactions),
         Interaction.objects.filter(account=account).delete,
         poster(client, "/api/v1/ingest/interactions", interactions)),
        ("qualityai contacts", contacts,
         lambda: batch_validate(contacts, check=contact_record_check, key=lambda record: record.conversation_id),
         partial(contacts_upsert, stream=bots[0]),
         lambda: contacts_ingest(stream=bots[0], records=contacts),
         QaContact.objects.filter(stream=bots[0]).delete,
         poster(client, f"/api/v1/ingest/qualityai/{bots[0].bot_id}/contacts", contacts)),
    ]
    try:
        with collector_relaxed():
            for name, records, validate, store, ingest, clear, post in kinds:
                if args.profile:
                    clear()
                    with Profiler() as profiler:
                        ingest()
                    print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
                else:
                    measure(name, validate, store, ingest, records, runs=args.runs, clear=clear, post=post)
    finally:
        account.delete()


if __name__ == "__main__":
    main()
