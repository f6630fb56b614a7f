"""The django-q2 schedule of the webhook outbox: the sweep every minute (retries, lost tasks)."""

from django.db import migrations

from analytics_api.kernel.schedules import schedules_operation

SCHEDULES = [
    {"name": "webhooks-sweep", "func": "webhooks.tasks.webhooks_sweep", "schedule_type": "I", "minutes": 1},
]



class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [schedules_operation(SCHEDULES)]
