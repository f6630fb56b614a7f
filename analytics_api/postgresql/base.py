"""Django's PostgreSQL backend, with two changes for the hot reads' round trips.

**Health checks only after idleness.** With ``CONN_HEALTH_CHECKS``, Django runs ``SELECT 1`` on a
persistent connection before the first query of every request, so that a connection the server
dropped is replaced instead of failing the request: one more round trip for every request (~280 µs
of wall time and ~160 µs of the process's CPU on a 2-core machine, against a 0.3 ms floor for a
conversation's details). Like PgBouncer's ``server_check_delay``, this backend skips the check for a
connection that ran a statement less than ``HEALTH_CHECK_IDLE_SECONDS`` ago
(``DB_HEALTH_CHECK_IDLE_SECONDS``, 0: check before every request, Django's behaviour). What that
gives up: when the server restarts within that time of a connection's last statement, the next
request on it fails once (503 ``dependency_unavailable``, as any request does while the database is
away) and the connection is dropped at that request's end.

**Prepared statements for the compiled reads.** Django sends every statement with its values
written in (client-side binding), so PostgreSQL parses and plans it on every request. The hot reads'
SQL never changes (analytics_api.kernel.compiled), so :meth:`DatabaseWrapper.prepared_cursor` runs
it as a prepared statement of the connection instead: parsed once per connection, and planned once
when PostgreSQL finds a generic plan as good as the custom ones (its default ``plan_cache_mode``;
runtime partition pruning keeps a generic plan on the right months). Reading a conversation's details
took ~1.2 ms of wall time in process, ~0.45 ms prepared (BENCHMARKS.md). Only those cursors prepare: the rest
of Django's statements are sent as before. ``PREPARED_STATEMENTS`` (``DB_PREPARED_STATEMENTS``,
default on) turns it off, for a connection pooler in transaction mode that does not keep prepared
statements (PgBouncer before 1.21, or without ``max_prepared_statements``). psycopg drops its
prepared statements after a rollback or a DROP/ALTER, and prepares them again when next used.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base, operations
from psycopg import errors

# psycopg prepares a statement on its Nth execution when this is N; a client-side binding cursor
# (Django's) never prepares, so this only enables the explicit ``prepare=True`` of PreparedCursor
# (psycopg ignores it when the threshold is None, Django's default).
_ONLY_WHEN_ASKED = 2**31 - 1


class PreparedCursor(base.ServerBindingCursor):
    """A cursor binding its values on the server, whose every statement is prepared on the connection."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        # What query logging and tests see: the statement with its values, as for Django's cursors.
        if isinstance(cursor, PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # monotonic() of the last cursor made; -inf: never, so the first check always runs.
        self.used_at = float("-inf")
        self._preparing = False

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.settings_dict.get("PREPARED_STATEMENTS", False):
            params["prepare_threshold"] = _ONLY_WHEN_ASKED
        return params

    def prepared_cursor(self) -> Any:
        """A cursor whose statements are prepared on the connection (see the module); Django's own
        cursor when ``PREPARED_STATEMENTS`` is off. Wrapped as :meth:`cursor` wraps (errors, query
        logging), so a prepared statement counts as a query in tests."""
        self._preparing = bool(self.settings_dict.get("PREPARED_STATEMENTS", False))
        try:
            return self.cursor()
        finally:
            self._preparing = False

    def create_cursor(self, name: str | None = None) -> Any:
        self.used_at = time.monotonic()
        if not self._preparing or name is not None:
            return super().create_cursor(name)
        cursor = PreparedCursor(self.connection)
        # As Django's create_cursor: the cursor's own timezone only when the connection's differs.
        loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if self.timezone != loader.timezone:
            base.register_tzloader(self.timezone, cursor)
        return cursor

    def close_if_health_check_failed(self) -> None:
        idle_limit = self.settings_dict.get("HEALTH_CHECK_IDLE_SECONDS", 0)
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self.used_at < idle_limit
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
