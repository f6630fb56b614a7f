"""Kept per-value day counts of custom fields for rawdata's totalResults under a one-key filter
(qualityai.models.QaValueDayCount, qualityai/day_counts.py).

Every day that has contacts is marked again, so that the new counts start exact: a marked day is
counted from the custom-field rows until the qualityai-day-counts schedule (or ``manage.py
qa_day_counts``) has counted it, its day count and its value counts together.
"""

from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import TruncDate


def mark_existing_days(apps, schema_editor):
    # The same as qualityai.day_counts.streams_days_mark: migrations import no app code.
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

    dependencies = [("qualityai", "0011_custom_field_direction_duration")]

    operations = [
        migrations.CreateModel(
            name="QaValueDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("key", models.CharField(max_length=100)),
                ("value", models.CharField(blank=True, help_text="Empty: too many values to keep", max_length=500, null=True)),
                ("inbound", models.BigIntegerField(default=0)),
                ("inbound_evaluated", models.BigIntegerField(default=0)),
                ("outbound", models.BigIntegerField(default=0)),
                ("outbound_evaluated", models.BigIntegerField(default=0)),
                ("stream", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="analytics_api.bot")),
            ],
            options={
                "indexes": [models.Index(fields=["stream", "key", "day", "value"], name="qa_value_day_count_read")],
            },
        ),
        migrations.RunPython(mark_existing_days, migrations.RunPython.noop),
    ]
