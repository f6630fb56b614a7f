"""The conversation and its documents partitioned by month on PostgreSQL (docs/scale-out.md#monthly-partitions).

After the foreign keys into the conversation lost their database constraint (0004, search 0003,
diagnostics 0002): a partitioned table's key includes its partition key, so nothing can reference
the conversation by its id alone. Converted in place; nothing happens on SQLite.
"""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.partitions import Monthly, PartitionByMonth

TABLES = (
    "content_conversationagent",
    "content_transcript",
    "content_eventlog",
    "content_voiceturns",
)


class Migration(migrations.Migration):
    atomic = True
    dependencies = [
        ("content", "0004_no_fk_constraint_to_partitioned"),
        ("search", "0003_no_fk_constraint_to_partitioned"),
        ("diagnostics", "0002_no_fk_constraint_to_partitioned"),
    ]

    operations = [
        PartitionByMonth(Monthly("content_conversation", "started_at", scope="account_id", key="session_id")),
        *(PartitionByMonth(Monthly(table, "started_at")) for table in TABLES),
    ]
