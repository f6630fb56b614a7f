"""The kept day counts of Quality AI contacts gain their counts by UTC hour (``QaDayCount.hours``).

A deep rawdata page then skips whole hours of the day it begins in, instead of walking every
contact of that day before its first one. Rows already counted keep serving totals as before; a
day gains its hours when it is next counted (any write to it), or at once for every day with
``python manage.py qa_day_counts --rebuild``. Marking every day here instead would make each
total count its window contact by contact until the schedule had counted them all again.
"""


import analytics_api.kernel.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('qualityai', '0012_value_day_counts'),
    ]

    operations = [
        migrations.AddField(
            model_name='qadaycount',
            name='hours',
            field=analytics_api.kernel.fields.FastJSONField(blank=True, help_text='The counts by UTC hour: four lists of 24', null=True),
        ),
    ]
