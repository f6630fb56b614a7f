"""Monthly partitions on PostgreSQL (analytics_api.kernel.partitions, docs/scale-out.md#monthly-partitions).

The test database was migrated moments ago, so the months from the current one to three ahead
have partitions of their own and every earlier start lies in the converted old table
(``<table>_before``); the tests place their records in those future months and pin the clock there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics_api.kernel.partitions import (
    MONTHLY,
    Monthly,
    month_start,
    partition_in_place,
    partition_name,
    partition_parent,
    partitions_maintain,
    partitions_retire,
)
from changes.datasets import DATASETS
from changes.models import Change
from changes.services import changes_prune
from content.models import Conversation, Transcript
from content.selectors import conversation_transcript_get
from conversations.models import Interaction, InteractionQueue
from conversations.services import interactions_ingest
from qualityai.models import QaContact
from qualityai.services import contacts_ingest
from tests.conftest import Tenant
from tests.content.ingest_helpers import ContentRecordFactory, send
from tests.conversations.factories import ConversationRecordFactory
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL partitions tables"),
]

# Two months that have partitions of their own in the test database (see the module's docstring).
CURRENT = month_start(timezone.now())
FIRST = month_start(CURRENT, 1)
SECOND = month_start(CURRENT, 2)


@pytest.fixture(autouse=True)
def _after_both_months() -> Any:
    """The clock pinned after both months, so every record placed in them is in the past."""
    with time_machine.travel(month_start(SECOND, 1) + timedelta(days=3), tick=False):
        yield


def _partition_of(table: str, **where: Any) -> list[str]:
    conditions = " AND ".join(f'"{column}" = %s' for column in where)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tableoid::regclass::text FROM "{table}" WHERE {conditions}', list(where.values()))
        return [row[0] for row in cursor.fetchall()]


def _key_rows(table: str) -> list[tuple[Any, ...]]:
    spec = MONTHLY[table]
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{spec.scope}", "{spec.key}", row_id, start FROM "{spec.key_table}" ORDER BY 2')
        return cursor.fetchall()


def test_every_large_table_is_partitioned_by_month_with_months_ahead() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1"
        )
        partitioned = [row[0] for row in cursor.fetchall()]
    assert partitioned == sorted(MONTHLY)
    assert {"conversations_interaction", "qualityai_qacontact", "content_conversation", "content_transcript",
            "changes_change"} <= set(partitioned)
    with connection.cursor() as cursor:
        for table in MONTHLY:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass",
                [table],
            )
            names = {row[0] for row in cursor.fetchall()}
            expected = {partition_name(table, month_start(CURRENT, offset)) for offset in range(4)}
            assert expected | {f"{table}_before", f"{table}_default"} == names


def test_an_interaction_whose_start_moved_to_another_month_is_moved_never_duplicated(tenant: Tenant) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, start=FIRST + timedelta(days=3))
    assert interactions_ingest(account=tenant.account, records=[record]).created == 1

    moved = ConversationRecordFactory(
        botId=tenant.bot.bot_id, start=SECOND + timedelta(days=9), sessionId=record["sessionId"]
    )
    result = interactions_ingest(account=tenant.account, records=[moved])

    assert (result.created, result.updated) == (0, 1)
    rows = Interaction.objects.filter(account=tenant.account, session_id=record["sessionId"])
    assert rows.count() == 1
    assert rows.get().session_start == SECOND + timedelta(days=9)
    assert _partition_of("conversations_interaction", session_id=record["sessionId"]) == [
        partition_name("conversations_interaction", SECOND)
    ]
    # Its queue links were replaced in the new month, and its key follows it.
    assert set(_partition_of("conversations_interactionqueue", interaction_id=rows.get().pk)) == {
        partition_name("conversations_interactionqueue", SECOND)
    }
    assert _key_rows("conversations_interaction") == [
        (tenant.account.pk, record["sessionId"], rows.get().pk, SECOND + timedelta(days=9))
    ]
    # Moving it back is an update again.
    again = interactions_ingest(account=tenant.account, records=[record])
    assert (again.created, again.updated) == (0, 1)
    assert Interaction.objects.filter(session_id=record["sessionId"]).count() == 1


def test_a_quality_ai_contact_whose_start_moved_month_is_updated_in_place(tenant: Tenant) -> None:
    document = ContactDocumentFactory(started=FIRST + timedelta(days=1))
    assert contacts_ingest(stream=tenant.bot, records=[document]).created == 1
    moved = {**ContactDocumentFactory(started=SECOND + timedelta(days=2)),
             "Conversation ID": document["Conversation ID"]}

    result = contacts_ingest(stream=tenant.bot, records=[moved])

    assert (result.created, result.updated) == (0, 1)
    assert QaContact.objects.filter(conversation_id=document["Conversation ID"]).count() == 1
    assert _partition_of("qualityai_qacontact", conversation_id=document["Conversation ID"]) == [
        partition_name("qualityai_qacontact", SECOND)
    ]


def test_a_conversation_known_from_its_content_moves_with_its_documents_when_its_interaction_arrives(
    tenant: Tenant,
) -> None:
    record = ContentRecordFactory()
    assert send(tenant, [record]).status_code == 200
    conversation = Conversation.objects.get(session_id=record["sessionId"])
    assert _partition_of("content_conversation", session_id=record["sessionId"]) == ["content_conversation_before"]

    interaction = ConversationRecordFactory(
        botId=tenant.bot.bot_id, start=SECOND + timedelta(days=4), sessionId=record["sessionId"]
    )
    assert interactions_ingest(account=tenant.account, records=[interaction]).created == 1

    assert Conversation.objects.filter(session_id=record["sessionId"]).count() == 1
    moved = Conversation.objects.get(session_id=record["sessionId"])
    assert moved.pk == conversation.pk
    assert moved.started_at == SECOND + timedelta(days=4)
    assert _partition_of("content_conversation", session_id=record["sessionId"]) == [
        partition_name("content_conversation", SECOND)
    ]
    assert _partition_of("content_transcript", conversation_id=moved.pk) == [
        partition_name("content_transcript", SECOND)
    ]
    assert Transcript.objects.filter(conversation_id=moved.pk).count() == 1
    assert _key_rows("content_conversation") == [
        (tenant.account.pk, record["sessionId"], moved.pk, SECOND + timedelta(days=4))
    ]


def test_a_conversations_documents_are_read_from_its_months_partition_only(tenant: Tenant) -> None:
    record = ContentRecordFactory()
    assert send(tenant, [record]).status_code == 200
    interaction = ConversationRecordFactory(
        botId=tenant.bot.bot_id, start=SECOND + timedelta(days=4), sessionId=record["sessionId"]
    )
    assert interactions_ingest(account=tenant.account, records=[interaction]).created == 1

    with CaptureQueriesContext(connection) as captured:
        _, messages = conversation_transcript_get(account=tenant.account, session_id=record["sessionId"])
    # Found after its start moved month, and read from that month's partition alone: the others are
    # pruned when the statement runs (the start comes from the conversation's row).
    assert [message["id"] for message in messages] == [message["id"] for message in record["transcript"]]
    (statement,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement["sql"])
        plan = [row[0] for row in cursor.fetchall()]
    month = partition_name("content_transcript", SECOND)
    executed = {
        name for line in plan if "never executed" not in line
        for name in line.split() if name.startswith("content_transcript_")
    }
    assert executed and executed <= {month, f"{month}_pkey"}


def test_a_second_row_with_the_same_key_is_refused_whoever_inserts_it(tenant: Tenant) -> None:
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, start=FIRST + timedelta(days=3))
    interactions_ingest(account=tenant.account, records=[record])
    stored = Interaction.objects.get(session_id=record["sessionId"])

    with pytest.raises(IntegrityError, match="conversations_interaction_key"), transaction.atomic():
        Interaction.objects.create(
            account=tenant.account, session_id=record["sessionId"], channel="rtm", bot_id=tenant.bot.bot_id,
            session_start=SECOND, document={},
        )

    assert list(Interaction.objects.filter(session_id=record["sessionId"]).values_list("pk", flat=True)) == [
        stored.pk
    ]


def test_erasure_deletes_across_months_and_frees_the_keys(tenant: Tenant) -> None:
    records = [
        ConversationRecordFactory(botId=tenant.bot.bot_id, start=start)
        for start in (FIRST + timedelta(days=2), SECOND + timedelta(days=2), datetime(2025, 1, 5, tzinfo=UTC))
    ]
    interactions_ingest(account=tenant.account, records=records)
    assert len(_key_rows("conversations_interaction")) == 3

    Interaction.objects.filter(account=tenant.account).delete()

    assert _key_rows("conversations_interaction") == []
    assert InteractionQueue.objects.count() == 0
    assert interactions_ingest(account=tenant.account, records=records).created == 3


def test_the_daily_job_creates_months_ahead_and_moves_rows_out_of_the_default_partition(tenant: Tenant) -> None:
    far = month_start(CURRENT, 8)
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, start=far + timedelta(days=5))
    interactions_ingest(account=tenant.account, records=[record])
    assert _partition_of("conversations_interaction", session_id=record["sessionId"]) == [
        "conversations_interaction_default"
    ]

    report = partitions_maintain(now=far - timedelta(days=40))
    again = partitions_maintain(now=far - timedelta(days=40))

    assert partition_name("conversations_interaction", far) in report.created
    assert report.moved >= 1
    assert again.created == [] and again.moved == 0
    assert _partition_of("conversations_interaction", session_id=record["sessionId"]) == [
        partition_name("conversations_interaction", far)
    ]
    stored = Interaction.objects.get(session_id=record["sessionId"])
    assert _key_rows("conversations_interaction") == [
        (tenant.account.pk, record["sessionId"], stored.pk, far + timedelta(days=5))
    ]
    # Still one record when ingested again after the move.
    assert interactions_ingest(account=tenant.account, records=[record]).updated == 1
    assert Interaction.objects.filter(session_id=record["sessionId"]).count() == 1


def test_retiring_drops_only_old_months_that_hold_no_row(tenant: Tenant) -> None:
    far = month_start(CURRENT, 10)
    partitions_maintain(now=far)
    record = ConversationRecordFactory(botId=tenant.bot.bot_id, start=far + timedelta(days=1))
    interactions_ingest(account=tenant.account, records=[record])

    dropped = partitions_retire(table="conversations_interaction", before=month_start(far, 4))

    assert partition_name("conversations_interaction", month_start(far, 1)) in dropped
    assert partition_name("conversations_interaction", far) not in dropped
    assert "conversations_interaction_before" not in dropped
    assert Interaction.objects.filter(session_id=record["sessionId"]).count() == 1


def test_the_change_log_pruning_drops_the_months_it_emptied(tenant: Tenant, settings: Any) -> None:
    settings.CHANGE_FEED_RETENTION_DAYS = 30
    kept, superseded = (ConversationRecordFactory(botId=tenant.bot.bot_id, start=CURRENT + timedelta(days=1))
                        for _ in range(2))
    with time_machine.travel(CURRENT + timedelta(days=1), tick=False) as clock:
        interactions_ingest(account=tenant.account, records=[kept])
        clock.move_to(FIRST + timedelta(days=2))
        interactions_ingest(account=tenant.account, records=[superseded])
        clock.shift(timedelta(days=1))
        interactions_ingest(account=tenant.account, records=[{**superseded, "finalStatus": "Abandoned"}])
        assert set(_partition_of("changes_change", key=superseded["sessionId"])) == {
            partition_name("changes_change", FIRST)
        }
        clock.move_to(month_start(FIRST, 2) + timedelta(days=5))
        interactions_ingest(account=tenant.account, records=[{**superseded, "finalStatus": "BotResolved"}])

        report = changes_prune()

    # The first month lost its superseded changes and went whole; the current month holds the
    # latest changes of a living record (older than the retention, kept) and stays.
    assert report.dropped == [partition_name("changes_change", FIRST)]
    assert set(_partition_of("changes_change", key=kept["sessionId"])) == {partition_name("changes_change", CURRENT)}
    assert Change.objects.filter(key=superseded["sessionId"]).count() == 2  # as interaction and conversation


def test_an_existing_table_is_converted_in_place_keeping_rows_ids_and_indexes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """CREATE TABLE convert_me (
                   id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                   account_id bigint NOT NULL, session_id varchar(128) NOT NULL, at timestamptz NOT NULL,
                   CONSTRAINT convert_me_once UNIQUE (account_id, session_id))"""
        )
        cursor.execute("CREATE INDEX convert_me_window ON convert_me (account_id, at)")
        cursor.execute(
            "INSERT INTO convert_me (account_id, session_id, at) "
            "SELECT 1, 's-' || n, timestamptz '2024-01-01' + n * interval '9 days' FROM generate_series(1, 100) n"
        )
        spec = Monthly("convert_me", "at", scope="account_id", key="session_id")

        partition_in_place(cursor, spec)

        cursor.execute("SELECT count(*), count(DISTINCT tableoid), max(id) FROM convert_me")
        assert cursor.fetchone() == (100, 1, 100)
        cursor.execute("INSERT INTO convert_me (account_id, session_id, at) VALUES (1, 's-new', now()) RETURNING id")
        assert cursor.fetchone()[0] == 101
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'convert_me'::regclass")
        # The pair's unique constraint became a plain index (lookups); the key table keeps it unique.
        assert {row[0] for row in cursor.fetchall()} == {"convert_me_window", "convert_me_pkey", "convert_me_once"}
        cursor.execute("SELECT count(*) FROM convert_me_key")
        assert cursor.fetchone()[0] == 101
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute("INSERT INTO convert_me (account_id, session_id, at) VALUES (1, 's-7', now())")


def _windowed_reads(tenant: Tenant) -> dict[str, tuple[str, dict[str, Any], dict[str, str]]]:
    """Every windowed read, with a window of three days inside ``SECOND``: path, body, headers."""
    day, last = SECOND + timedelta(days=9), SECOND + timedelta(days=11)
    dates = {"startDate": f"{day:%Y-%m-%d}", "endDate": f"{last:%Y-%m-%d}"}
    details = f"/agentassist/api/public/analytics/account/{tenant.account_id}/v2/{{}}?limit=100&offset=0"
    return {
        "interactionDetails": (details.format("interactionDetails"), {**dates, "timeZoneOffset": 0}, {}),
        "interactionDetails-queues": (
            details.format("interactionDetails"), {**dates, "timeZoneOffset": 0, "queues": ["qu-1"]}, {}
        ),
        "calldetails": (details.format("calldetails"), {**dates, "timeZoneOffset": 0}, {}),
        "rawdata": (
            f"/qualityai/api/v1/public/qualitymanagement/app/{tenant.bot.bot_id}/rawdata",
            {"startDate": f"{day:%Y-%m-%d} 00:00:00", "endDate": f"{last:%Y-%m-%d} 23:59:59", "limit": 100,
             "offset": 0},
            {"accountId": tenant.account_id, "orgId": tenant.account.org_id},
        ),
        "conversations-query": ("/api/v1/conversations/query", {**dates, "limit": 25}, {}),
        "conversations-query-agents": ("/api/v1/conversations/query", {**dates, "filters": {"agents": ["a-1"]}}, {}),
    }


def _partitions_read(sql: str, params: Any) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    read, stack = set(), [plan]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", ()))
        if partition_parent(node.get("Relation Name", "")):
            read.add(node["Relation Name"])
    return read


@pytest.mark.parametrize("name", [
    "interactionDetails", "interactionDetails-queues", "calldetails", "rawdata", "conversations-query",
    "conversations-query-agents", "counts-interactions", "counts-qa_contacts", "counts-conversations",
])
def test_every_windowed_read_is_pruned_to_the_months_of_its_window(tenant: Tenant, name: str) -> None:
    for month in (FIRST, SECOND):
        interactions_ingest(account=tenant.account, records=[
            ConversationRecordFactory(botId=tenant.bot.bot_id, start=month + timedelta(days=10, minutes=n))
            for n in range(5)
        ])
        contacts_ingest(stream=tenant.bot, records=[
            ContactDocumentFactory(started=month + timedelta(days=10, minutes=n)) for n in range(5)
        ])
    with connection.cursor() as cursor:
        for table in MONTHLY:
            cursor.execute(f'ANALYZE "{table}"')
    read: set[str] = set()
    if name.startswith("counts-"):
        # The counts stream through a server-side cursor, which the capture does not see: their
        # query, as counts_compute builds it.
        rows = DATASETS[name.removeprefix("counts-")].counted(tenant.account, {}).filter(
            time__gte=SECOND + timedelta(days=9), time__lt=SECOND + timedelta(days=12)
        )
        read |= _partitions_read(*rows.query.sql_with_params())
    else:
        path, body, headers = _windowed_reads(tenant)[name]
        with CaptureQueriesContext(connection) as captured:
            response = tenant.post(path, body, **headers)
        assert response.status_code == 200, response.content[:500]
        for query in captured.captured_queries:
            sql = query["sql"]
            if sql.startswith(("SELECT", "WITH")) and any(f'"{table}' in sql for table in MONTHLY):
                read |= _partitions_read(sql, None)
    assert read, f"no partitioned table read by {name}"
    assert all(partition == partition_name(partition_parent(partition), SECOND) for partition in read), sorted(read)
