"""The full-text structures of each engine (search/models.py): FTS5 on SQLite, GIN on PostgreSQL.

A later migration that alters ``search_searchmessage`` on SQLite makes Django rebuild the table,
which drops these triggers: such a migration must create them again (and ``manage.py
search_reindex`` refills the index).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SQLITE = [
    # External content: the terms are stored once, in search_searchmessage; the triggers keep the
    # FTS5 index in step with every insert, update and delete (cascades from a deleted conversation too).
    """CREATE VIRTUAL TABLE search_message_fts USING fts5(
        terms, content='search_searchmessage', content_rowid='id', tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER search_message_fts_insert AFTER INSERT ON search_searchmessage BEGIN
        INSERT INTO search_message_fts(rowid, terms) VALUES (new.id, new.terms); END""",
    """CREATE TRIGGER search_message_fts_delete AFTER DELETE ON search_searchmessage BEGIN
        INSERT INTO search_message_fts(search_message_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END""",
    """CREATE TRIGGER search_message_fts_update AFTER UPDATE ON search_searchmessage BEGIN
        INSERT INTO search_message_fts(search_message_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
        INSERT INTO search_message_fts(rowid, terms) VALUES (new.id, new.terms); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_message_fts_update",
    "DROP TRIGGER IF EXISTS search_message_fts_delete",
    "DROP TRIGGER IF EXISTS search_message_fts_insert",
    "DROP TABLE IF EXISTS search_message_fts",
]
POSTGRESQL = [
    "CREATE INDEX search_message_vector ON search_searchmessage USING gin (vector)",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS search_message_vector"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
        ),
    ]
