"""The django-q2 schedules of the recordings app: the fetch sweep every minute, retention daily.

A data migration, so `migrate` (which every deployment runs) is all it takes; re-running it or
editing a schedule in the admin keeps one row per name.
"""

from django.db import migrations

from analytics_api.kernel.schedules import schedules_operation

SCHEDULES = [
    {"name": "recordings-sweep", "func": "recordings.tasks.recordings_sweep", "schedule_type": "I", "minutes": 1},
    {"name": "recordings-retention", "func": "recordings.tasks.recordings_retention", "schedule_type": "D"},
]



class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [schedules_operation(SCHEDULES)]
