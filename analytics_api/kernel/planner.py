"""Planner settings for one statement on PostgreSQL, for the few statements whose best plan the
planner's estimates can miss (each caller says why next to its settings).

The settings go in front of the statement as ``SET LOCAL`` commands sent with it: outside a
transaction the commands and the statement form one implicit transaction, so the settings end with
it; inside one they last until it ends. The statement's rows are then the last result of the
cursor, which :func:`past_settings` moves the cursor to.
"""

from __future__ import annotations

from typing import Any


def settings_sql(**settings: str) -> str:
    """``SET LOCAL name = value;`` for each setting (names and values are ours, never a client's)."""
    return "".join(f"SET LOCAL {name} = {value}; " for name, value in settings.items())


def past_settings(cursor: Any) -> Any:
    """``cursor`` (Django's or psycopg's), moved past the results of :func:`settings_sql`'s commands
    to the statement's rows."""
    while cursor.description is None and cursor.nextset():
        pass
    return cursor
