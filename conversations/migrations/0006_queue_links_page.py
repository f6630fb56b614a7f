"""Queue links carry the session id, channel and bot of their interaction (docs/scale-out.md#queue-filter).

A ``queues`` page is then one ordered range scan of the links' (account, queue_id, session_start,
session_id) index and a read of the page's records by key, at any depth. Existing links are filled
from their interactions before the old index is replaced.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE conversations_interactionqueue SET
    session_id = (SELECT i.session_id FROM conversations_interaction i WHERE i.id = conversations_interactionqueue.interaction_id),
    channel = (SELECT i.channel FROM conversations_interaction i WHERE i.id = conversations_interactionqueue.interaction_id),
    bot_id = (SELECT i.bot_id FROM conversations_interaction i WHERE i.id = conversations_interactionqueue.interaction_id)
"""


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0005_monthly_partitions'),
    ]

    operations = [
        migrations.AddField(
            model_name='interactionqueue',
            name='session_id',
            field=models.CharField(default='', max_length=128),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='interactionqueue',
            name='channel',
            field=models.CharField(choices=[('rtm', 'Web/Mobile Client'), ('voice', 'Voice'), ('email', 'System Mail')], default='', max_length=8),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='interactionqueue',
            name='bot_id',
            field=models.CharField(default='', max_length=64),
            preserve_default=False,
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=False),
        migrations.RemoveIndex(
            model_name='interactionqueue',
            name='interaction_queue_window',
        ),
        migrations.AddIndex(
            model_name='interactionqueue',
            index=models.Index(fields=['account', 'queue_id', 'session_start', 'session_id', 'interaction'], name='interaction_queue_page'),
        ),
    ]
