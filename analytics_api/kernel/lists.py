"""A list of related values read inside another query: one statement instead of one per relation.

``ListOf(queryset, field)`` is a correlated subquery that returns ``field`` of every row of
``queryset``, in the queryset's order, as one list (``[]`` when there is none). A read of one
conversation with its agent links is then one round trip, not two:

    Conversation.objects.annotate(agent_ids=ListOf(
        ConversationAgent.objects.filter(conversation_id=OuterRef("pk")).order_by("position"), "agent_id"
    ))

PostgreSQL builds the list with ``ARRAY(subquery)``, which keeps the subquery's order; SQLite with
``json_group_array`` over the ordered subquery (SQLite does not flatten an ordered subquery into an
aggregate, so the rows arrive in order). Tested on both engines (tests/analytics_api/test_lists.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.db.models import F, Field, QuerySet, Subquery


class _ListResult(Field):
    """What a :class:`ListOf` reads back: psycopg's list of an array, SQLite's JSON text parsed."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, (str, bytes)):
            return orjson.loads(value)
        return list(value)


class ListOf(Subquery):
    """``field`` of each row of ``queryset``, in its order, as a list (see the module)."""

    template = "ARRAY(%(subquery)s)"

    def __init__(self, queryset: QuerySet[Any], field: str) -> None:
        super().__init__(queryset.values(item=F(field)), output_field=_ListResult())

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self.as_sql(
            compiler, connection, template='(SELECT json_group_array("item") FROM (%(subquery)s))', **extra
        )
