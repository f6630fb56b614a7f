"""Quality AI contacts and their custom fields partitioned by month on PostgreSQL (docs/scale-out.md#monthly-partitions).

(stream, Conversation ID) stays unique through the key table. Converted in place; nothing happens on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

from analytics_api.kernel.partitions import AlterFieldOnPostgreSQL, Monthly, PartitionByMonth


class Migration(migrations.Migration):

    dependencies = [
        ('qualityai', '0007_served_version'),
    ]

    operations = [
        AlterFieldOnPostgreSQL(
            model_name='qacontactcustomfield',
            name='contact',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='custom_field_rows', to='qualityai.qacontact'),
        ),
        PartitionByMonth(Monthly("qualityai_qacontact", "started_at", scope="stream_id", key="conversation_id")),
        PartitionByMonth(Monthly("qualityai_qacontactcustomfield", "started_at")),
    ]
