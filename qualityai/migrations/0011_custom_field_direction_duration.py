"""Custom-field rows repeat their contact's direction and duration (qualityai.models.QaContactCustomField).

rawdata's total under a one-key ``custom_fields`` filter is then counted from the custom-field rows
alone: on PostgreSQL the (stream, key, value, start) index is rebuilt covering both columns, so the
COUNT is an index-only scan instead of a probe of every contact of the window. Existing rows take
their contact's values (one UPDATE of the custom-field table).
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from analytics_api.kernel.schema_operations import RunSQLOnPostgreSQL

_DROP = "DROP INDEX IF EXISTS qa_custom_field_window"
_COVERING = (
    "CREATE INDEX qa_custom_field_window ON qualityai_qacontactcustomfield "
    "(stream_id, key, value, started_at) INCLUDE (direction, duration_ms)"
)
_PLAIN = "CREATE INDEX qa_custom_field_window ON qualityai_qacontactcustomfield (stream_id, key, value, started_at)"


def copy_direction_duration(apps, schema_editor):
    QaContact = apps.get_model("qualityai", "QaContact")
    QaContactCustomField = apps.get_model("qualityai", "QaContactCustomField")
    contact = QaContact.objects.filter(pk=OuterRef("contact_id"), started_at=OuterRef("started_at"))
    QaContactCustomField.objects.using(schema_editor.connection.alias).update(
        direction=Subquery(contact.values("direction")[:1]),
        duration_ms=Subquery(contact.values("duration_ms")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("qualityai", "0010_day_counts")]

    operations = [
        migrations.AddField(
            model_name="qacontactcustomfield", name="direction",
            field=models.CharField(max_length=8, null=True, choices=[("inbound", "Inbound"), ("outbound", "Outbound")]),
        ),
        migrations.AddField(
            model_name="qacontactcustomfield", name="duration_ms", field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(copy_direction_duration, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="qacontactcustomfield", name="direction",
            field=models.CharField(max_length=8, choices=[("inbound", "Inbound"), ("outbound", "Outbound")]),
        ),
        RunSQLOnPostgreSQL([_DROP, _COVERING], [_DROP, _PLAIN]),
    ]
