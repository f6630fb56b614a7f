"""PostgreSQL compresses the content documents with LZ4 instead of pglz (docs/conversation-storage.md).

A transcript of 30 messages is about 5 KB of JSON, compressed in TOAST to about 1.5 KB either way; LZ4
takes a fraction of pglz's time to compress and to decompress, which is most of the database's work of
an ingestion batch after the JSON parsing (analytics_api.kernel.toast).
"""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.toast import toast_compression_operation


class Migration(migrations.Migration):
    dependencies = [("content", "0001_initial")]

    operations = [
        toast_compression_operation(
            (("content_transcript", "messages"), ("content_eventlog", "events"), ("content_voiceturns", "turns"))
        )
    ]
