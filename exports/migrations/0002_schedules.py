"""The django-q2 schedules of exports: the sweep every minute (lost tasks, dead workers), the hourly cleanup (expiry)."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    {"name": "exports-sweep", "func": "exports.tasks.exports_sweep", "schedule_type": "I", "minutes": 1},
    {"name": "exports-cleanup", "func": "exports.tasks.exports_cleanup", "schedule_type": "H"},
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
        ("exports", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
