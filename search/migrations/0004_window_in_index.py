"""Search rows carry their conversation's start; on PostgreSQL one GIN index holds (account, start, vector).

The ranked statement (search.engines) then applies the account, the window and the words in one
bitmap index scan, and the exact total is counted without reading the vectors (an "any word" query
needs no recheck) — before, the planner read every vector of the account to evaluate ``@@``.

* The column is added nullable, filled from the conversations, then made NOT NULL on PostgreSQL
  only: on SQLite that change would rebuild the table and drop the full-text index's triggers
  (0002_engines), and SQLite's engine (FTS5) does not read the column.
* ``btree_gin`` (a trusted extension, so the database owner may create it) lets GIN index the
  bigint and the timestamp beside the tsvector. The vector-only GIN index it replaces is dropped.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from analytics_api.kernel.partitions import AlterFieldOnPostgreSQL
from analytics_api.kernel.schema_operations import RunSQLOnPostgreSQL

FILL = (
    "UPDATE search_searchmessage SET started_at = (SELECT c.started_at FROM content_conversation c "
    "WHERE c.id = search_searchmessage.conversation_id) WHERE started_at IS NULL"
)
# Rows of conversations that no longer exist (the cascade is Django's, no database constraint):
# never found anyway (the statement joins the conversations), and they would block NOT NULL.
ORPHANS = "DELETE FROM search_searchmessage WHERE started_at IS NULL"
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX search_message_window ON search_searchmessage USING gin (account_id, started_at, vector)",
    "DROP INDEX IF EXISTS search_message_vector",
]
POSTGRESQL_BACK = [
    "CREATE INDEX search_message_vector ON search_searchmessage USING gin (vector)",
    "DROP INDEX IF EXISTS search_message_window",
]


def fill(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(FILL)
    schema_editor.execute(ORPHANS)


class Migration(migrations.Migration):
    dependencies = [("search", "0003_no_fk_constraint_to_partitioned")]

    operations = [
        migrations.AddField(
            model_name="searchmessage",
            name="started_at",
            field=models.DateTimeField(null=True, help_text="The conversation's start"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        AlterFieldOnPostgreSQL(
            model_name="searchmessage",
            name="started_at",
            field=models.DateTimeField(help_text="The conversation's start"),
        ),
        RunSQLOnPostgreSQL(POSTGRESQL, POSTGRESQL_BACK),
    ]
