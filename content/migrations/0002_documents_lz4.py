"""PostgreSQL compresses the content documents with LZ4 instead of pglz (docs/conversation-storage.md).

A transcript of 30 messages is about 5 KB of JSON, compressed in TOAST to about 1.5 KB either way; LZ4
takes a fraction of pglz's time to compress and to decompress, which is most of the database's work of
an ingestion batch after the JSON parsing. Skipped on other databases and on a PostgreSQL built without
LZ4 (the column then keeps the server's default).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

COLUMNS = (("content_transcript", "messages"), ("content_eventlog", "events"), ("content_voiceturns", "turns"))


def _compression(method: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND %s = ANY(enumvals)", [method]
            )
            if cursor.fetchone() is None:
                return
            for table, column in COLUMNS:
                cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}')

    return run


class Migration(migrations.Migration):
    dependencies = [("content", "0001_initial")]

    operations = [migrations.RunPython(_compression("lz4"), _compression("pglz"), elidable=False)]
