"""Documents read and written with orjson; every stored document pre-rendered into ``served``."""

import analytics_api.fields
from django.db import migrations, models

from conversations.documents import document_prerender

_BATCH = 1000


def prerender(apps, schema_editor):
    """Fill ``served`` in primary-key order, one batch at a time, so memory stays flat."""
    Interaction = apps.get_model("conversations", "Interaction")
    last = 0
    while True:
        rows = list(Interaction.objects.filter(pk__gt=last).order_by("pk").only("pk", "document")[:_BATCH])
        if not rows:
            return
        for row in rows:
            row.served = document_prerender(row.document)
        Interaction.objects.bulk_update(rows, ["served"])
        last = rows[-1].pk


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='interaction',
            name='served',
            field=models.TextField(blank=True, editable=False, help_text='The document pre-rendered as JSON text with markers (conversations.documents); empty: render', null=True),
        ),
        migrations.AlterField(
            model_name='interaction',
            name='document',
            field=analytics_api.fields.FastJSONField(help_text='The record as served, times in UTC (YYYY-MM-DDTHH:MM:SS.mmmZ)'),
        ),
        migrations.AlterField(
            model_name='interaction',
            name='recording_sources',
            field=analytics_api.fields.FastJSONField(blank=True, default=list, help_text='[{url, channel}] for the recordings worker; never served'),
        ),
        migrations.RunPython(prerender, migrations.RunPython.noop),
    ]
