"""Kept day counts of Quality AI contacts for rawdata's totalResults (qualityai/day_counts.py).

Every day that already has contacts is marked, so that the counts start exact: until the
qualityai-day-counts schedule (created here, every minute) or ``manage.py qa_day_counts`` has
counted them, rawdata counts those days contact by contact, as before.
"""

from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import TruncDate

from analytics_api.kernel.schedules import schedules_operation

SCHEDULE = {
    "name": "qualityai-day-counts", "func": "qualityai.tasks.day_counts_refresh_task", "schedule_type": "I", "minutes": 1,
}


def mark_existing_days(apps, schema_editor):
    QaContact = apps.get_model("qualityai", "QaContact")
    QaDayDirty = apps.get_model("qualityai", "QaDayDirty")
    alias = schema_editor.connection.alias
    pairs = (
        QaContact.objects.using(alias).order_by().annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values_list("stream_id", "day").distinct()
    )
    QaDayDirty.objects.using(alias).bulk_create(
        [QaDayDirty(stream_id=stream_id, day=day) for stream_id, day in pairs], batch_size=5_000
    )


class Migration(migrations.Migration):

    dependencies = [
        ('analytics_api', '0005_partitions_schedule'),
        ('qualityai', '0009_documents_lz4'),
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
    ]

    operations = [
        migrations.CreateModel(
            name='QaDayCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('threshold_ms', models.BigIntegerField(help_text="The stream's minimum duration the evaluated counts used")),
                ('inbound', models.BigIntegerField(default=0)),
                ('inbound_evaluated', models.BigIntegerField(default=0)),
                ('outbound', models.BigIntegerField(default=0)),
                ('outbound_evaluated', models.BigIntegerField(default=0)),
                ('stream', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='analytics_api.bot')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('stream', 'day'), name='qa_day_count_unique')],
            },
        ),
        migrations.CreateModel(
            name='QaDayDirty',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('marked_at', models.DateTimeField(auto_now_add=True)),
                ('stream', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='analytics_api.bot')),
            ],
            options={
                'indexes': [models.Index(fields=['stream', 'day'], name='qa_day_dirty_stream_day')],
            },
        ),
        migrations.RunPython(mark_existing_days, migrations.RunPython.noop),
        schedules_operation([SCHEDULE]),
    ]
