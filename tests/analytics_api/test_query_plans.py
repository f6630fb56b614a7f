"""Every endpoint's queries use an index on the account (or stream) and the time window.

On PostgreSQL, with two accounts of realistic size and fresh statistics, each endpoint is called
for real, every SELECT it ran is EXPLAINed, and the plans are checked: no sequential scan of a data
table, and the read endpoints' main table is reached through an index whose condition names both
the account (or stream) and the window column. A dropped index or a query that stops using one
fails here, not in production. Where the tables are partitioned by month, a windowed read must
also be pruned to the window's partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analytics_api.kernel.partitions import MONTHLY, partition_parent
from analytics_api.models import Account, Bot
from content.models import Conversation, ConversationAgent, EventLog, Status, Transcript, VoiceTurns
from content.queries import Position, cursor_encode
from conversations.documents import SERVED_DOCUMENTS
from conversations.models import Interaction, InteractionQueue
from qualityai.day_counts import day_counts_refresh, streams_days_mark
from qualityai.models import QaContact, QaContactCustomField
from qualityai.rendering import SERVED_RESULTS
from recordings.models import AuditEntry, Recording, RecordingFile
from tests.conftest import Tenant

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are checked on PostgreSQL"),
]

PER_ACCOUNT = 8000
END = datetime(2026, 3, 31, tzinfo=UTC)
DATA_TABLES = {
    model._meta.db_table
    for model in (
        Interaction, InteractionQueue, QaContact, QaContactCustomField, Recording, RecordingFile, AuditEntry,
        Conversation, ConversationAgent, Transcript, EventLog, VoiceTurns,
    )
}
INTERACTIONS = (Interaction._meta.db_table, "account_id", "session_start")
CONTACTS = (QaContact._meta.db_table, "stream_id", "started_at")
QUEUE_LINKS = (InteractionQueue._meta.db_table, "account_id", "session_start")
CONVERSATIONS = (Conversation._meta.db_table, "account_id", "started_at")
AGENT_LINKS = (ConversationAgent._meta.db_table, "account_id", "started_at")


def _fill(account: Account, bot: Bot) -> None:
    """``PER_ACCOUNT`` interactions and contacts over 30 days, queue links, recordings, audit entries."""
    step = timedelta(days=30) / PER_ACCOUNT
    interactions = Interaction.objects.bulk_create(
        Interaction(
            account=account, session_id=f"s-{number}", conversation_id=f"c-{number}",
            channel=("voice", "rtm", "email")[number % 3], bot_id=bot.bot_id,
            session_start=END - step * number, served="{}",
            document={"sessionId": f"s-{number}", "sessionleveltags": [{"name": "Region", "value": f"R{number % 9}"}]},
            served_version=SERVED_DOCUMENTS.version,
        )
        for number in range(PER_ACCOUNT)
    )
    InteractionQueue.objects.bulk_create(
        InteractionQueue(
            interaction=row, account=account, queue_id=f"qu-{number % 7}", session_start=row.session_start,
            session_id=row.session_id, channel=row.channel, bot_id=row.bot_id,
        )
        for number, row in enumerate(interactions)
    )
    contacts = QaContact.objects.bulk_create(
        QaContact(
            account=account, stream=bot, conversation_id=f"c-{number}", started_at=END - step * number,
            direction=("inbound", "outbound")[number % 2], duration_ms=number * 10, document={}, served="{}",
            served_version=SERVED_RESULTS.version,
        )
        for number in range(PER_ACCOUNT)
    )
    QaContactCustomField.objects.bulk_create(
        QaContactCustomField(
            contact=contact, stream=bot, key="Region", value=("US", "UK", "IN", "DE")[number % 4],
            started_at=contact.started_at, direction=contact.direction, duration_ms=contact.duration_ms,
        )
        for number, contact in enumerate(contacts)
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(
            account=account, session_id=f"s-{number}", started_at=END - step * number,
            ended_at=END - step * number + timedelta(minutes=3), start_from_interaction=True,
            channel=("voice", "rtm", "email")[number % 3], status=Status.values[number % len(Status.values)],
            csat_score=number % 5 + 1 if number % 4 == 0 else None, csat_asked=number % 4 == 0,
            sentiment=("positive", "neutral", "negative", "mixed", None)[number % 5], flagged=number % 50 == 0,
        )
        for number in range(PER_ACCOUNT)
    )
    ConversationAgent.objects.bulk_create(
        ConversationAgent(
            conversation=row, account=account, agent_id=f"u-{number % 11}", position=0, started_at=row.started_at
        )
        for number, row in enumerate(conversations)
    )
    for model, field in ((Transcript, "messages"), (EventLog, "events"), (VoiceTurns, "turns")):
        model.objects.bulk_create(
            model(conversation=row, account=account, started_at=row.started_at, **{field: []})
            for row in conversations[:: 4]
        )
    recordings = Recording.objects.bulk_create(
        Recording(account=account, conversation_id=f"c-{number}", call_ended_at=END - step * number)
        for number in range(PER_ACCOUNT)
    )
    RecordingFile.objects.bulk_create(
        RecordingFile(recording=recording, channel="mixed", source_url="https://rec.example/x")
        for recording in recordings
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(account=account, at=END - step * number, actor="system", action="notice_sent")
        for number in range(0, PER_ACCOUNT, 2)
    )


@pytest.fixture
def volume(tenant: Tenant, outsider: Tenant) -> Tenant:
    for persona in (tenant, outsider):
        _fill(persona.account, persona.bot)
    # Written around the service, as a rebuild would count them: rawdata's totals read the kept day counts.
    streams_days_mark()
    while day_counts_refresh():
        pass
    with connection.cursor() as cursor:
        for table in DATA_TABLES:
            cursor.execute(f"ANALYZE {table}")
    return tenant


def _seq_scanned(nodes: list[dict[str, Any]]) -> list[str]:
    """The data tables ``nodes`` read sequentially; an empty partition (a month ahead, the default
    one) does not count: reading it is reading nothing, and the planner rightly scans it."""
    scanned = []
    for node in nodes:
        if node["Node Type"] != "Seq Scan" or node["Relation Name"] not in DATA_TABLES:
            continue
        if node["Partition"] != node["Relation Name"]:
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{node["Partition"]}")')
                if not cursor.fetchone()[0]:
                    continue
        scanned.append(node["Partition"])
    return scanned


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in plan:
        relation = plan["Relation Name"]
        plan = {**plan, "Partition": relation, "Relation Name": partition_parent(relation) or relation}
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plans_of(queries: list[dict[str, str]]) -> list[tuple[str, list[dict[str, Any]]]]:
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or not any(f'"{table}"' in sql for table in DATA_TABLES):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            plans.append((sql, list(_nodes(plan))))
    return plans


def _uses_window_index(nodes: list[dict[str, Any]], table: str, owner: str, window: str) -> bool:
    return any(
        node.get("Relation Name") == table
        and "Index Name" in node
        and owner in node.get("Index Cond", "")
        and window in node.get("Index Cond", "")
        for node in nodes
    )


def _summary(nodes: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')} {node.get('Index Cond', '')}"
        for node in nodes
    )


def _details(tenant: Tenant, kind: str = "interactionDetails") -> str:
    return f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/{kind}?limit=100&offset=3"


DAY = {"startDate": "2026-03-20", "endDate": "2026-03-21", "timeZoneOffset": -330}
QA_DAYS = {"startDate": "2026-03-19 00:00:00", "endDate": "2026-03-21 23:59:59", "limit": 100}

QUERY = "/api/v1/conversations/query"
WINDOW = {"startDate": "2026-03-20", "endDate": "2026-03-21", "limit": 25}
# Every criterion of the Conversations table, each alone.
CRITERIA: dict[str, dict[str, Any]] = {
    "ids": {"ids": ["s-100", "s-200", "s-300"]},
    "queues": {"queues": ["qu-3"]},
    "channels": {"channels": ["voice"]},
    "agents": {"agents": ["u-3"]},
    "status": {"status": ["error"]},
    "csat": {"csat": [1, 2]},
    "flagged": {"flagged": True},
    "sentiment": {"sentiment": ["negative"]},
    "customTags": {"customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "R3"}]},
}


def _cursor() -> str:
    return cursor_encode(sort="start_desc", position=Position(datetime(2026, 3, 21, 12, tzinfo=UTC), "s-1"))


# name → (method, path, body, extra headers, [main table, owner column, window column] or None)
CASES: dict[str, tuple[str, Any, dict[str, Any] | None, dict[str, str], tuple[str, str, str] | None]] = {
    "interactionDetails": ("post", _details, DAY, {}, INTERACTIONS),
    "interactionDetails-channels": ("post", _details, {**DAY, "channels": ["voice", "email"]}, {}, INTERACTIONS),
    # Through the queue links' own (account, queue, window) index, then the interactions by key.
    "interactionDetails-queues": (
        "post", _details, {**DAY, "queues": ["qu-3"]}, {}, QUEUE_LINKS,
    ),
    "interactionDetails-sections": (
        "post", _details, {**DAY, "selectedFields": {"customerinfo": ["CustomerPhone"]}}, {}, INTERACTIONS,
    ),
    "calldetails": ("post", lambda t: _details(t, "calldetails"), DAY, {}, INTERACTIONS),
    "rawdata": ("post", None, {**QA_DAYS, "offset": 0}, {}, CONTACTS),
    "rawdata-deep": ("post", None, {**QA_DAYS, "offset": 600}, {}, CONTACTS),
    "rawdata-filters": (
        "post", None,
        {**QA_DAYS, "offset": 0, "contact_direction": "inbound", "include_below_threshold": True,
         "custom_fields": {"Region": ["US", "UK"]}},
        {}, CONTACTS,
    ),
    "conversations-query": ("post", lambda t: QUERY, WINDOW, {}, CONVERSATIONS),
    "conversations-query-next-page": ("post", lambda t: QUERY, {**WINDOW, "cursor": _cursor()}, {}, CONVERSATIONS),
    **{
        f"conversations-query-{name}": ("post", lambda t, criteria=criteria: QUERY, {**WINDOW, "filters": criteria}, {},
                                        None if name in ("ids", "queues", "agents") else CONVERSATIONS)
        for name, criteria in CRITERIA.items()
    },
    "conversation": ("get", lambda t: "/api/v1/conversations/s-8", None, {}, None),
    "conversation-transcript": ("get", lambda t: "/api/v1/conversations/s-8/transcript", None, {}, None),
    "conversation-events": ("get", lambda t: "/api/v1/conversations/s-8/events", None, {}, None),
    "conversation-latency": ("get", lambda t: "/api/v1/conversations/s-8/latency", None, {}, None),
    "recording": ("get", lambda t: "/api/v1/recordings/c-8", None, {}, None),
    "recording-download": ("get", lambda t: "/api/v1/recordings/c-8/download", None, {}, None),
    "audit-log": ("get", lambda t: "/api/v1/settings/audit-log?limit=50&offset=100", None, {}, None),
    "retention": ("get", lambda t: "/api/v1/settings/retention", None, {}, None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_endpoint_queries_use_the_account_and_window_indexes(volume: Tenant, name: str) -> None:
    method, path, body, headers, main = CASES[name]
    if path is None:
        url = f"/qualityai/api/v1/public/qualitymanagement/app/{volume.bot.bot_id}/rawdata"
        headers = {"accountId": volume.account_id, "orgId": volume.account.org_id}
    else:
        url = path(volume)
    with CaptureQueriesContext(connection) as captured:
        response = volume.post(url, body, **headers) if method == "post" else volume.get(url, **headers)
    assert response.status_code < 500, response.content[:500]
    if main is not None:
        assert response.status_code == 200, response.content[:500]
    plans = _plans_of(captured.captured_queries)
    for sql, nodes in plans:
        scans = _seq_scanned(nodes)
        assert not scans, f"sequential scan of {scans} in: {sql[:300]}"
    if main is not None:
        table, owner, window = main
        assert any(_uses_window_index(nodes, table, owner, window) for _, nodes in plans), (
            f"no index on ({owner}, {window}) of {table} in: " + " | ".join(_summary(nodes) for _, nodes in plans)
        )
        # Pruned to the window's partitions: every row of these windows (March 2026) lies in the
        # converted old table, none in the months ahead or the default partition.
        read = {node["Partition"] for _, nodes in plans for node in nodes if node.get("Relation Name") in MONTHLY}
        assert read and all(name.endswith("_before") for name in read), f"partitions read: {sorted(read)}"


def test_ingestion_lookups_use_indexes(volume: Tenant) -> None:
    records = [
        {"sessionId": f"s-{number}", "channel": "rtm", "botId": volume.bot.bot_id,
         "sessionStartTime": "2026-03-20T10:00:00Z", "userId": "u-1", "orgId": volume.account.org_id}
        for number in range(0, 200, 2)
    ]
    with CaptureQueriesContext(connection) as captured:
        response = volume.post("/api/v1/ingest/interactions", {"records": records})
    assert response.status_code == 200, response.content[:500]
    for sql, nodes in _plans_of(captured.captured_queries):
        scans = _seq_scanned(nodes)
        assert not scans, f"sequential scan of {scans} in: {sql[:300]}"


def test_a_metrics_scrape_counts_recordings_through_the_state_index(volume: Tenant) -> None:
    """Most recordings are available (not counted): the working and failed ones are found by index."""
    Recording.objects.update(state="available")
    Recording.objects.filter(conversation_id__in=[f"c-{number}" for number in range(0, 60, 3)]).update(
        state="initial_fetch_failed"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Recording._meta.db_table}")
    with CaptureQueriesContext(connection) as captured:
        response = Client().get("/metrics")
    assert response.status_code == 200
    assert 'analytics_recordings{state="initial_fetch_failed"} 40.0' in response.content.decode()
    plans = _plans_of(captured.captured_queries)
    assert plans
    for sql, nodes in plans:
        scans = _seq_scanned(nodes)
        assert not scans, f"sequential scan of {scans} in: {sql[:300]}; {_summary(nodes)}"
