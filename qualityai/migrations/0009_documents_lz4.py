"""PostgreSQL compresses the Quality AI contacts' document and served text with LZ4 (analytics_api.kernel.toast).

Both are about 5.5 KB per contact and stored in TOAST: with pglz, compressing them was half the time of
a batch's INSERT (BENCHMARKS.md#ingestion). Existing partitions are altered too; stored values keep pglz.
"""

from django.db import migrations

from analytics_api.kernel.toast import toast_compression_operation


class Migration(migrations.Migration):

    dependencies = [
        ('qualityai', '0008_monthly_partitions'),
    ]

    operations = [
        toast_compression_operation((("qualityai_qacontact", "document"), ("qualityai_qacontact", "served"))),
    ]
