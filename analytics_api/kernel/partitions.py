"""Monthly range partitions of the large tables on PostgreSQL (docs/scale-out.md#monthly-partitions).

Native declarative partitioning (``PARTITION BY RANGE`` on each table's time column) with our own
scheduled job instead of pg_partman: one extension fewer to install and upgrade (managed PostgreSQL
services restrict extensions), and the job is a few statements run by the django-q2 scheduler we
already operate. SQLite stays unpartitioned: every function here does nothing there.

Each partitioned table has:

- ``<table>_before``: the table as it was before the conversion, attached as the partition of every
  start before the month the conversion ran in (or after its latest row), so converting an
  existing database moves no row;
- ``<table>_pYYYYMM``: one partition a month, created three months ahead by
  :func:`partitions_maintain` (daily);
- ``<table>_default``: rows of months that have no partition yet (a start far in the future); the
  job moves them into their month's partition when it creates it.

A unique key of a partitioned table must contain the partition key, so a table upserted on a pair
(``(account, session id)`` for interactions) keeps that pair unique in a small unpartitioned key
table ``<table>_key`` (scope, key → row id, start), maintained by triggers on every insert, update
and delete whatever the writer, and claimed first by the batch upsert (analytics_api.kernel.ingestion).
A record whose start moves to another month is then updated in place (PostgreSQL moves the row to
its new partition), never inserted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, migrations, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.exceptions import IrreversibleError
from django.utils import timezone

# Months created ahead of the current one by the daily job (and by the conversion).
MONTHS_AHEAD = 3


@dataclass(frozen=True)
class Monthly:
    """A table partitioned by month on ``column``; ``scope`` and ``key`` name the columns of its
    upsert key, unique across partitions through the key table (None: no such key)."""

    table: str
    column: str
    scope: str | None = None
    key: str | None = None

    @property
    def key_table(self) -> str:
        return f"{self.table}_key"


# Every partitioned table, by name; filled by the apps' models (``monthly``), read by the job and
# the upsert.
MONTHLY: dict[str, Monthly] = {}


def monthly(table: str, *, column: str, scope: str | None = None, key: str | None = None) -> Monthly:
    """Declare ``table`` partitioned by month on PostgreSQL (called beside the model)."""
    spec = Monthly(table=table, column=column, scope=scope, key=key)
    MONTHLY[table] = spec
    return spec


def keyed(table: str) -> Monthly | None:
    """The partitioned table's spec when this database partitions it and it has an upsert key."""
    spec = MONTHLY.get(table)
    if spec is None or spec.key is None or connection.vendor != "postgresql":
        return None
    return spec


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of ``moment``'s month, moved by ``months``."""
    moment = moment.astimezone(UTC)
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


_PARTITION = re.compile(r"(?P<table>.+)_(?:before|default|p(?P<month>\d{6}))")


def partition_parent(relation: str) -> str | None:
    """The partitioned table ``relation`` is a partition of (by the names above), or None."""
    match = _PARTITION.fullmatch(relation)
    return match["table"] if match and match["table"] in MONTHLY else None


def _partition_month(name: str) -> datetime | None:
    """The first instant of a monthly partition's month, from its name (None: not a monthly one)."""
    match = _PARTITION.fullmatch(name)
    if match is None or match["month"] is None:
        return None
    return datetime.strptime(match["month"], "%Y%m").replace(tzinfo=UTC)


# -- the conversion ------------------------------------------------------------------------------


class AlterFieldOnPostgreSQL(migrations.AlterField):
    """``AlterField`` whose database change runs on PostgreSQL only (the state changes everywhere).

    For a foreign key into a partitioned table losing its database constraint: SQLite is not
    partitioned and would rebuild the whole table for it, dropping the triggers some tables carry
    there (the search's full-text index).
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PartitionByMonth(migrations.RunPython):
    """Migration operation converting ``spec``'s existing table in place (PostgreSQL only).

    Irreversible on PostgreSQL (a no-op backwards elsewhere): merging partitions back is a restore.
    """

    def __init__(self, spec: Monthly) -> None:
        self.spec = spec
        super().__init__(self._forwards, self._backwards, elidable=False)

    def _forwards(self, apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                partition_in_place(cursor, self.spec)

    def _backwards(self, apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            raise IrreversibleError(
                f"{self.spec.table} is partitioned by month: merging its partitions back is a restore, not a migration."
            )

    def describe(self) -> str:
        return f"Partition {self.spec.table} by month on {self.spec.column}"


def partition_in_place(cursor: Any, spec: Monthly) -> None:
    """Turn ``spec.table`` into a table partitioned by month, keeping every row where it is.

    1. Lock the table; the old table's bound is the first month after its latest row (at least
       the current month), so its rows satisfy the partition bound it gets.
    2. Read its indexes, unique and primary-key constraints, foreign keys and identity columns;
       drop the primary key and the unique constraints (they cannot hold across partitions as they
       are).
    3. Rename it to ``<table>_before`` and its indexes to ``<name>_b``; create the partitioned
       parent with the same columns, defaults, identity, checks, storage and compression; attach
       the old table below its bound (the matching CHECK added first, so the attach reads nothing
       more); its identity moves to the parent, which continues the sequence.
    4. The parent's primary key is (pk, time column); every unique constraint becomes unique with
       the time column appended, except the upsert key, which the key table enforces (a plain
       index on the pair stays for lookups); every index is created again on the parent under its
       own name (PostgreSQL attaches the old table's matching index instead of building one);
       foreign keys are added to the parent (the old table's identical ones are attached, not
       validated again).
    5. The key table, filled from the rows, and its triggers; the default partition and the
       months from the current one to ``MONTHS_AHEAD`` ahead.
    """
    table, column = spec.table, spec.column
    before = f"{table}_before"
    cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
    cursor.execute(f'SELECT max("{column}") FROM "{table}"')
    latest = cursor.fetchone()[0]
    now = timezone.now()
    bound = max(month_start(now), month_start(latest, 1) if latest else month_start(now))

    cursor.execute(
        """SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisunique, x.indisprimary,
                  c.conname, array(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a
                                   ON a.attrelid = x.indrelid AND a.attnum = k)
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
            WHERE x.indrelid = %s::regclass ORDER BY i.relname""",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    foreign = cursor.fetchall()
    cursor.execute(
        """SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attidentity <> ''""",
        [table],
    )
    identity = [row[0] for row in cursor.fetchall()]

    primary: list[str] = []
    for _name, _definition, _unique, is_primary, constraint, columns in indexes:
        if is_primary:
            primary = list(columns)
        if constraint:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
    for name, _definition, _unique, _primary, constraint, _columns in indexes:
        if not constraint:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{_short(name, "_b")}"')

    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{before}"')
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{before}" INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE ("{column}")'
    )
    for name in identity:
        cursor.execute(f'SELECT coalesce(max("{name}"), 0) + 1 FROM "{before}"')
        cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{name}" RESTART WITH {cursor.fetchone()[0]}')
        cursor.execute(f'ALTER TABLE "{before}" ALTER COLUMN "{name}" DROP IDENTITY')
    cursor.execute(
        f'ALTER TABLE "{before}" ADD CONSTRAINT "{_short(before, "_bound")}" '
        f'CHECK ("{column}" IS NOT NULL AND "{column}" < %s)',
        [bound],
    )
    cursor.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{before}" FOR VALUES FROM (MINVALUE) TO (%s)', [bound])
    cursor.execute(f'ALTER TABLE "{before}" DROP CONSTRAINT "{_short(before, "_bound")}"')

    if primary:
        keys = ", ".join(f'"{name}"' for name in _with(primary, column))
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({keys})')
    upsert_key = [spec.scope, spec.key]
    for name, definition, unique, is_primary, _constraint, columns in indexes:
        if is_primary:
            continue
        if unique:
            if list(columns) == upsert_key:
                # Unique through the key table; the plain index keeps lookups by the pair one
                # index probe per partition.
                listed = ", ".join(f'"{part}"' for part in columns)
                cursor.execute(f'CREATE INDEX "{name}" ON "{table}" ({listed})')
                continue
            listed = ", ".join(f'"{part}"' for part in _with(columns, column))
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE ({listed})')
            continue
        cursor.execute(definition)
    for name, definition in foreign:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

    if spec.key is not None:
        _key_table(cursor, spec, primary[0])
    cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
    partitions_ensure(cursor=cursor, specs=[spec], now=now)


def _key_table(cursor: Any, spec: Monthly, pk: str) -> None:
    """The unpartitioned key table of ``spec`` (scope, key → row, start), filled, and its triggers.

    The triggers keep it equal to the partitioned table whoever writes: an insert claims its key
    (one already claimed by a row of another id is a unique violation, as the unique constraint
    was); an update moves its key and start; a delete frees it; a TRUNCATE empties it. A row
    moving to another partition is a delete and an insert for PostgreSQL's row triggers, which
    frees and claims the key again.
    """
    table, keys = spec.table, spec.key_table
    scope, key, column = spec.scope, spec.key, spec.column
    cursor.execute(
        f"""CREATE TABLE "{keys}" (
                "{scope}" bigint NOT NULL, "{key}" varchar(256) NOT NULL,
                row_id bigint NOT NULL, start timestamptz NOT NULL,
                PRIMARY KEY ("{scope}", "{key}"))"""
    )
    cursor.execute(f'CREATE INDEX "{keys}_row" ON "{keys}" (row_id)')
    cursor.execute(
        f'INSERT INTO "{keys}" SELECT "{scope}", "{key}", "{pk}", "{column}" FROM "{table}"'
    )
    cursor.execute(
        f"""CREATE FUNCTION "{keys}_sync"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                DELETE FROM "{keys}" WHERE row_id = OLD."{pk}";
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO "{keys}" VALUES (NEW."{scope}", NEW."{key}", NEW."{pk}", NEW."{column}")
                ON CONFLICT ("{scope}", "{key}") DO UPDATE SET start = EXCLUDED.start
                WHERE "{keys}".row_id = EXCLUDED.row_id;
                IF NOT FOUND THEN
                    RAISE unique_violation USING
                        MESSAGE = format('duplicate key value violates unique constraint "%s"', '{keys}_pkey'),
                        DETAIL = format('Key ("{scope}", "{key}")=(%s, %s) already exists.',
                                        NEW."{scope}", NEW."{key}");
                END IF;
            END IF;
            RETURN NULL;
        END $$"""
    )
    cursor.execute(
        f'CREATE TRIGGER "{keys}_sync" AFTER INSERT OR DELETE OR UPDATE OF "{scope}", "{key}", "{column}" '
        f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION "{keys}_sync"()'
    )
    # TRUNCATE fires no row trigger: emptying the table empties its keys (Django's test flush does it).
    cursor.execute(
        f"""CREATE FUNCTION "{keys}_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN TRUNCATE "{keys}"; RETURN NULL; END $$"""
    )
    cursor.execute(
        f'CREATE TRIGGER "{keys}_truncate" AFTER TRUNCATE ON "{table}" FOR EACH STATEMENT '
        f'EXECUTE FUNCTION "{keys}_truncate"()'
    )


def _with(columns: list[str], column: str) -> list[str]:
    """``columns`` ending with ``column`` (appended when absent)."""
    return [*columns] if column in columns else [*columns, column]


def _short(name: str, suffix: str) -> str:
    """``name`` + ``suffix`` within PostgreSQL's 63-byte identifiers."""
    return name[: 63 - len(suffix)] + suffix


# -- the daily job ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaintainReport:
    created: list[str]
    moved: int


def partitions_maintain(*, now: datetime | None = None) -> MaintainReport:
    """Create the months ahead for every partitioned table (the daily job; ``manage.py partitions``)."""
    if connection.vendor != "postgresql":
        return MaintainReport(created=[], moved=0)
    with transaction.atomic(), connection.cursor() as cursor:
        return partitions_ensure(cursor=cursor, specs=list(MONTHLY.values()), now=now or timezone.now())


def partitions_ensure(*, cursor: Any, specs: list[Monthly], now: datetime) -> MaintainReport:
    """Give each table of ``specs`` its partitions from ``now``'s month to ``MONTHS_AHEAD`` ahead.

    1. The months that are missing: neither a monthly partition nor below the old table's bound.
    2. For each: the rows the default partition holds for that month (a start once far ahead) are
       taken out into a temporary table, the month's partition is created (PostgreSQL checks that
       the default partition holds none of its rows), and the rows are inserted again through the
       parent, which routes them to it (the key table's triggers free and claim their keys again).
    """
    created: list[str] = []
    moved = 0
    for spec in specs:
        table, column = spec.table, spec.column
        below, months = partitions_bounds(cursor=cursor, table=table)
        for offset in range(MONTHS_AHEAD + 1):
            low, high = month_start(now, offset), month_start(now, offset + 1)
            if low in months or (below is not None and low < below):
                continue
            name = partition_name(table, low)
            cursor.execute(f'CREATE TEMPORARY TABLE partition_moving (LIKE "{table}") ON COMMIT DROP')
            cursor.execute(
                f'WITH gone AS (DELETE FROM "{table}_default" WHERE "{column}" >= %s AND "{column}" < %s RETURNING *) '
                f"INSERT INTO partition_moving SELECT * FROM gone",
                [low, high],
            )
            moved += cursor.rowcount
            cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{table}" FOR VALUES FROM (%s) TO (%s)', [low, high])
            cursor.execute(f'INSERT INTO "{table}" SELECT * FROM partition_moving')
            cursor.execute("DROP TABLE partition_moving")
            created.append(name)
    return MaintainReport(created=created, moved=moved)


def partitions_bounds(*, cursor: Any, table: str) -> tuple[datetime | None, set[datetime]]:
    """The upper bound of ``table``'s old-table partition (None: it has none), and the first
    instants of the months that have a partition (read from their names)."""
    cursor.execute(
        """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass""",
        [table],
    )
    below, months = None, set()
    for name, bound in cursor.fetchall():
        if name == f"{table}_before":
            # FOR VALUES FROM (MINVALUE) TO ('2026-12-01 00:00:00+00')
            cursor.execute("SELECT %s::timestamptz", [bound.rsplit("('", 1)[1].rstrip("')")])
            below = cursor.fetchone()[0]
        elif (month := _partition_month(name)) is not None:
            months.add(month)
    return below, months


def partitions_retire(*, table: str, before: datetime) -> list[str]:
    """Drop the monthly partitions of ``table`` that end at or before ``before`` and hold no row.

    A whole month goes in one statement instead of a ``DELETE`` of its rows, once the policy that
    owns the rows (the change feed's pruning, erasure) has emptied it; a month that still holds a
    row (a record the policy keeps) stays. The old table and the default partition are never
    dropped.
    """
    if connection.vendor != "postgresql" or table not in MONTHLY:
        return []
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        # A partition with deferred checks pending (rows this transaction deleted) cannot be
        # dropped: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _below, months = partitions_bounds(cursor=cursor, table=table)
        for month in sorted(months):
            if month_start(month, 1) > before:
                continue
            name = partition_name(table, month)
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{name}")')
            if cursor.fetchone()[0]:
                continue
            cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"')
            cursor.execute(f'DROP TABLE "{name}"')
            dropped.append(name)
    return dropped


def partitions_report(*, table: str) -> list[tuple[str, str, int]]:
    """``table``'s partitions in order: name, bound, estimated rows (the planner's count)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)::bigint
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = %s::regclass ORDER BY c.relname""",
            [table],
        )
        return [(name, bound, rows) for name, bound, rows in cursor.fetchall()]
