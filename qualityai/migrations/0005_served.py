"""A ``served`` column for each contact's pre-rendered result (see analytics_api.kernel.prerender).

The column starts empty: ingestion fills it, and ``manage.py prerender`` fills it for contacts
stored before. Earlier, this migration rendered every row itself by importing the app's renderer;
a migration must not depend on live code, whose output changes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("qualityai", "0004_fast_json_field")]

    operations = [
        migrations.AddField(
            model_name="qacontact",
            name="served",
            field=models.TextField(
                blank=True, editable=False, null=True,
                help_text="The result pre-rendered as JSON text with markers (qualityai.rendering); empty: render",
            ),
        ),
    ]
