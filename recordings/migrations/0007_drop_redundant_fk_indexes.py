"""Drop the account indexes of recordings, recording source grants and audit entries, and the recording
index of recording files: each was the foreign key's own index, and an index that starts with the
same column already serves every lookup by it (see each field's comment in the models). One index
less to write on every insert (a recording per voice conversation, an audit entry per action).

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
        ('recordings', '0006_audit_supervisor_actions'),
    ]

    operations = [
        ForeignKeyIndexDrop(
            model_name='auditentry',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='audit_entries', to='analytics_api.account'),
        ),
        ForeignKeyIndexDrop(
            model_name='recording',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='recordings', to='analytics_api.account'),
        ),
        ForeignKeyIndexDrop(
            model_name='recordingfile',
            name='recording',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='files', to='recordings.recording'),
        ),
        ForeignKeyIndexDrop(
            model_name='recordingsourcegrant',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='recording_source_grants', to='analytics_api.account'),
        ),
    ]
