"""PostgreSQL: the search GIN index is keyed by account and UTC day instead of (account, start).

With the conversation's start in the index (0004), a window was a range over one entry per
conversation: at 1M conversations a month, a 7-day page's index scan visited ~233,000 entries
(170-250 ms) and its bitmap went lossy, before any word was looked at. The new first column is
``search.engines.WINDOW_KEY_SQL`` — the account and the UTC day of the start as one number — so a
window is one equality per day, each a posting list the index intersects with the words' (the
account's rows only: the account alone is a posting list of every row, which the planner rightly
skipped and then fetched the neighbours' rows to drop them). The exact bounds and the account are
still checked on the rows. Nothing changes on SQLite (FTS5 does not read the window).
"""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.schema_operations import RunSQLOnPostgreSQL

KEY = "(account_id * 100000 + (date(timezone('UTC', started_at)) - DATE '2000-01-01'))"
POSTGRESQL = [
    f"CREATE INDEX search_message_window_key ON search_searchmessage USING gin ({KEY}, vector)",
    "DROP INDEX IF EXISTS search_message_window",
]
POSTGRESQL_BACK = [
    "CREATE INDEX search_message_window ON search_searchmessage USING gin (account_id, started_at, vector)",
    "DROP INDEX IF EXISTS search_message_window_key",
]


class Migration(migrations.Migration):
    dependencies = [("search", "0004_window_in_index")]

    operations = [RunSQLOnPostgreSQL(POSTGRESQL, POSTGRESQL_BACK)]
