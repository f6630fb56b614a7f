"""PostgreSQL compresses the interactions' document and served text with LZ4 (analytics_api.kernel.toast).

Most interaction records are below the 2 KB where PostgreSQL starts compressing; the long ones (many
participants and segments) are written and read faster. Existing partitions are altered too; stored
values keep pglz.
"""

from django.db import migrations

from analytics_api.kernel.toast import toast_compression_operation


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0006_queue_links_page'),
    ]

    operations = [
        toast_compression_operation(
            (("conversations_interaction", "document"), ("conversations_interaction", "served"))
        ),
    ]
