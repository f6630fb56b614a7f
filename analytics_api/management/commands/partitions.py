from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from analytics_api.kernel.partitions import MONTHLY, partitions_maintain, partitions_report


class Command(BaseCommand):
    help = (
        "Create the monthly partitions ahead of today for every partitioned table (what the daily "
        "'partitions-maintain' job does), then list each table's partitions and rows. PostgreSQL only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: only PostgreSQL partitions tables (this database is "
                              f"{connection.vendor}).")
            return
        report = partitions_maintain()
        self.stdout.write(f"Created {len(report.created)} partition(s){': ' if report.created else ''}"
                          f"{', '.join(report.created)}; moved {report.moved} row(s) out of default partitions.")
        for table in sorted(MONTHLY):
            self.stdout.write(f"{table}:")
            for name, bound, rows in partitions_report(table=table):
                self.stdout.write(f"  {name:<48} {bound:<60} ~{rows} rows")
