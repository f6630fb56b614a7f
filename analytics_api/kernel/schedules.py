"""django-q2 schedules created by data migrations, one helper for every app.

A data migration, so `migrate` (which every deployment runs) is all it takes; re-running it or
editing a schedule in the admin keeps one row per name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import migrations
from django.utils import timezone


def schedules_operation(specs: Sequence[dict[str, Any]]) -> migrations.RunPython:
    """The migration operation creating ``specs`` (``name``, ``func``, ``schedule_type``, …) when absent,
    and removing them when the migration is reversed."""

    def create(apps: Any, schema_editor: Any) -> None:
        schedule = apps.get_model("django_q", "Schedule")
        for spec in specs:
            fields = {key: value for key, value in spec.items() if key != "name"}
            if not schedule.objects.filter(name=spec["name"]).exists():
                schedule.objects.create(name=spec["name"], repeats=-1, next_run=timezone.now(), **fields)

    def remove(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_q", "Schedule").objects.filter(name__in=[spec["name"] for spec in specs]).delete()

    return migrations.RunPython(create, remove)
