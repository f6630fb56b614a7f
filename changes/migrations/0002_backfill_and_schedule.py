"""Every record stored before the change log existed gets its first change (so the feed, read from the
beginning, delivers it and counts have its version), and the daily pruning job is scheduled."""

from django.db import migrations
from django.utils import timezone

from analytics_api.kernel.schedules import schedules_operation

SCHEDULE = {"name": "changes-prune", "func": "changes.tasks.changes_prune_task", "schedule_type": "D"}


def backfill(apps, schema_editor):
    Change = apps.get_model("changes", "Change")
    Interaction = apps.get_model("conversations", "Interaction")
    QaContact = apps.get_model("qualityai", "QaContact")
    Bot = apps.get_model("analytics_api", "Bot")
    quote = schema_editor.connection.ops.quote_name
    change = quote(Change._meta.db_table)
    columns = "(account_id, dataset, " + quote("key") + ", op, txid, changed_at)"
    now = timezone.now()
    concat = "b.bot_id || '/' || c.conversation_id"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {change} {columns} SELECT account_id, 'interactions', session_id, 'upsert', 0, %s "
            f"FROM {quote(Interaction._meta.db_table)} ORDER BY id",
            [now],
        )
        cursor.execute(
            f"INSERT INTO {change} {columns} SELECT c.account_id, 'qa_contacts', {concat}, 'upsert', 0, %s "
            f"FROM {quote(QaContact._meta.db_table)} c JOIN {quote(Bot._meta.db_table)} b ON b.id = c.stream_id "
            "ORDER BY c.id",
            [now],
        )



class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0001_initial"),
        ("conversations", "0004_served_version"),
        ("qualityai", "0007_served_version"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        schedules_operation([SCHEDULE]),
    ]
