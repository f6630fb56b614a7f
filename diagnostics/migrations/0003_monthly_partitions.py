"""Call diagnostics partitioned by month on PostgreSQL like the other conversation documents (content 0005)."""

from __future__ import annotations

from django.db import migrations

from analytics_api.kernel.partitions import Monthly, PartitionByMonth


class Migration(migrations.Migration):
    dependencies = [("diagnostics", "0002_no_fk_constraint_to_partitioned")]

    operations = [PartitionByMonth(Monthly("diagnostics_calldiagnostics", "started_at"))]
