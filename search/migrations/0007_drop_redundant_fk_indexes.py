"""Drop the conversation index of search identifiers and the client index of search history phrases:
each was the foreign key's own index, and an index that starts with the same column already serves
every lookup by it (see each field's comment in the models). One index less to write on every insert
(identifiers: a few rows per conversation ingested).

Only the index goes (``ForeignKeyIndexDrop``): the foreign key constraints stay as they were, and no
table is checked again or rebuilt.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

from analytics_api.kernel.schema_operations import ForeignKeyIndexDrop


class Migration(migrations.Migration):

    dependencies = [
        ('analytics_api', '0006_drop_redundant_fk_indexes'),
        ('content', '0005_monthly_partitions'),
        ('search', '0006_small_pending_list'),
    ]

    operations = [
        ForeignKeyIndexDrop(
            model_name='searchidentifier',
            name='conversation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='content.conversation'),
        ),
        ForeignKeyIndexDrop(
            model_name='searchphrase',
            name='api_client',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='analytics_api.apiclient'),
        ),
    ]
