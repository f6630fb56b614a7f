"""Batch ingestion (docs/contract.md#ingestion-batches): the steps every kind of record goes through.

An ingestion service (``interactions_ingest``, ``contacts_ingest``) is a plain path that the
endpoints, the JSON-lines import commands and ``seed_demo`` all call, so they accept and reject
exactly the same records:

1. :func:`batch_validate`: each record on its own, with the check of its shape (built once per
   batch from :mod:`analytics_api.kernel.validation`) and :func:`~analytics_api.kernel.text.record_storage_errors`.
2. :func:`batch_upsert`: the valid records in one transaction, with the kind's bulk upsert.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import psycopg
from django.db import DataError, OperationalError, connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from analytics_api.kernel.errors import data_error_item, error_item, flatten_validation_errors, is_write_conflict
from analytics_api.kernel.partitions import MONTHLY, Monthly, keyed
from analytics_api.kernel.request_fields import CheckField, InputSerializer
from analytics_api.kernel.text import record_storage_errors
from analytics_api.kernel.validation import Check, Invalid, invalid

MAX_BATCH = 1000
# Times a batch's transaction is run again after losing a race (deadlock, serialization failure).
CONFLICT_RETRIES = 2

T = TypeVar("T")


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "rejected": self.rejected}


@dataclass
class Batch(Generic[T]):
    """A batch after validation: its valid records as ``(index, record)`` in key order, and the rejected."""

    valid: list[tuple[int, T]]
    rejected: list[dict[str, Any]]


def batch_validate(records: list[Any], *, check: Check, key: Callable[[T], Hashable]) -> Batch[T]:
    """Validate each record on its own; the valid ones deduplicated and ordered by ``key``.

    1. A record must be an object. What no database can store anywhere in it (text, nesting,
       integers: :func:`~analytics_api.kernel.text.record_storage_errors`) is looked for first, since a
       record nested too deep is not validated (the checks recurse into it); then ``check``. The
       errors of each invalid record are kept under its index.
    2. Duplicates inside the batch collapse on ``key``, keeping the last: the batch then behaves
       exactly as if its records had been sent one after another.
    3. The valid records are ordered by key: every batch then takes its row locks in the same
       order, so two batches sharing keys wait for each other instead of deadlocking
       (``INSERT … ON CONFLICT`` locks rows in the order of its input).
    """
    rejected: list[dict[str, Any]] = []
    valid: dict[Hashable, tuple[int, T]] = {}
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            rejected.append({"index": index, "errors": [error_item("A record must be a JSON object.", "invalid_type")]})
            continue
        # Keys and values the checks leave alone (nested ones) are stored as sent: one that no
        # database can hold would fail the whole batch's upsert, so its record is refused here.
        unstorable = record_storage_errors(raw)
        errors: list[dict[str, str]] = []
        if not any(item["code"] == "too_deep" for item in unstorable):
            try:
                record = check(raw)
            except Invalid as error:
                errors = flatten_validation_errors(error.detail)
        named = {item.get("field") for item in errors}
        errors += [item for item in unstorable if item.get("field") not in named]
        if errors:
            rejected.append({"index": index, "errors": errors})
            continue
        valid[key(record)] = (index, record)
    return Batch(valid=[valid[name] for name in sorted(valid)], rejected=rejected)  # type: ignore[type-var]


def batch_upsert(batch: Batch[T], *, upsert: Callable[[list[T]], tuple[int, int]]) -> IngestResult:
    """Store the valid records of ``batch`` with ``upsert`` (returns created, updated) in one transaction.

    1. All of them are stored, or (on a database error) none, so a batch is never half-written.
       A transaction that loses a race (deadlock, serialization failure) is run again, up to
       ``CONFLICT_RETRIES`` times, before the error goes up.
    2. A value the database refuses (:class:`~django.db.DataError`, which validation should have
       caught) rejects only its record: the batch is stored again in halves, each in a savepoint,
       down to the records that fail alone.
    """
    result = IngestResult(rejected=list(batch.rejected))
    if not batch.valid:
        return result
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            with transaction.atomic():
                result.created, result.updated = upsert([record for _index, record in batch.valid])
        except OperationalError as error:
            if attempt == CONFLICT_RETRIES or not is_write_conflict(error):
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # let the other transaction finish
        except DataError:
            with transaction.atomic():
                created, updated, refused = _upsert_isolating(upsert, batch.valid)
            result.created, result.updated = created, updated
            result.rejected = sorted([*result.rejected, *refused], key=lambda item: item["index"])
            break
        else:
            break
    return result


def _upsert_isolating(
    upsert: Callable[[list[T]], tuple[int, int]], items: list[tuple[int, T]]
) -> tuple[int, int, list[dict[str, Any]]]:
    """Upsert ``items`` (index, record) in savepoints, halving on a DataError; a failing record alone is refused."""
    try:
        with transaction.atomic():
            created, updated = upsert([record for _index, record in items])
            return created, updated, []
    except DataError as error:
        if len(items) == 1:
            return 0, 0, [{"index": items[0][0], "errors": [data_error_item(error)]}]
    middle = len(items) // 2
    first = _upsert_isolating(upsert, items[:middle])
    second = _upsert_isolating(upsert, items[middle:])
    return first[0] + second[0], first[1] + second[1], first[2] + second[2]


@dataclass(frozen=True)
class Stored:
    """A row :func:`rows_upsert` wrote: its primary key, whether it was new, and for an updated row of a
    table partitioned by month, the start (partitioning column) it had before (read under the row's lock)."""

    pk: int
    created: bool
    previous_start: datetime | None = None


def rows_upsert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    scope: str,
    key: str,
    update: Collection[str] | None = None,
) -> dict[Any, Stored]:
    """Insert or update ``rows`` of ``model`` on its unique pair (``scope``, ``key``); returns them by key.

    ``rows`` map attnames to values: the same columns in each, one ``scope`` value (an account or a
    stream) for all, distinct keys. ``auto_now``/``auto_now_add`` columns are set here from
    ``timezone.now()``. ``update`` names the columns an existing row takes from its row (default:
    all); the others keep their stored values (an empty ``update`` only locks the existing rows
    for the rest of the transaction, and sets their ``auto_now`` times). On PostgreSQL it is one
    statement however many rows there are:

    1. The rows' small values travel as one JSON parameter that ``jsonb_to_recordset`` unpacks, their
       texts, documents and search vectors beside it as text arrays (see :func:`_rows_source`).
       (Django's bulk insert sends an array per column instead, which psycopg quotes value by value
       in Python: several times slower for documents of KBs.)
    2. ``INSERT … ON CONFLICT DO UPDATE … RETURNING pk, key, xmax = 0``: a row PostgreSQL inserted
       has no ``xmax``, an updated one carries the row lock ON CONFLICT took. So the counts need no
       query for the existing keys, and stay right when two batches race on the same new key.

    Elsewhere (SQLite): one query for the existing keys, then Django's ``bulk_create``.
    """
    inserted_times, written_times = _auto_times(model)
    columns = list(rows[0])
    updated = [
        name for name in [*columns, *written_times]
        if name not in (scope, key) and (update is None or name in update or name in written_times)
    ]
    if connection.vendor != "postgresql":
        return _rows_upsert_orm(model, rows, scope=scope, key=key, updated=updated)
    spec = keyed(model._meta.db_table)
    if spec is not None:
        return _rows_upsert_keyed(model, rows, spec=spec, updated=updated)
    opts = model._meta
    quote = connection.ops.quote_name
    column = {name: quote(opts.get_field(name).column) for name in [*columns, *written_times]}
    insert, params = _insert_select(model, columns, inserted_times)
    sql = (
        f"{insert} ON CONFLICT ({column[scope]}, {column[key]}) "
        f"DO UPDATE SET {', '.join(f'{column[name]} = EXCLUDED.{column[name]}' for name in updated)} "
        f"RETURNING {quote(opts.pk.column)}, {column[key]}, xmax = 0"
    )
    with _bound_cursor() as cursor:
        cursor.execute(sql, params(rows))
        return {row_key: Stored(pk=pk, created=created) for pk, row_key, created in cursor.fetchall()}


def _rows_upsert_keyed(
    model: type[models.Model], rows: list[dict[str, Any]], *, spec: Monthly, updated: list[str]
) -> dict[Any, Stored]:
    """:func:`rows_upsert` for a table partitioned by month, whose pair is unique in its key table.

    1. Claim the keys in the key table in one statement: ``INSERT … ON CONFLICT DO UPDATE`` with
       a no-op update, so a new key gets the row id drawn from the table's sequence and an existing
       one is locked for the rest of the transaction and returns its row id and its stored start
       (``xmax = 0`` tells which). Two batches racing on a new key queue on it as before.
    2. Insert the new rows with their claimed ids (the key table's trigger finds its own claim).
    3. Update the existing rows found by (id, stored start), so PostgreSQL reads one partition; a
       start that changed month moves the row to its new partition, and the triggers move its key.
    """
    opts = model._meta
    quote = connection.ops.quote_name
    pk = opts.pk.attname
    _inserted, written_times = _auto_times(model)
    claim = (
        f"INSERT INTO {quote(spec.key_table)} ({quote(spec.scope)}, {quote(spec.key)}, row_id, start) "
        f"SELECT r.scope, r.key, nextval(pg_get_serial_sequence(%s, %s)), r.start "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r(scope bigint, key text, start timestamptz) ORDER BY r.key "
        f"ON CONFLICT ({quote(spec.scope)}, {quote(spec.key)}) DO UPDATE SET row_id = {quote(spec.key_table)}.row_id "
        f"RETURNING {quote(spec.key)}, row_id, start, xmax = 0"
    )
    keys = [{"scope": row[spec.scope], "key": row[spec.key], "start": row[spec.column]} for row in rows]
    with _bound_cursor() as cursor:
        cursor.execute(claim, [quote(opts.db_table), opts.pk.column, _json_text(keys)])
        claimed = {row_key: (row_id, start, created) for row_key, row_id, start, created in cursor.fetchall()}
    fresh, kept = [], []
    for row in rows:
        row_id, stored_start, created = claimed[row[spec.key]]
        if created:
            fresh.append({**row, pk: row_id})
        else:
            kept.append({**row, pk: row_id, "stored_start": stored_start})
    rows_insert(model, fresh)
    if kept:
        columns = [name for name in rows[0] if name in updated]
        source, _names, params = _rows_source(model, [*columns, pk], extra={"stored_start": "timestamptz"})
        assignments = [f"{quote(opts.get_field(name).column)} = r.{quote(name)}" for name in columns]
        assignments += [f"{quote(opts.get_field(name).column)} = %s" for name in written_times]
        sql = (
            f"UPDATE {quote(opts.db_table)} AS t SET {', '.join(assignments)} FROM {source} "
            f"WHERE t.{quote(opts.pk.column)} = r.{quote(pk)} AND t.{quote(spec.column)} = r.stored_start"
        )
        with _bound_cursor() as cursor:
            cursor.execute(sql, [*[timezone.now()] * len(written_times), *params(kept)])
    return {
        row_key: Stored(pk=row_id, created=created, previous_start=None if created else start)
        for row_key, (row_id, start, created) in claimed.items()
    }


def children_replace(
    model: type[models.Model], rows: list[dict[str, Any]], *, parent: str, stored: Mapping[Any, Stored]
) -> int:
    """Give upserted parents exactly the child ``rows``: the children of the updated parents are
    deleted first (a created parent has none), then ``rows`` inserted in one statement. ``parent``
    is the children's foreign-key attname; returns how many parents were updated."""
    updated = [row.pk for row in stored.values() if not row.created]
    if updated:
        model._default_manager.filter(**{f"{parent}__in": updated}).delete()
    rows_insert(model, rows)
    return len(updated)


def rows_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` of ``model`` (attnames to values, the same columns in each) in one statement."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows])
        return
    inserted_times, _written = _auto_times(model)
    insert, params = _insert_select(model, list(rows[0]), inserted_times)
    with _bound_cursor() as cursor:
        cursor.execute(insert, params(rows))


def _rows_upsert_orm(
    model: type[models.Model], rows: list[dict[str, Any]], *, scope: str, key: str, updated: list[str]
) -> dict[Any, Stored]:
    manager = model._default_manager
    name = {column.attname: column.name for column in model._meta.concrete_fields}
    keys = [row[key] for row in rows]
    found = manager.filter(**{scope: rows[0][scope], f"{key}__in": keys})
    # A table declared partitioned by month (partitioned on PostgreSQL only) reports its rows'
    # previous starts; for any other, which keys exist is all there is to know (no start: None).
    spec = MONTHLY.get(model._meta.db_table)
    existing: dict[Any, Any] = (
        dict(found.values_list(key, spec.column)) if spec is not None
        else dict.fromkeys(found.values_list(key, flat=True))
    )
    stored = manager.bulk_create(
        [model(**row) for row in rows],
        update_conflicts=True,
        unique_fields=[name[scope], name[key]],
        update_fields=[name[column] for column in updated],
    )
    return {
        getattr(row, key): Stored(
            pk=row.pk,
            created=getattr(row, key) not in existing,
            previous_start=existing.get(getattr(row, key)),
        )
        for row in stored
    }


def _auto_times(model: type[models.Model]) -> tuple[list[str], list[str]]:
    """Attnames of ``model``'s automatic times: those set on insert, and those set on every write."""
    fields = model._meta.concrete_fields
    written = [column.attname for column in fields if getattr(column, "auto_now", False)]
    return [column.attname for column in fields if getattr(column, "auto_now_add", False)] + written, written


def _insert_select(
    model: type[models.Model], columns: list[str], constants: list[str]
) -> tuple[str, Callable[[list[dict[str, Any]]], list[Any]]]:
    """``INSERT INTO <table> (…) SELECT … FROM ROWS FROM (…)`` for PostgreSQL, and a batch's parameters.

    ``columns`` are the rows' attnames (see :func:`_rows_source`); ``constants`` are attnames of
    one value for all rows (the times).
    """
    opts = model._meta
    quote = connection.ops.quote_name
    source, names, params = _rows_source(model, columns)
    targets = ", ".join(quote(opts.get_field(name).column) for name in [*names, *constants])
    values = ", ".join([*(f"r.{quote(name)}" for name in names), *["%s"] * len(constants)])
    sql = f"INSERT INTO {quote(opts.db_table)} ({targets}) SELECT {values} FROM {source}"
    return sql, lambda rows: [*[timezone.now()] * len(constants), *params(rows)]


# Column types whose values travel beside the rows' JSON, as a binary text array (see _rows_source).
_WIDE_TYPES = ("text", "jsonb", "tsvector")


def _rows_source(
    model: type[models.Model], columns: list[str], *, extra: Mapping[str, str] | None = None
) -> tuple[str, list[str], Callable[[list[dict[str, Any]]], list[Any]]]:
    """A source ``r`` unpacking a batch of rows of ``model`` on PostgreSQL (``ROWS FROM (…)``, inside a
    subquery when values are cast), the order of its columns, and the batch's parameters.

    ``columns`` are the rows' attnames, ``extra`` more keys of the rows and their SQL types. The
    small values travel as one JSON value, their keys the attnames. The wide ones — ``text``
    (pre-rendered documents of KBs), ``jsonb`` (documents) and ``tsvector`` columns — travel beside
    it as binary text arrays zipped by position, each value cast to its column's type: inside the
    rows' JSON each quote of a text would be escaped here and unescaped by the server, and each
    document would be parsed twice (once inside the whole batch's JSON, once more as it is cut out
    of it). A batch of 1,000 transcripts: 75 → 48 ms of the server's time.
    """
    opts = model._meta
    quote = connection.ops.quote_name
    kinds = {name: opts.get_field(name).db_type(connection).split("(")[0] for name in columns}
    wide = [name for name in columns if kinds[name] in _WIDE_TYPES]
    documents = {name for name in wide if kinds[name] == "jsonb"}
    # Each value is converted to its column's type; modifiers (varchar's length) are left to the
    # statement, which checks them as for any insert.
    types = {name: kind for name, kind in kinds.items() if name not in wide}
    types.update(extra or {})
    shape = ", ".join(f"{quote(name)} {kind}" for name, kind in types.items())
    sources = ", ".join([f"jsonb_to_recordset(%s::jsonb) AS ({shape})", *["unnest(%b::text[])"] * len(wide)])
    names = [*types, *wide]
    source = f"ROWS FROM ({sources}) AS r({', '.join(quote(name) for name in names)})"
    if casts := [name for name in wide if kinds[name] != "text"]:
        # Cast row by row: casting the whole array first (text[]::jsonb[]) builds it in memory, as slow
        # as the JSON path.
        values = ", ".join(
            f"r.{quote(name)}::{kinds[name]} AS {quote(name)}" if name in casts else f"r.{quote(name)}"
            for name in names
        )
        source = f"(SELECT {values} FROM {source}) AS r"
    plain_names = list(types)

    def params(rows: list[dict[str, Any]]) -> list[Any]:
        plain = [{name: row[name] for name in plain_names} for row in rows] if wide or extra else rows
        return [
            _json_text(plain),
            *([_json_text(row[name]) for row in rows] if name in documents else [row[name] for row in rows]
              for name in wide),
        ]

    return source, [name for name in names if name not in (extra or {})], params


@contextmanager
def _bound_cursor() -> Iterator[CursorWrapper]:
    """A PostgreSQL cursor that sends parameters apart from the SQL text (server-side binding).

    Django's psycopg cursors bind client-side: the rows' JSON (megabytes per batch) would be
    escaped into the statement and lexed by the server's SQL parser, which takes longer than the
    insert itself. Wrapped like Django's own cursors, so its statements are logged and counted.
    """
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text (None, SQL's NULL, stays None)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits or non-string keys in a document: the standard module takes those.
        return json.dumps(value, default=datetime.isoformat)


def _records(data: Any) -> list[Any]:
    """The batch's list of raw records (each is validated later, on its own): its size only."""
    if not isinstance(data, list):
        raise invalid(f"records must be a list of 1 to {MAX_BATCH} records (JSON objects).")
    if not data:
        raise invalid("Send at least one record.", "empty")
    if len(data) > MAX_BATCH:
        raise invalid(f"A batch holds at most {MAX_BATCH} records: split it into several requests.", "too_many")
    return data


class BatchSerializer(InputSerializer):
    """``{"records": [...]}`` with 1 to ``MAX_BATCH`` records; each is validated later, on its own."""

    records = CheckField(
        check=lambda name: _records,
        schema={"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": MAX_BATCH},
        # DRF formats this message: its braces are doubled.
        error_messages={
            "required": f'records is required: send {{{{"records": [...]}}}} with 1 to {MAX_BATCH} records.'
        },
    )
