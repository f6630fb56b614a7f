"""Settings for one statement or transaction on PostgreSQL: planner settings for the few statements
whose best plan the planner's estimates can miss (each caller says why next to its settings), and
commits that need not wait for the disk.

The settings go in front of the statement as ``SET LOCAL`` commands sent with it: outside a
transaction the commands and the statement form one implicit transaction, so the settings end with
it; inside one they last until it ends. The statement's rows are then the last result of the
cursor, which :func:`past_settings` moves the cursor to.
"""

from __future__ import annotations

from typing import Any

from django.db import connection


def settings_sql(**settings: str) -> str:
    """``SET LOCAL name = value;`` for each setting (names and values are ours, never a client's)."""
    return "".join(f"SET LOCAL {name} = {value}; " for name, value in settings.items())


def past_settings(cursor: Any) -> Any:
    """``cursor`` (Django's or psycopg's), moved past the results of :func:`settings_sql`'s commands
    to the statement's rows."""
    while cursor.description is None and cursor.nextset():
        pass
    return cursor


def commit_without_flush_wait() -> None:
    """In a transaction: its commit does not wait for the WAL to reach the disk (PostgreSQL; nothing
    elsewhere). For writes whose loss in a database crash only makes the service forget something
    small and recent — a lease renewal, a search phrase — never for the data itself. Saves the
    flush's wait (a millisecond or more on a busy disk) on the request or job that commits it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
