"""The change log partitioned by month on its time on PostgreSQL (docs/scale-out.md#monthly-partitions).

The daily pruning drops the months it emptied whole (changes.services.changes_prune). Converted in
place; nothing happens on SQLite.
"""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.partitions import Monthly, PartitionByMonth


class Migration(migrations.Migration):
    dependencies = [("changes", "0003_horizon_generation")]

    operations = [PartitionByMonth(Monthly("changes_change", "changed_at"))]
