"""Drop the account index of bots and the client index of used token ids: each was the foreign key's
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
        ('analytics_api', '0005_partitions_schedule'),
    ]

    operations = [
        ForeignKeyIndexDrop(
            model_name='bot',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='bots', to='analytics_api.account'),
        ),
        ForeignKeyIndexDrop(
            model_name='usedtokenid',
            name='client',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='used_token_ids', to='analytics_api.apiclient'),
        ),
    ]
