"""The django-q2 schedules of exports: the sweep every minute (lost tasks, dead workers), the hourly cleanup (expiry)."""

from django.db import migrations

from analytics_api.kernel.schedules import schedules_operation

SCHEDULES = [
    {"name": "exports-sweep", "func": "exports.tasks.exports_sweep", "schedule_type": "I", "minutes": 1},
    {"name": "exports-cleanup", "func": "exports.tasks.exports_cleanup", "schedule_type": "H"},
]



class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [schedules_operation(SCHEDULES)]
