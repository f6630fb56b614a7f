"""No index repeats what another serves (analytics_api.kernel.schema_operations.ForeignKeyIndexDrop).

An index whose columns begin another index of the same table serves no lookup the longer one does
not, and every insert writes both. Django gives each foreign key such an index unless the field says
``db_index=False``; the project's migrations drop the ones a composite index already covers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Tables of the project's own apps; Django's and django-q2's are theirs to shape.
OWN_TABLES = (
    "analytics_api_", "conversations_", "qualityai_", "recordings_", "content_", "search_", "diagnostics_",
    "webhooks_", "changes_", "supervision_", "exports_",
)

# A plain btree index (no expression, no predicate) whose key columns, in order and direction, are the
# leading key columns of another whole-table btree index or unique index of the same table.
_REPEATED = """
WITH idx AS (
    SELECT i.indrelid, i.indexrelid, i.indisunique AS uniq, i.indnkeyatts AS nkeys,
           -- Sliced from the 0-based int2vectors into 1-based arrays.
           (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys,
           (i.indoption::int2[])[0:i.indnkeyatts - 1] AS options,
           i.indpred IS NULL AND i.indexprs IS NULL AS plain
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND NOT t.relispartition AND t.relnamespace = 'public'::regnamespace
      AND NOT i.indisprimary
      -- Django's varchar_pattern_ops twin of a text column's index serves LIKE, not equality.
      AND c.relname NOT LIKE '%%\\_like'
)
SELECT a.indrelid::regclass::text, a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM idx a JOIN idx b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
WHERE a.plain AND b.plain AND NOT a.uniq
  AND a.nkeys <= b.nkeys
  AND a.keys = b.keys[1:a.nkeys] AND a.options = b.options[1:a.nkeys]
  AND (a.nkeys < b.nkeys OR b.uniq OR a.indexrelid > b.indexrelid)
ORDER BY 1, 2
"""


@pytest.mark.django_db
def test_no_index_of_the_projects_tables_repeats_the_leading_columns_of_another() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's catalog (the production schema, with its partitioned tables)")
    with connection.cursor() as cursor:
        cursor.execute(_REPEATED)
        repeated = [row for row in cursor.fetchall() if row[0].startswith(OWN_TABLES)]
    assert repeated == []


def _constraints(table: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def _indexes_of(table: str, column: str) -> list[str]:
    """Names of the non-unique indexes on exactly ``column`` of ``table``."""
    return sorted(
        name for name, info in _constraints(table).items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
    )


def _foreign_keys_of(table: str) -> list[tuple[str, ...]]:
    return sorted(tuple(info["columns"]) for info in _constraints(table).values() if info["foreign_key"])


@pytest.mark.django_db(transaction=True)
def test_dropping_a_foreign_keys_own_index_keeps_its_constraint_and_is_undone_backwards() -> None:
    """recordings 0007 on the engine at hand: the recording files' ``recording_id`` index goes and
    comes back; the table's foreign keys are the same throughout."""
    table, column = "recordings_recordingfile", "recording_id"
    keys = _foreign_keys_of(table)
    assert _indexes_of(table, column) == []

    MigrationExecutor(connection).migrate([("recordings", "0006_audit_supervisor_actions")])
    assert _indexes_of(table, column) == ["recordings_recordingfile_recording_id_1112be01"]
    assert _foreign_keys_of(table) == keys

    MigrationExecutor(connection).migrate([("recordings", "0007_drop_redundant_fk_indexes")])
    assert _indexes_of(table, column) == []
    assert _foreign_keys_of(table) == keys
