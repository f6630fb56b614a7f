"""Drop the job index of export files and the account index of export jobs: each was the foreign key's
own index, and an index that starts with the same column already serves every lookup by it (see each
field's comment in the models). One index less to write on every insert.

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
        ('exports', '0002_schedules'),
    ]

    operations = [
        ForeignKeyIndexDrop(
            model_name='exportfile',
            name='job',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='files', to='exports.exportjob'),
        ),
        ForeignKeyIndexDrop(
            model_name='exportjob',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='export_jobs', to='analytics_api.account'),
        ),
    ]
