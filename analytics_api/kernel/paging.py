"""Offset paging that never counts the whole table: fetch one row more than asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db.models import QuerySet

T = TypeVar("T")


def page_rows(queryset: QuerySet[T] | Sequence[T], *, skip: int, limit: int) -> tuple[list[T], bool]:
    """The ``limit`` rows after ``skip`` and whether more follow (from the extra row)."""
    rows = list(queryset[skip : skip + limit + 1])
    return rows[:limit], len(rows) > limit
