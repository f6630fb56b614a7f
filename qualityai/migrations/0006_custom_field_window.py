"""Custom-field rows repeat their contact's start, and are indexed by (stream, key, value, start).

A ``custom_fields`` filter then reads only the rows of the window from the index; before, a
common value (half a stream's contacts) made PostgreSQL scan the whole table.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_starts(apps, schema_editor):
    QaContact = apps.get_model("qualityai", "QaContact")
    QaContactCustomField = apps.get_model("qualityai", "QaContactCustomField")
    QaContactCustomField.objects.update(
        started_at=Subquery(QaContact.objects.filter(pk=OuterRef("contact_id")).values("started_at")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("qualityai", "0005_served")]

    operations = [
        migrations.AddField(
            model_name="qacontactcustomfield", name="started_at", field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_starts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="qacontactcustomfield", name="started_at", field=models.DateTimeField(),
        ),
        migrations.RemoveIndex(model_name="qacontactcustomfield", name="qa_custom_field_lookup"),
        migrations.AddIndex(
            model_name="qacontactcustomfield",
            index=models.Index(fields=["stream", "key", "value", "started_at"], name="qa_custom_field_window"),
        ),
    ]
