"""django-q2 task: counting again the days of Quality AI contacts written since their last count
(schedule ``qualityai-day-counts``, created by migration ``0010``; qualityai/day_counts.py)."""

from __future__ import annotations

from qualityai.day_counts import day_counts_refresh


def day_counts_refresh_task() -> dict[str, int]:
    return {"days": day_counts_refresh()}
