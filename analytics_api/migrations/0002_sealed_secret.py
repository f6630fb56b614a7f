import analytics_api.models
from django.db import migrations, models

from analytics_api.tenancy.secrets_box import seal


def seal_existing(apps, schema_editor):
    ApiClient = apps.get_model("analytics_api", "ApiClient")
    for client in ApiClient.objects.only("pk", "secret"):
        client.sealed_secret = seal(client.secret)
        client.save(update_fields=["sealed_secret"])


class Migration(migrations.Migration):
    dependencies = [("analytics_api", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="sealed_secret",
            field=models.TextField(default=analytics_api.models.new_sealed_secret, editable=False),
        ),
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apiclient", name="secret"),
    ]
