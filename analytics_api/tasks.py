"""django-q2 task: the daily creation of the months ahead of every partitioned table (schedule:
migration ``0005``; see analytics_api.kernel.partitions)."""

from __future__ import annotations

from analytics_api.kernel.partitions import partitions_maintain


def partitions_maintain_task() -> dict[str, object]:
    report = partitions_maintain()
    return {"created": report.created, "moved": report.moved}
