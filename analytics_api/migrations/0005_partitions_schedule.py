"""The daily job creating the months ahead of the partitioned tables (analytics_api.kernel.partitions)."""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.schedules import schedules_operation

SCHEDULE = {"name": "partitions-maintain", "func": "analytics_api.tasks.partitions_maintain_task", "schedule_type": "D"}


class Migration(migrations.Migration):
    dependencies = [
        ("analytics_api", "0004_account_webhook_url_client_webhook_secret"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [schedules_operation([SCHEDULE])]
