"""Used jtis: store the SHA-256 of the whole id (was its first 255 characters), kept until exp + leeway."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def hash_and_extend(apps, schema_editor):
    # Ids of up to 255 characters were stored whole and hash exactly; a longer one was stored as
    # its prefix, so that token (jti over 255 characters, at most an hour left to live) could be
    # accepted once more.
    UsedTokenId = apps.get_model("analytics_api", "UsedTokenId")
    leeway = timedelta(seconds=settings.JWT_LEEWAY_SECONDS)
    for row in UsedTokenId.objects.all().iterator():
        row.jti_sha256 = hashlib.sha256(row.jti.encode("utf-8", "surrogatepass")).hexdigest()
        row.keep_until = row.keep_until + leeway
        row.save(update_fields=["jti_sha256", "keep_until"])


class Migration(migrations.Migration):
    dependencies = [("analytics_api", "0002_sealed_secret")]

    operations = [
        migrations.RemoveConstraint(model_name="usedtokenid", name="jti_once_per_client"),
        migrations.AddField(
            model_name="usedtokenid",
            name="jti_sha256",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RenameField(model_name="usedtokenid", old_name="expires_at", new_name="keep_until"),
        migrations.RunPython(hash_and_extend, migrations.RunPython.noop),
        migrations.RemoveField(model_name="usedtokenid", name="jti"),
        migrations.AlterField(
            model_name="usedtokenid",
            name="jti_sha256",
            field=models.CharField(help_text="SHA-256 (hex) of the token's jti", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="usedtokenid",
            constraint=models.UniqueConstraint(fields=("client", "jti_sha256"), name="jti_once_per_client"),
        ),
    ]
