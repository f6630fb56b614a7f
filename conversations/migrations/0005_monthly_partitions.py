"""Interactions and their queue links partitioned by month on PostgreSQL (docs/scale-out.md#monthly-partitions).

The queue links first lose their database foreign key (a partitioned table's key includes its
partition key); (account, sessionId) stays unique through the key table. Converted in place;
nothing happens on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

from analytics_api.kernel.partitions import AlterFieldOnPostgreSQL, Monthly, PartitionByMonth


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0004_served_version'),
    ]

    operations = [
        AlterFieldOnPostgreSQL(
            model_name='interactionqueue',
            name='interaction',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='queue_links', to='conversations.interaction'),
        ),
        PartitionByMonth(Monthly("conversations_interaction", "session_start", scope="account_id", key="session_id")),
        PartitionByMonth(Monthly("conversations_interactionqueue", "session_start")),
    ]
