"""django-q2 task: the daily pruning of the change log (schedule created by migration ``0002``)."""

from __future__ import annotations

from changes.services import changes_prune


def changes_prune_task() -> dict[str, object]:
    report = changes_prune()
    return {
        "deleted": report.deleted, "horizon": list(report.horizon), "generation": report.generation,
        "dropped_partitions": report.dropped,
    }
