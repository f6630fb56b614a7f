"""Drop the client index of saved filters: each was the foreign key's own index, and an index that
starts with the same column already serves every lookup by it (see each field's comment in the
models). One index less to write on every insert.

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
        ('supervision', '0001_initial'),
    ]

    operations = [
        ForeignKeyIndexDrop(
            model_name='savedfilter',
            name='client',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='saved_filters', to='analytics_api.apiclient'),
        ),
    ]
