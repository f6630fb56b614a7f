"""The benchmark loader's deferred indexes come back whole, on partitioned tables too (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from content.models import Conversation, ConversationAgent
from tools.bench.dataset import indexes_create, indexes_drop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioned tables are PostgreSQL's"),
]


def _url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _indexes(tables: list[str]) -> list[tuple[str, str, bool]]:
    """Each index of the tables and their partitions: its table, its definition without its name
    (a partition's index is named afresh when built again), whether it is valid."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+', ''), "
            "i.indisvalid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname LIKE ANY(%s) ORDER BY 1, 2",
            [[f"{table}%" for table in tables]],
        )
        return cursor.fetchall()


def test_indexes_dropped_for_a_load_are_built_again_valid_on_the_parents_and_every_partition() -> None:
    tables = [Conversation._meta.db_table, ConversationAgent._meta.db_table]
    before = _indexes(tables)
    assert before and all(valid for _table, _definition, valid in before)

    definitions = indexes_drop(_url(), tables=tables)
    assert any(" ON ONLY " in definition for definition in definitions)  # partitioned: the case that failed
    assert len(_indexes(tables)) < len(before)
    indexes_create(_url(), definitions)

    assert _indexes(tables) == before
