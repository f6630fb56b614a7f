"""Querysets compiled once per process and run again with new values: the hot reads' SQL.

Building a queryset (``filter`` resolving lookups and joins) and compiling it to SQL costs more
CPU than a small indexed read takes in the database: on the conversation detail, three such reads
spent about 2.5 ms of Python per request against 0.4 ms of PostgreSQL (BENCHMARKS.md). A read
whose *shape* never changes — the same filters, only other values — can keep its SQL:

    _BY_SESSION = CompiledQuery(
        lambda account_id, session_id: Conversation.objects.filter(account_id=account_id, session_id=session_id)[:1]
    )
    conversation = _BY_SESSION.instances(account_id=account.pk, session_id="s-1")

How it works:

1. The first call for a shape (the values' names, and the length of each list value) calls the
   builder with a *slot* in place of each value. A slot is an expression that compiles to a ``%s``
   placeholder whose parameter is the slot itself (a list value's slot, for ``__in``, to
   ``(%s, …)`` with one marker per item), so the compiled SQL keeps, in its parameter list, a
   marker where each value goes; constants written in the builder stay as compiled.
2. The SQL, its parameter list and the converters of its selected columns are kept per database
   vendor and shape (a replica compiles to the same SQL as its primary).
3. Each call binds its values in place of the markers, adapted as Django adapts a model field's
   value of that type (a datetime becomes text on SQLite), runs the SQL on the database the router
   picks for the model's reads (a replica inside a read view) — on PostgreSQL as a statement
   prepared on the connection when its shape is kept, so it is parsed (and usually planned) once
   per connection, not per request — and converts each column as the ORM would (JSON parsed,
   SQLite's datetimes made aware). A call with ``prepare=False`` is bound and planned afresh like
   any ORM query: for a statement whose best plan depends on its values (which custom values, how
   many rows they select), where the generic plan PostgreSQL settles on after five executions of a
   prepared statement can be orders of magnitude slower for some values (rawdata's one-key
   ``custom_fields`` page: 18 → 805 ms in the benchmark; an interactionDetails page 10: 2.4 →
   22.8 ms).

The builder must be a pure function of its arguments (no clock, no settings read at call time):
its result is compiled once for the life of the process. The number of kept shapes is bounded
(``MAX_SHAPES`` per query, the least recently used dropped first): a shape with a list longer than
``MAX_KEPT_LIST`` (a change feed page's ten thousand session ids) is compiled for its call and not
kept, and a reader walking deep pages one after the other compiles each page's offset once, as the
ORM would, while the first pages' shapes stay.
Tested against the ORM's own answer for the same values on SQLite and PostgreSQL
(tests/analytics_api/test_compiled.py).
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import Expression

M = TypeVar("M", bound=Model)

MAX_SHAPES = 64
MAX_KEPT_LIST = 128


# Every slot's output field: one instance, never attached to a model. Making a Field per slot cost
# ~20 µs (its choices normalised), so 20 ms for a one-off shape with a list of a thousand ids.
_SLOT_FIELD = Field()


class _Slot(Expression):
    """Where one value goes: compiles to a placeholder whose parameter is the slot itself."""

    def __init__(self, name: str) -> None:
        super().__init__(output_field=_SLOT_FIELD)
        self.name = name

    def __repr__(self) -> str:
        return f"<slot {self.name}>"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self]


class _ListSlot(Expression):
    """Where a list value goes (the right side of ``__in``): ``(%s, …)``, one slot per item.

    An expression rather than a list of slots: Django prepares each item of a list with the
    field's ``get_prep_value`` (``int()`` for a key), which a slot cannot pass.
    """

    def __init__(self, name: str, length: int) -> None:
        super().__init__(output_field=_SLOT_FIELD)
        self.name = name
        self.length = length

    def __len__(self) -> int:
        # A builder may ask how many items it was given (one queue or several), never which.
        return self.length

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "(" + ", ".join(["%s"] * self.length) + ")", [_Slot(f"{self.name}.{n}") for n in range(self.length)]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]  # constants, and slots where the call's values go
    columns: tuple[str, ...]  # the model's selected columns' attribute names (model reads), first in each row
    annotations: tuple[tuple[str, int], ...]  # each annotation's name and position in a row (model reads)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    # Kept shapes run as prepared statements; a one-off (a list past MAX_KEPT_LIST) is not prepared.
    prepare: bool = True


def _adapt(value: Any, ops: Any) -> Any:
    """A bound value as the backend takes it, as a model field of its type would send it."""
    if isinstance(value, datetime.datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return ops.adapt_datefield_value(value)
    return value


class CompiledQuery(Generic[M]):
    """A queryset of one shape, compiled once per process and database vendor (see the module).

    ``rows`` and ``instances`` take the values to bind as keyword arguments, and in ``fixed`` the
    builder's arguments that change the SQL itself (a page's offset and limit, which Django writes
    into the SQL; a choice of columns): those are passed to the builder as they are and make a
    shape of their own.
    """

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._compiled: OrderedDict[tuple[Any, ...], _Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self._model: type[Model] | None = None

    def rows(
        self, *, fixed: Mapping[str, Hashable] | None = None, prepare: bool = True, **values: Any
    ) -> list[tuple[Any, ...]]:
        """The rows of the query with ``values`` bound: tuples of the selected columns, converted;
        ``prepare=False``: not as a prepared statement (see the module)."""
        alias = self._alias(values, fixed or {})
        compiled = self._compiled_for(alias, values, fixed or {})
        return self._run(alias, compiled if prepare else replace(compiled, prepare=False), values)

    def instances(self, *, fixed: Mapping[str, Hashable] | None = None, **values: Any) -> list[M]:
        """The model instances of a queryset of whole rows (no ``values``), with ``values`` bound;
        each annotation is set on its instance as the ORM sets it (an attribute of its name)."""
        alias = self._alias(values, fixed or {})
        compiled = self._compiled_for(alias, values, fixed or {})
        model = self._model
        assert model is not None
        width = len(compiled.columns)
        found = []
        for row in self._run(alias, compiled, values):
            instance = model.from_db(alias, compiled.columns, row[:width])
            for name, position in compiled.annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    def _alias(self, values: dict[str, Any], fixed: Mapping[str, Hashable]) -> str:
        for name, value in values.items():
            if isinstance(value, (list, tuple)) and not value:
                # "IN ()" is not SQL; the ORM answers an empty list without a query, a shape cannot.
                raise ValueError(f"{name} is an empty list: answer without reading")
        if self._model is None:
            self._compiled_for("default", values, fixed)  # learns the model from the first build
        return router.db_for_read(self._model)

    def _compiled_for(self, alias: str, values: dict[str, Any], fixed: Mapping[str, Hashable]) -> _Compiled:
        """The shape's compiled query; the least recently used shape goes past ``MAX_SHAPES``."""
        shape = (
            connections[alias].vendor,
            *sorted((name, len(value) if isinstance(value, (list, tuple)) else None) for name, value in values.items()),
            *sorted(fixed.items()),
        )
        compiled = self._compiled.get(shape)
        if compiled is not None:
            with self._lock:
                if shape in self._compiled:
                    self._compiled.move_to_end(shape)
            return compiled
        if any(isinstance(value, (list, tuple)) and len(value) > MAX_KEPT_LIST for value in values.values()):
            return replace(self._compile(alias, values, fixed), prepare=False)
        compiled = self._compile(alias, values, fixed)
        with self._lock:
            self._compiled[shape] = compiled
            while len(self._compiled) > MAX_SHAPES:
                self._compiled.popitem(last=False)
        return compiled

    def _compile(self, alias: str, values: dict[str, Any], fixed: Mapping[str, Hashable]) -> _Compiled:
        slots = {
            name: _ListSlot(name, len(value)) if isinstance(value, (list, tuple)) else _Slot(name)
            for name, value in values.items()
        }
        queryset = self._build(**slots, **fixed)
        self._model = queryset.model
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        selected = [column for column, _, _ in compiler.select[: compiler.col_count]]
        # A model read selects the model's columns first (no extra select here), then its annotations.
        klass_info = compiler.klass_info if not queryset.query.values_select else None
        model_width = len(klass_info["select_fields"]) if klass_info else 0
        assert not klass_info or klass_info["select_fields"][0] == 0, "a model read starts with the model's columns"
        columns = tuple(expression.target.attname for expression in selected[:model_width])
        annotations = tuple((compiler.annotation_col_map or {}).items()) if klass_info else ()
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(selected).items()
        )
        return _Compiled(
            sql=sql, params=tuple(params), columns=columns, annotations=annotations, converters=converters
        )

    def _run(self, alias: str, compiled: _Compiled, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        connection = connections[alias]
        ops = connection.ops
        params = [_bound(param, values, ops) if isinstance(param, _Slot) else param for param in compiled.params]
        # On PostgreSQL, a statement prepared on the connection (analytics_api/postgresql/base.py);
        # SQLite's module keeps its own cache of prepared statements.
        prepared_cursor = getattr(connection, "prepared_cursor", None) if compiled.prepare else None
        with (prepared_cursor() if prepared_cursor is not None else connection.cursor()) as cursor:
            cursor.execute(compiled.sql, params)
            rows: Sequence[Any] = cursor.fetchall()
        if not compiled.converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values_out = list(row)
            for position, functions, expression in compiled.converters:
                value = values_out[position]
                for function in functions:
                    value = function(value, expression, connection)
                values_out[position] = value
            converted.append(tuple(values_out))
        return converted


def _bound(slot: _Slot, values: dict[str, Any], ops: Any) -> Any:
    name, _, index = slot.name.partition(".")
    value = values[name]
    return _adapt(value[int(index)] if index else value, ops)
