"""PostgreSQL: the search GIN index keeps at most 512 kB of pending entries (4 MB by default).

GIN inserts new rows into an unsorted *pending list* and merges it into the index once it passes
``gin_pending_list_limit``; until then every search reads the whole list and checks each pending
row. While conversations are ingested, a ranked search therefore pays for whatever the list
holds: on the benchmark's data set (2 × 1M conversations), 20,236 pending rows (393 pages) made the
ranked statement of "late delivery" 67 → 102 ms and of a four-word phrase 362 → 425 ms, and 4,734
rows still 64 → 75 ms. At 512 kB (at most 64 pages) the list is merged eight times as often,
in smaller steps: content and interaction ingestion through the API were not slower (3,290–3,371
against 2,995–3,370 conversations a second, batches alternating), and a search waits a few
milliseconds for it at most (docs/search.md#the-pending-list). Nothing changes on SQLite.
"""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.schema_operations import RunSQLOnPostgreSQL

PENDING_LIST_KB = 512

POSTGRESQL = [f"ALTER INDEX search_message_window_key SET (gin_pending_list_limit = {PENDING_LIST_KB})"]
POSTGRESQL_BACK = ["ALTER INDEX search_message_window_key RESET (gin_pending_list_limit)"]


class Migration(migrations.Migration):
    dependencies = [("search", "0005_window_keys")]

    operations = [RunSQLOnPostgreSQL(POSTGRESQL, POSTGRESQL_BACK)]
