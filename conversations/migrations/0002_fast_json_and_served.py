"""Documents read and written with orjson; a ``served`` column for their pre-rendered text.

The column starts empty: ingestion fills it, and ``manage.py prerender`` fills it for rows stored
before (see analytics_api.kernel.prerender). Earlier, this migration rendered every row itself by
importing the app's renderer; a migration must not depend on live code, whose output changes.
"""

import analytics_api.kernel.fields
from django.db import migrations, models


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
            field=analytics_api.kernel.fields.FastJSONField(help_text='The record as served, times in UTC (YYYY-MM-DDTHH:MM:SS.mmmZ)'),
        ),
        migrations.AlterField(
            model_name='interaction',
            name='recording_sources',
            field=analytics_api.kernel.fields.FastJSONField(blank=True, default=list, help_text='[{url, channel}] for the recordings worker; never served'),
        ),
    ]
