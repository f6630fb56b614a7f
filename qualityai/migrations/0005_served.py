"""Every stored contact's result pre-rendered into ``served`` (see qualityai.rendering)."""

from django.db import migrations, models

from qualityai.rendering import contact_prerender

_BATCH = 500


def prerender(apps, schema_editor):
    """Fill ``served`` in primary-key order, one batch at a time, so memory stays flat."""
    QaContact = apps.get_model("qualityai", "QaContact")
    last = 0
    while True:
        rows = list(QaContact.objects.filter(pk__gt=last).order_by("pk")[:_BATCH])
        if not rows:
            return
        for row in rows:
            row.served = contact_prerender(row)
        QaContact.objects.bulk_update(rows, ["served"])
        last = rows[-1].pk


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
        migrations.RunPython(prerender, migrations.RunPython.noop),
    ]
