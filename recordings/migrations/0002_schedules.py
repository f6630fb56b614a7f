"""The django-q2 schedules of the recordings app: the fetch sweep every minute, retention daily.

A data migration, so `migrate` (which every deployment runs) is all it takes; re-running it or
editing a schedule in the admin keeps one row per name.
"""

from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    {"name": "recordings-sweep", "func": "recordings.tasks.recordings_sweep", "schedule_type": "I", "minutes": 1},
    {"name": "recordings-retention", "func": "recordings.tasks.recordings_retention", "schedule_type": "D"},
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for spec in SCHEDULES:
        fields = {key: value for key, value in spec.items() if key != "name"}
        if not Schedule.objects.filter(name=spec["name"]).exists():
            Schedule.objects.create(name=spec["name"], repeats=-1, next_run=timezone.now(), **fields)


def remove_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[spec["name"] for spec in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
