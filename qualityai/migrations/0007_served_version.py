"""The format version of each contact's pre-rendered text (see analytics_api.kernel.prerender).

Rows stored before have version 0: they are served correctly, rendered from their rows (slower),
until ``manage.py prerender`` has re-rendered them. Self-contained: no app code is imported.
"""

import sys

from django.db import migrations, models


def notice(apps, schema_editor):
    """Tell the operator to run ``manage.py prerender`` when there are rows to re-render."""
    QaContact = apps.get_model("qualityai", "QaContact")
    if QaContact.objects.using(schema_editor.connection.alias).exists():
        sys.stdout.write(
            "\n  Stored Quality AI contacts are rendered from their rows until re-rendered: "
            "run `manage.py prerender` (resumable; pages stay correct meanwhile)."
        )


class Migration(migrations.Migration):
    dependencies = [("qualityai", "0006_custom_field_window")]

    operations = [
        migrations.AddField(
            model_name="qacontact",
            name="served_version",
            field=models.PositiveSmallIntegerField(
                default=0, db_default=0, editable=False,
                help_text="Format of served; not qualityai.rendering.PRERENDER_VERSION: render (manage.py prerender)",
            ),
        ),
        migrations.RunPython(notice, migrations.RunPython.noop, elidable=True),
    ]
