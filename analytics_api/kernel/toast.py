"""LZ4 instead of pglz for the large documents PostgreSQL moves to TOAST, one helper for every app.

A value of more than about 2 KB (a transcript, a Quality AI contact's document and its served text)
is compressed when it is written; pglz is the server's default and takes most of the time of the
statement that inserts such rows. LZ4 takes a fraction of it, to write and to read, for about 5–11%
more space (docs/conversation-storage.md#toast-and-compression, BENCHMARKS.md#ingestion).

The method is a property of the column, so it holds whatever the connection (a pooler in transaction
mode included) and survives a dump and restore. A partitioned table's existing partitions are altered
one by one (the parent's ALTER does not reach them); partitions created later copy the parent's
columns with their compression (analytics_api.kernel.partitions). Values already stored keep their
method and stay readable; only values written afterwards use the new one. Nothing happens on other
databases, nor on a PostgreSQL built without LZ4 (the columns keep the server's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import migrations


def toast_compression_set(*, connection: Any, columns: Sequence[tuple[str, str]], method: str) -> list[str]:
    """Set ``method`` on each (table, column) of ``columns`` and of every partition below the table.

    Returns the relations altered (empty when the database is not PostgreSQL or lacks ``method``).
    """
    if connection.vendor != "postgresql":
        return []
    altered = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND %s = ANY(enumvals)", [method]
        )
        if cursor.fetchone() is None:
            return []
        for table, column in columns:
            # The table itself first, then each partition of every level (pg_partition_tree lists
            # nothing for a plain table).
            cursor.execute("SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) ORDER BY level", [table])
            relations = [row[0] for row in cursor.fetchall()] or [connection.ops.quote_name(table)]
            for relation in relations:
                cursor.execute(f'ALTER TABLE {relation} ALTER COLUMN "{column}" SET COMPRESSION {method}')
                altered.append(relation)
    return altered


def toast_compression_operation(columns: Sequence[tuple[str, str]]) -> migrations.RunPython:
    """The migration operation compressing ``columns`` with LZ4, and with pglz again when reversed."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        toast_compression_set(connection=schema_editor.connection, columns=columns, method="lz4")

    def backwards(apps: Any, schema_editor: Any) -> None:
        toast_compression_set(connection=schema_editor.connection, columns=columns, method="pglz")

    return migrations.RunPython(forwards, backwards, elidable=False)
