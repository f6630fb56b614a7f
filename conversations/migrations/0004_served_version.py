"""The format version of each interaction's pre-rendered text (see analytics_api.kernel.prerender).

Rows stored before have version 0: they are served correctly, rendered from their documents (slower),
until ``manage.py prerender`` has re-rendered them. Self-contained: no app code is imported.
"""

import sys

from django.db import migrations, models


def notice(apps, schema_editor):
    """Tell the operator to run ``manage.py prerender`` when there are rows to re-render."""
    Interaction = apps.get_model("conversations", "Interaction")
    if Interaction.objects.using(schema_editor.connection.alias).exists():
        sys.stdout.write(
            "\n  Stored interactions are rendered from their documents until re-rendered: "
            "run `manage.py prerender` (resumable; pages stay correct meanwhile)."
        )


class Migration(migrations.Migration):
    dependencies = [("conversations", "0003_drop_bare_account_indexes")]

    operations = [
        migrations.AddField(
            model_name="interaction",
            name="served_version",
            field=models.PositiveSmallIntegerField(
                default=0, db_default=0, editable=False,
                help_text="Format of served; not conversations.documents.PRERENDER_VERSION: render (manage.py prerender)",
            ),
        ),
        migrations.RunPython(notice, migrations.RunPython.noop, elidable=True),
    ]
