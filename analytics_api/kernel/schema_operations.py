"""Migration operations for schema changes the ORM's own operations make too costly or cannot express:
SQL that runs on PostgreSQL only, and a foreign key's own index dropped alone.

Migrations import them from here (and from analytics_api.kernel.partitions, for the monthly
partitions' conversion): each is schema, done once, not live app code (tests/analytics_api/test_prerender.py).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Index


class ForeignKeyIndexDrop(migrations.AlterField):
    """``AlterField`` of a foreign key to ``db_index=False`` that drops the key's own index and
    nothing else: for a key whose lookups an index starting with its column already serves (a
    unique pair led by it), so that every write paid for a second copy of that column.

    Django's own ``AlterField`` drops the foreign key's constraint and adds it back around the
    index, and adding it back checks every row of the table under a lock that holds off writes;
    on SQLite it rebuilds the whole table. Here the database only loses (or, backwards, regains)
    the one index, found by introspection on either engine.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        for name in _own_indexes(schema_editor, model, model._meta.get_field(self.name).column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        if not _own_indexes(schema_editor, model, field.column):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


def _own_indexes(schema_editor: BaseDatabaseSchemaEditor, model: Any, column: str) -> list[str]:
    """The btree indexes of ``column`` alone that no ``Meta.indexes`` entry declares: the one
    ``db_index=True`` made (found as Django's own ``AlterField`` finds it)."""
    return schema_editor._constraint_names(
        model, [column], index=True, type_=Index.suffix, exclude={index.name for index in model._meta.indexes}
    )


class RunSQLOnPostgreSQL(migrations.RunPython):
    """SQL statements run in order on PostgreSQL only, with the statements that undo them (for
    indexes SQLite has no form of, or does not need: GIN, covering, expression indexes)."""

    def __init__(self, statements: list[str], reverse_statements: list[str]) -> None:
        super().__init__(self._runner(statements), self._runner(reverse_statements))

    @staticmethod
    def _runner(statements: list[str]) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            for statement in statements:
                schema_editor.execute(statement)

        return run
